"""Turn a sampled configuration (nested dict from a search space) into a ``ModelSpec``.

Each architecture family is one function from its configuration to a list of layers; the
families, activations and optimizers accepted here are the ones ``space_schema`` allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automl.errors import TrialFailed
from automl.spec import Layer, ModelSpec, Objective, OptimizerSpec

FamilyBuilder = Callable[[dict[str, Any], tuple[int, ...], "_Blocks"], list[Layer]]


class _Blocks:
    """Shared pieces every family uses: activation, batch norm and dropout after a layer."""

    def __init__(self, activation: str, batch_norm: bool, dropout: float) -> None:
        self.activation, self.batch_norm, self.dropout = activation, batch_norm, dropout

    def post(self, *, drop: bool = True) -> list[Layer]:
        layers = [Layer("batch_norm")] if self.batch_norm else []
        layers.append(Layer("activation", {"name": self.activation}))
        if drop and self.dropout > 0:
            layers.append(Layer("dropout", {"rate": self.dropout}))
        return layers


def _mlp(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    layers = [Layer("flatten")] if len(input_shape) > 1 else []
    for layer in arch.get("layer") or [{"units": 128}]:
        layers += [Layer("dense", {"units": int(layer["units"])}), *blocks.post()]
    return layers


def _cnn(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    if len(input_shape) != 3:
        raise TrialFailed(
            f"the 'cnn' family needs image input of shape (height, width, channels); this data has shape {input_shape}"
        )
    height, width = input_shape[0], input_shape[1]
    pooling = arch.get("pooling", "max")
    layers: list[Layer] = []
    for block in arch.get("block") or [{"filters": 32}]:
        for _ in range(int(block.get("convs", 1))):
            layers += [
                Layer("conv2d", {"filters": int(block["filters"]), "kernel_size": int(block.get("kernel_size", 3))}),
                *blocks.post(drop=False),
            ]
        if pooling != "none" and min(height, width) >= 2:  # never pool a 1-pixel map away
            layers.append(Layer("pool2d", {"mode": pooling, "size": 2}))
            height, width = height // 2, width // 2
        if blocks.dropout > 0:
            layers.append(Layer("dropout", {"rate": blocks.dropout}))
    head = arch.get("head", "flatten")
    pooled = Layer("global_pool2d", {"mode": head.removeprefix("global_")})
    layers.append(Layer("flatten") if head == "flatten" else pooled)
    dense_units = int(arch.get("dense_units", 0))
    if dense_units > 0:
        layers += [Layer("dense", {"units": dense_units}), *blocks.post()]
    return layers


FAMILIES: dict[str, FamilyBuilder] = {"mlp": _mlp, "cnn": _cnn}

# Optimizer choices of a space -> (spec optimizer name, fixed parameters).
_OPTIMIZER_ALIASES = {"momentum": ("sgd", {"momentum": 0.9, "nesterov": False})}


def optimizer_spec(config: dict[str, Any]) -> OptimizerSpec:
    """The ``OptimizerSpec`` of a sampled ``optimizer`` group."""
    values = dict(config)
    choice = values.pop("name")
    learning_rate = float(values.pop("learning_rate", 1e-3))
    name, params = _OPTIMIZER_ALIASES.get(choice, (choice, {}))
    return OptimizerSpec(name, learning_rate, {**params, **values})


def build_spec(
    config: dict[str, Any], *, input_shape: tuple[int, ...], n_outputs: int, objective: Objective
) -> ModelSpec:
    """Build the ``ModelSpec`` for one sampled configuration and the data's shape."""
    arch = config["architecture"]
    regularization = config.get("regularization", {})
    training = config.get("training", {})
    blocks = _Blocks(
        activation=config.get("activation", "relu"),
        batch_norm=bool(regularization.get("batch_norm", False)),
        dropout=float(regularization.get("dropout", 0.0)),
    )
    patience = training.get("early_stopping_patience")
    return ModelSpec(
        input_shape=tuple(int(d) for d in input_shape),
        n_outputs=n_outputs,
        objective=objective,
        layers=tuple(FAMILIES[arch["family"]](arch, tuple(input_shape), blocks)),
        optimizer=optimizer_spec(config["optimizer"]),
        l2=float(regularization.get("l2", 0.0)),
        batch_size=int(training.get("batch_size", 32)),
        epochs=int(training.get("epochs", 10)),
        early_stopping_patience=None if patience is None else int(patience),
    )
