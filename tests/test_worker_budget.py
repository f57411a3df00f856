"""The worker loop's bookkeeping on real Optuna studies: what counts toward the budget, surplus trials, settings."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from automl.config import SearchConfig
from automl.errors import ConfigError
from automl.workers import (
    BudgetedObjective,
    SkippedSurplus,
    budget_counts,
    config_from_settings,
    counts_toward_budget,
    load_settings,
    save_settings,
)


def _trial(state: TrialState, **user_attrs: object) -> optuna.trial.FrozenTrial:
    value = 0.5 if state == TrialState.COMPLETE else None
    return optuna.create_trial(
        state=state,
        value=value,
        params={"x": 0.1},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs=user_attrs,
    )


def test_what_counts_toward_the_budget() -> None:
    assert counts_toward_budget(_trial(TrialState.COMPLETE))
    assert counts_toward_budget(_trial(TrialState.PRUNED))
    assert counts_toward_budget(_trial(TrialState.FAIL, fail_reason="TrialFailed: diverged"))
    assert not counts_toward_budget(_trial(TrialState.FAIL))  # lost with its worker: retried instead
    assert not counts_toward_budget(_trial(TrialState.FAIL, fail_reason="skipped", surplus=True))
    assert not counts_toward_budget(_trial(TrialState.WAITING))


def test_a_trial_beyond_the_budget_is_skipped_before_it_trains() -> None:
    study = optuna.create_study(direction="maximize")
    for state in (TrialState.COMPLETE, TrialState.FAIL):
        study.add_trial(_trial(state))  # the FAIL without a reason was lost: it does not count
    trained: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        trained.append(trial.number)
        return 1.0

    study.optimize(BudgetedObjective(objective, lambda: 2, "w0"), n_trials=2, catch=(Exception,))
    assert trained == [2]
    surplus = study.trials[3]
    assert surplus.state == TrialState.FAIL and surplus.user_attrs["surplus"] is True
    assert "budget of 2 trials" in surplus.user_attrs["fail_reason"]
    assert study.trials[2].user_attrs["automl.worker"] == "w0"
    assert budget_counts(study) == (2, 0, 0)
    with pytest.raises(SkippedSurplus):
        BudgetedObjective(objective, lambda: 2, "w0")(study.ask())


def test_an_error_without_a_reason_gets_one() -> None:
    study = optuna.create_study()

    def objective(trial: optuna.Trial) -> float:
        raise RuntimeError("sampling failed")

    study.optimize(BudgetedObjective(objective, lambda: None, "w0"), n_trials=1, catch=(Exception,))
    assert study.trials[0].user_attrs["fail_reason"] == "RuntimeError: sampling failed"
    assert counts_toward_budget(study.trials[0])


def test_settings_round_trip_without_passwords(tmp_path: Path) -> None:
    data = tmp_path / "images.npz"
    data.write_bytes(b"")
    config = SearchConfig(task="image", data=str(data), n_trials=7, n_splits=3, seed=5, workers=2, gpus="none")
    study = optuna.create_study()
    save_settings(study, config, space_yaml="parameters: {}", tracking_uri="http://u:***@mlflow", parent_run_id="p1")
    settings = load_settings(study)
    assert settings["tracking_uri"] is None and settings["n_trials"] == 7 and settings["parent_run_id"] == "p1"
    rebuilt = config_from_settings(settings, storage="postgresql://h/db", tracking_uri="http://mlflow")
    assert (rebuilt.data, rebuilt.n_trials, rebuilt.n_splits, rebuilt.seed) == (str(data.resolve()), 7, 3, 5)
    assert (rebuilt.storage, rebuilt.tracking_uri, rebuilt.gpus) == ("postgresql://h/db", "http://mlflow", "none")


def test_in_memory_arrays_and_foreign_studies_are_refused() -> None:
    import numpy as np

    config = SearchConfig(task="image", data=(np.zeros((10, 8, 8)), np.zeros(10)), n_trials=2)
    study = optuna.create_study()
    save_settings(study, config, space_yaml="", tracking_uri="sqlite:///m.db", parent_run_id=None)
    with pytest.raises(ConfigError, match="in-memory arrays cannot run in worker processes"):
        config_from_settings(load_settings(study), storage="sqlite:///o.db", tracking_uri="sqlite:///m.db")
    with pytest.raises(ConfigError, match="was not set up by 'automl search'"):
        load_settings(optuna.create_study(study_name="other"))
