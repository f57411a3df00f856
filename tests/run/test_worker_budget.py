"""The worker loop's bookkeeping on real Optuna studies: what counts toward the budget, surplus trials, settings."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from automl.errors import ConfigError
from automl.names import StudyAttr
from automl.run.budget import BudgetedObjective, SkippedSurplus, budget_counts, counts_toward_budget
from automl.run.settings import SearchSettings, StudyRecord
from automl.run.worker import load_record


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
    settings = SearchSettings(task="image", data=str(data), n_trials=7, n_splits=3, seed=5, workers=2, gpus="none")
    study = optuna.create_study()
    record = StudyRecord.of(
        settings,
        space_yaml="parameters: {}",
        tracking_uri="http://u:secret@mlflow",
        parent_run_id="p1",
        heartbeat_s=5,
        deadline=None,
    )
    study.set_user_attr(StudyAttr.SETTINGS, record.to_json())
    loaded = load_record(study)
    assert "secret" not in str(study.user_attrs)
    assert loaded.tracking_uri is None and loaded.n_trials == 7 and loaded.parent_run_id == "p1"
    assert (loaded.version, loaded.heartbeat_s, loaded.space_yaml) == (2, 5, "parameters: {}")
    rebuilt = SearchSettings.from_stored(loaded.settings, storage="postgresql://h/db", tracking_uri="http://mlflow")
    assert (rebuilt.data, rebuilt.n_trials, rebuilt.n_splits, rebuilt.seed) == (str(data.resolve()), 7, 3, 5)
    assert (rebuilt.storage, rebuilt.tracking_uri, rebuilt.gpus) == ("postgresql://h/db", "http://mlflow", "none")


def test_in_memory_arrays_and_foreign_studies_are_refused() -> None:
    import numpy as np

    settings = SearchSettings(task="image", data=(np.zeros((10, 8, 8)), np.zeros(10)), n_trials=2)
    record = StudyRecord.of(
        settings, space_yaml="", tracking_uri="sqlite:///m.db", parent_run_id=None, heartbeat_s=5, deadline=None
    )
    with pytest.raises(ConfigError, match="in-memory arrays cannot run in worker processes"):
        SearchSettings.from_stored(record.settings, storage="sqlite:///o.db", tracking_uri="sqlite:///m.db")
    with pytest.raises(ConfigError, match="was not set up by 'automl search'"):
        load_record(optuna.create_study(study_name="other"))


def test_the_untyped_record_of_automl_0_1_still_reads() -> None:
    old = {
        "config": {"task": "tabular", "data": "built-in", "objective": "classification", "n_splits": 2, "seed": 3},
        "space_yaml": "parameters: {}",
        "n_trials": 4,
        "deadline": None,
        "parent_run_id": "p",
        "tracking_uri": "sqlite:///m.db",
        "heartbeat_s": 10,
    }
    record = StudyRecord.from_json(old)
    assert (record.n_trials, record.parent_run_id, record.heartbeat_s) == (4, "p", 10)
    settings = SearchSettings.from_stored(record.settings, storage="sqlite:///o.db")
    assert (settings.task, settings.problem_type, settings.n_trials, settings.seed) == (
        "tabular",
        "classification",
        4,
        3,
    )
    assert settings.data is None


def test_a_record_of_a_newer_automl_is_refused_with_a_clear_line() -> None:
    with pytest.raises(ConfigError, match="set up by a newer automl"):
        StudyRecord.from_json({"version": 99, "settings": {}})
