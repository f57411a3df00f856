"""``ModelSpec``: validation of layers and optimizers, and a JSON-safe round trip."""

from __future__ import annotations

import json

import pytest

from automl.model.optimizers import OPTIMIZERS
from automl.model.spec import LAYER_KINDS, Layer, ModelSpec, OptimizerSpec


def make_spec(**changes) -> ModelSpec:
    values = {
        "input_shape": (8, 8, 1),
        "n_outputs": 10,
        "problem_type": "classification",
        "layers": (
            Layer("conv2d", {"filters": 16, "kernel_size": 3}),
            Layer("batch_norm"),
            Layer("activation", {"name": "relu"}),
            Layer("pool2d", {"mode": "max", "size": 2}),
            Layer("dropout", {"rate": 0.25}),
            Layer("flatten"),
            Layer("dense", {"units": 32}),
        ),
        "optimizer": OptimizerSpec("sgd", 0.01, {"momentum": 0.9, "nesterov": True}),
        "l2": 1e-4,
        "batch_size": 64,
        "epochs": 3,
        "early_stopping_patience": 2,
    }
    values.update(changes)
    return ModelSpec(**values)


def test_to_dict_is_json_safe_and_round_trips() -> None:
    spec = make_spec()
    data = spec.to_dict()
    assert data["input_shape"] == [8, 8, 1]
    assert data["layers"][0] == {"kind": "conv2d", "params": {"filters": 16, "kernel_size": 3}}
    assert data["optimizer"] == {"name": "sgd", "learning_rate": 0.01, "params": {"momentum": 0.9, "nesterov": True}}
    assert json.loads(json.dumps(data)) == data
    assert ModelSpec.from_dict(data) == spec


def test_json_round_trip() -> None:
    spec = make_spec(early_stopping_patience=None, problem_type="regression", n_outputs=1)
    text = spec.to_json()
    assert json.loads(text)["early_stopping_patience"] is None
    again = ModelSpec.from_dict(json.loads(text))
    assert again == spec
    assert isinstance(again.input_shape, tuple) and isinstance(again.layers, tuple)
    assert all(isinstance(layer, Layer) for layer in again.layers)
    assert isinstance(again.optimizer, OptimizerSpec)
    assert again.to_json() == text


def test_to_json_is_stable() -> None:
    assert make_spec().to_json() == make_spec().to_json()
    assert list(json.loads(make_spec().to_json())) == sorted(json.loads(make_spec().to_json()))


def test_from_dict_does_not_change_its_input() -> None:
    data = make_spec().to_dict()
    snapshot = json.dumps(data, sort_keys=True)
    ModelSpec.from_dict(data)
    assert json.dumps(data, sort_keys=True) == snapshot


def test_with_training_changes_only_training() -> None:
    spec = make_spec()
    longer = spec.with_training(epochs=50, early_stopping_patience=None)
    assert longer.epochs == 50 and longer.early_stopping_patience is None
    assert longer.layers == spec.layers and longer.optimizer == spec.optimizer
    assert spec.epochs == 3  # the original is untouched (frozen)


def test_spec_is_frozen() -> None:
    with pytest.raises(AttributeError):
        make_spec().epochs = 4  # type: ignore[misc]


def test_every_layer_kind_is_accepted() -> None:
    for kind in LAYER_KINDS:
        assert Layer(kind).kind == kind


def test_unknown_layer_kind() -> None:
    with pytest.raises(ValueError, match="unknown layer kind 'lstm'; expected one of"):
        Layer("lstm")


def test_unknown_layer_kind_in_from_dict() -> None:
    data = make_spec().to_dict()
    data["layers"][0]["kind"] = "conv3d"
    with pytest.raises(ValueError, match="unknown layer kind 'conv3d'"):
        ModelSpec.from_dict(data)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_with_all_its_params(name: str) -> None:
    params = dict.fromkeys(OPTIMIZERS[name], 0.5)
    spec = OptimizerSpec(name, 1e-3, params)
    assert spec.params == params
    assert all(spec.get(key) == 0.5 for key in params)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_optimizer_parameter_left_out_takes_keras_default(name: str) -> None:
    spec = OptimizerSpec(name, 1e-3)
    assert {key: spec.get(key) for key in OPTIMIZERS[name]} == {k: v.default for k, v in OPTIMIZERS[name].items()}


def test_keras_defaults_of_the_optimizers() -> None:
    assert OptimizerSpec("adam", 1e-3).get("beta_2") == 0.999
    assert OptimizerSpec("adamw", 1e-3).get("weight_decay") == 0.004
    assert OptimizerSpec("adagrad", 1e-3).get("initial_accumulator_value") == 0.1
    assert OptimizerSpec("sgd", 1e-3).get("nesterov") is False


def test_a_spec_saved_before_problem_type_had_its_name_still_loads() -> None:
    data = ModelSpec.from_dict(make_spec().to_dict()).to_dict()
    data["objective"] = data.pop("problem_type")  # how automl 0.1 wrote automl.json
    assert ModelSpec.from_dict(data).problem_type == "classification"


def test_unknown_optimizer() -> None:
    with pytest.raises(ValueError, match="unknown optimizer 'momentum'"):
        OptimizerSpec("momentum", 0.1)  # an alias of the search spaces, not a spec optimizer


def test_optimizer_rejects_parameters_of_another_optimizer() -> None:
    with pytest.raises(ValueError, match=r"optimizer 'adam' takes no parameter\(s\) \['momentum'\]"):
        OptimizerSpec("adam", 1e-3, {"momentum": 0.9, "beta_1": 0.9})


def test_optimizer_error_in_from_dict() -> None:
    data = make_spec().to_dict()
    data["optimizer"]["params"]["rho"] = 0.9
    with pytest.raises(ValueError, match=r"optimizer 'sgd' takes no parameter\(s\) \['rho'\]"):
        ModelSpec.from_dict(data)
