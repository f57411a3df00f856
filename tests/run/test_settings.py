"""``SearchSettings``: every setting validated in one place, with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from automl.errors import ConfigError
from automl.run.settings import DEFAULT_N_TRIALS, DEFAULT_TIMEOUT, SearchSettings


def test_defaults_give_the_default_budget() -> None:
    config = SearchSettings()
    assert (config.n_trials, config.timeout) == (DEFAULT_N_TRIALS, DEFAULT_TIMEOUT) == (30, 240.0)
    assert config.backends == ["keras"] and config.runs_dir == Path("runs")
    assert (config.task, config.n_splits, config.sampler, config.pruner) == ("image", 5, "tpe", "racing")


def test_n_trials_alone_has_no_timeout() -> None:
    config = SearchSettings(n_trials=4)
    assert (config.n_trials, config.timeout) == (4, None)


def test_timeout_alone_has_no_trial_limit() -> None:
    config = SearchSettings(timeout=12.5)
    assert (config.n_trials, config.timeout) == (None, 12.5)


def test_both_budgets_kept() -> None:
    config = SearchSettings(n_trials=3, timeout=60)
    assert (config.n_trials, config.timeout) == (3, 60)


@pytest.mark.parametrize("n_splits", [1, 0, -2, 2.0, True, "5"])
def test_n_splits_must_be_an_int_of_at_least_two(n_splits: object) -> None:
    with pytest.raises(ConfigError, match=f"n_splits must be an int >= 2, got {n_splits!r}"):
        SearchSettings(n_splits=n_splits)


@pytest.mark.parametrize("n_trials", [-1, 0, 2.5, True])
def test_n_trials_must_be_positive_int(n_trials: object) -> None:
    with pytest.raises(ConfigError, match=rf"n_trials must be a positive int, got {n_trials!r}"):
        SearchSettings(n_trials=n_trials)


@pytest.mark.parametrize("refit_models", [0, 1.5, True])
def test_refit_models_must_be_a_positive_int(refit_models: object) -> None:
    with pytest.raises(ConfigError, match=rf"refit_models must be a positive int, got {refit_models!r}"):
        SearchSettings(refit_models=refit_models)


def test_a_search_of_several_metrics_or_with_constraints_refits_one_model() -> None:
    assert SearchSettings(refit_models=4).models_per_refit == 4
    assert SearchSettings(refit_models=4, metric="accuracy,n_params").models_per_refit == 1  # costs of one model
    assert SearchSettings(refit_models=4, constraints=("n_params<=1000",)).models_per_refit == 1


def test_fold_models_are_the_default_hand_over_unless_model_costs_are_weighed() -> None:
    assert SearchSettings().final_model == "folds" and SearchSettings().bags_fold_models
    assert not SearchSettings(final_model="refit").bags_fold_models
    assert not SearchSettings(refit=False).bags_fold_models
    assert not SearchSettings(metric="accuracy,n_params").bags_fold_models  # one refit model: its costs were weighed
    assert not SearchSettings(constraints=("latency_ms<=5",)).bags_fold_models


@pytest.mark.parametrize("timeout", [0, -5.0, True, "soon", float("nan")])
def test_timeout_must_be_positive(timeout: object) -> None:
    with pytest.raises(ConfigError, match="timeout must be a positive number of seconds"):
        SearchSettings(timeout=timeout)


def test_seed_must_be_int() -> None:
    with pytest.raises(ConfigError, match="seed must be an int, got 1.5"):
        SearchSettings(seed=1.5)


@pytest.mark.parametrize(
    ("field", "value", "suggestion"),
    [
        ("task", "imgae", "image"),
        ("backend", "kers", "keras"),
        ("sampler", "tpee", "tpe"),
        ("sampler", "grid", None),
        ("pruner", "hyperbnd", "hyperband"),
        ("pruner", "mediam", "median"),
    ],
)
def test_unknown_names(field: str, value: str, suggestion: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        SearchSettings(**{field: value})
    message = str(info.value)
    assert f"unknown {field} '{value}'; allowed: " in message
    if suggestion:
        assert f"Did you mean '{suggestion}'?" in message
    else:
        assert "Did you mean" not in message


def test_several_backends() -> None:
    assert SearchSettings(backend="keras, mxnet").backends == ["keras", "mxnet"]
    assert SearchSettings(backend=["mxnet"]).backends == ["mxnet"]
    with pytest.raises(ConfigError, match="unknown backend 'torch'"):
        SearchSettings(backend="keras,torch")
    with pytest.raises(ConfigError, match="backend must name at least one of: keras, mxnet"):
        SearchSettings(backend=[])


def test_to_dict_hides_passwords_and_is_json_safe() -> None:
    config = SearchSettings(
        storage="postgresql://user:secret@db.example/optuna",
        tracking_uri="http://admin:hunter2@mlflow.example:5000",
        space=Path("spaces/my.yaml"),
        runs_dir="out",
        backend="keras,mxnet",
    )
    data = config.to_dict()
    text = json.dumps(data)
    assert "secret" not in text and "hunter2" not in text
    assert data["storage"] == "postgresql://user:***@db.example/optuna"
    assert data["tracking_uri"] == "http://admin:***@mlflow.example:5000"
    assert data["space"] == "spaces/my.yaml" and data["runs_dir"] == "out" and data["backend"] == "keras,mxnet"
    assert data["data"] == "built-in"
    assert config.storage == "postgresql://user:secret@db.example/optuna"  # the setting itself is kept


def test_to_dict_data_descriptions(tmp_path: Path) -> None:
    assert SearchSettings(data=tmp_path / "d.npz").to_dict()["data"] == str(tmp_path / "d.npz")
    assert SearchSettings(data=(np.zeros((2, 2)), np.zeros(2))).to_dict()["data"] == "arrays"
    plain = SearchSettings(storage="sqlite:///x.db").to_dict()
    assert plain["storage"] == "sqlite:///x.db" and plain["tracking_uri"] is None
