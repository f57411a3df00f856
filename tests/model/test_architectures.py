"""Sampled configuration -> ``ModelSpec``: layer order per family, pooling, optimizers."""

from __future__ import annotations

from typing import Any

import pytest

from automl.errors import TrialFailed
from automl.model.architectures import build_spec, optimizer_spec
from automl.model.spec import Layer, OptimizerSpec


def config(arch: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "architecture": arch,
        "activation": "elu",
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "regularization": {"dropout": 0.0, "l2": 0.0, "batch_norm": False},
        "training": {"batch_size": 16, "epochs": 4},
    }
    data.update(changes)
    return data


def kinds(layers: tuple[Layer, ...]) -> list[str]:
    return [layer.kind for layer in layers]


def build(cfg: dict[str, Any], input_shape: tuple[int, ...] = (8, 8, 1), n_outputs: int = 10):
    return build_spec(cfg, input_shape=input_shape, n_outputs=n_outputs, problem_type="classification")


# --------------------------------------------------------------------------- mlp
def test_mlp_layer_order_with_batch_norm_and_dropout() -> None:
    cfg = config(
        {"family": "mlp", "n_layers": 2, "layer": [{"units": 64}, {"units": 32}]},
        regularization={"dropout": 0.3, "l2": 0.0, "batch_norm": True},
    )
    spec = build(cfg)
    assert kinds(spec.layers) == ["flatten"] + ["dense", "batch_norm", "activation", "dropout"] * 2
    assert [layer.params["units"] for layer in spec.layers if layer.kind == "dense"] == [64, 32]
    assert all(layer.params == {"name": "elu"} for layer in spec.layers if layer.kind == "activation")
    assert all(layer.params == {"rate": 0.3} for layer in spec.layers if layer.kind == "dropout")


def test_mlp_without_extras_on_flat_input() -> None:
    spec = build(config({"family": "mlp", "layer": [{"units": 16}]}), input_shape=(64,))
    assert spec.layers == (Layer("dense", {"units": 16}), Layer("activation", {"name": "elu"}))
    assert spec.input_shape == (64,)


def test_mlp_default_layer() -> None:
    spec = build(config({"family": "mlp"}), input_shape=(5,))
    assert spec.layers[0] == Layer("dense", {"units": 128})


def test_mlp_depth_without_a_layer_group_and_depth_zero() -> None:
    """``n_layers`` alone gives that many default layers; ``n_layers: 0`` none (a linear model:
    the head on the flattened input)."""
    three = build(config({"family": "mlp", "n_layers": 3}), input_shape=(5,))
    assert kinds(three.layers) == ["dense", "activation"] * 3
    assert build(config({"family": "mlp", "n_layers": 0, "layer": []}), input_shape=(5,)).layers == ()
    assert kinds(build(config({"family": "mlp", "n_layers": 0, "layer": []})).layers) == ["flatten"]


# --------------------------------------------------------------------------- cnn
def test_cnn_layer_order() -> None:
    arch = {
        "family": "cnn",
        "n_blocks": 2,
        "block": [{"filters": 16, "kernel_size": 5, "convs": 2}, {"filters": 32, "kernel_size": 3}],
        "pooling": "avg",
        "dense_units": 24,
    }
    cfg = config(arch, regularization={"dropout": 0.2, "l2": 1e-4, "batch_norm": True})
    spec = build(cfg)
    conv = ["conv2d", "batch_norm", "activation"]
    assert kinds(spec.layers) == (
        conv * 2
        + ["pool2d", "dropout"]
        + conv
        + ["pool2d", "dropout", "flatten"]
        + ["dense", "batch_norm", "activation", "dropout"]
    )
    convs = [layer.params for layer in spec.layers if layer.kind == "conv2d"]
    assert convs == [{"filters": 16, "kernel_size": 5}] * 2 + [{"filters": 32, "kernel_size": 3}]
    assert {layer.params["mode"] for layer in spec.layers if layer.kind == "pool2d"} == {"avg"}
    assert spec.layers[-4] == Layer("dense", {"units": 24})


def test_cnn_defaults() -> None:
    spec = build(config({"family": "cnn"}))
    assert spec.layers == (
        Layer("conv2d", {"filters": 32, "kernel_size": 3}),
        Layer("activation", {"name": "elu"}),
        Layer("pool2d", {"mode": "max", "size": 2}),
        Layer("flatten"),
    )


@pytest.mark.parametrize(
    ("shape", "n_blocks", "n_pools"),
    [((8, 8, 1), 3, 3), ((8, 8, 1), 5, 3), ((4, 4, 3), 4, 2), ((2, 16, 1), 3, 1), ((1, 1, 1), 2, 0), ((9, 9, 1), 5, 3)],
)
def test_pooling_never_shrinks_below_one_pixel(shape: tuple[int, ...], n_blocks: int, n_pools: int) -> None:
    arch = {"family": "cnn", "block": [{"filters": 4}] * n_blocks, "pooling": "max"}
    spec = build(config(arch), input_shape=shape)
    assert kinds(spec.layers).count("pool2d") == n_pools
    assert kinds(spec.layers).count("conv2d") == n_blocks
    height, width = shape[0], shape[1]
    for _ in range(n_pools):
        height, width = height // 2, width // 2
    assert min(height, width) >= 1


def test_pooling_none() -> None:
    spec = build(config({"family": "cnn", "block": [{"filters": 4}] * 2, "pooling": "none"}))
    assert "pool2d" not in kinds(spec.layers)


@pytest.mark.parametrize(("head", "mode"), [("global_avg", "avg"), ("global_max", "max")])
def test_global_pool_head(head: str, mode: str) -> None:
    spec = build(config({"family": "cnn", "head": head, "dense_units": 0}))
    assert spec.layers[-1] == Layer("global_pool2d", {"mode": mode})
    assert "flatten" not in kinds(spec.layers)


def test_cnn_dropout_only_after_blocks_not_after_convs() -> None:
    arch = {"family": "cnn", "block": [{"filters": 4, "convs": 3}], "pooling": "none"}
    spec = build(config(arch, regularization={"dropout": 0.1}))
    assert kinds(spec.layers) == ["conv2d", "activation"] * 3 + ["dropout", "flatten"]


@pytest.mark.parametrize("shape", [(64,), (8, 8), (2, 8, 8, 1)])
def test_cnn_on_non_image_input_fails_the_trial(shape: tuple[int, ...]) -> None:
    with pytest.raises(TrialFailed) as info:
        build(config({"family": "cnn"}), input_shape=shape)
    assert "'cnn' family needs image input" in str(info.value)
    assert str(shape) in str(info.value)


# --------------------------------------------------------------------------- optimizer
def test_momentum_alias_is_sgd_with_momentum() -> None:
    spec = optimizer_spec({"name": "momentum", "learning_rate": 0.05})
    assert spec == OptimizerSpec("sgd", 0.05, {"momentum": 0.9, "nesterov": False})


def test_momentum_alias_sampled_values_override_fixed_ones() -> None:
    spec = optimizer_spec({"name": "momentum", "learning_rate": 0.05, "momentum": 0.6, "nesterov": True})
    assert spec == OptimizerSpec("sgd", 0.05, {"momentum": 0.6, "nesterov": True})


def test_optimizer_params_and_default_learning_rate() -> None:
    source = {"name": "adamw", "weight_decay": 1e-3, "beta_1": 0.85}
    spec = optimizer_spec(source)
    assert spec == OptimizerSpec("adamw", 1e-3, {"weight_decay": 1e-3, "beta_1": 0.85})
    assert source == {"name": "adamw", "weight_decay": 1e-3, "beta_1": 0.85}  # not consumed


def test_plain_sgd_has_no_momentum() -> None:
    assert optimizer_spec({"name": "sgd", "learning_rate": 0.1}).params == {}


# --------------------------------------------------------------------------- whole spec
def test_training_and_regularization_settings() -> None:
    cfg = config(
        {"family": "mlp", "layer": [{"units": 8}]},
        regularization={"l2": 1e-3},
        training={"batch_size": 128, "epochs": 7, "early_stopping_patience": 2},
    )
    spec = build(cfg, n_outputs=3)
    assert (spec.l2, spec.batch_size, spec.epochs, spec.early_stopping_patience) == (1e-3, 128, 7, 2)
    assert spec.n_outputs == 3 and spec.problem_type == "classification"
    assert spec.optimizer == OptimizerSpec("adam", 0.01)


def test_defaults_when_groups_are_missing() -> None:
    cfg = {"architecture": {"family": "mlp", "layer": [{"units": 8}]}, "optimizer": {"name": "sgd"}}
    spec = build_spec(cfg, input_shape=[10], n_outputs=1, problem_type="regression")
    assert spec.input_shape == (10,) and spec.problem_type == "regression"
    assert (spec.l2, spec.batch_size, spec.epochs, spec.early_stopping_patience) == (0.0, 32, 10, None)
    assert spec.layers == (Layer("dense", {"units": 8}), Layer("activation", {"name": "relu"}))
    assert spec.optimizer.learning_rate == 1e-3
