"""The training loss as a spec field and a search-space parameter (``training.loss``)."""

from __future__ import annotations

import optuna
import pytest

from automl.errors import ConfigError, SearchSpaceError
from automl.model.architectures import build_spec
from automl.model.spec import LOSSES, Layer, ModelSpec, OptimizerSpec
from automl.space import parse_space

SPACE = """
parameters:
  architecture: {{family: mlp, n_layers: 1, layer: {{repeat: n_layers, units: 8}}}}
  optimizer: {{name: adam}}
  training: {{loss: {loss}}}
"""


def spec(problem_type: str = "classification", **changes: object) -> ModelSpec:
    n_outputs = 3 if problem_type == "classification" else 1
    layers = (Layer("dense", {"units": 8}),)
    return ModelSpec((4,), n_outputs, problem_type, layers, OptimizerSpec("adam", 0.01), **changes)  # type: ignore[arg-type]


def sampled(loss: str, problem_type: str) -> ModelSpec:
    space = parse_space(SPACE.format(loss=loss))
    config = space.sample(optuna.trial.FixedTrial({}))  # every parameter fixed
    n_outputs = 3 if problem_type == "classification" else 1
    return build_spec(config, input_shape=(4,), n_outputs=n_outputs, problem_type=problem_type)  # type: ignore[arg-type]


def test_a_spec_saved_without_loss_loads_with_the_default() -> None:
    for problem_type, default in (("classification", "cross_entropy"), ("regression", "mse")):
        data = spec(problem_type).to_dict()
        del data["loss"]
        loaded = ModelSpec.from_dict(data)
        assert loaded.loss is None and loaded.training_loss == default == LOSSES[problem_type][0]


def test_the_loss_round_trips() -> None:
    focal = spec(loss="focal")
    assert ModelSpec.from_dict(focal.to_dict()) == focal and focal.training_loss == "focal"
    assert spec(loss="mse").training_loss == "mse"


@pytest.mark.parametrize(("problem_type", "loss"), [(p, name) for p, names in LOSSES.items() for name in names])
def test_the_space_sets_the_loss(problem_type: str, loss: str) -> None:
    assert sampled(loss, problem_type).loss == loss


def test_a_choice_of_losses_is_searched() -> None:
    space = parse_space(SPACE.format(loss="{type: categorical, choices: [cross_entropy, focal]}"))
    config = space.sample(optuna.trial.FixedTrial({"training.loss": "focal"}))
    assert build_spec(config, input_shape=(4,), n_outputs=3, problem_type="classification").loss == "focal"


def test_a_loss_of_the_other_problem_type_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as info:
        sampled("focal", "regression")
    assert str(info.value) == "training.loss 'focal' is for classification; for regression: mse, mae, huber"
    with pytest.raises(ConfigError, match=r"^training.loss 'huber' is for regression; for classification: "):
        sampled("huber", "classification")
    with pytest.raises(ConfigError, match=r"^loss 'mae' is for regression"):
        spec(loss="mae")


def test_an_unknown_loss_is_a_space_error() -> None:
    with pytest.raises(SearchSpaceError, match=r"training.loss'.*unknown loss 'hinge'; allowed: cross_entropy, mse"):
        parse_space(SPACE.format(loss="hinge"))
