"""One time budget for the whole job, and promising trials completed when the budget allows."""

from __future__ import annotations

import time

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from automl.names import TrialAttr
from automl.refit.refit import LOG_MODEL_S
from automl.run.budget import (
    ENSEMBLE_S,
    FINISH_S,
    MAX_RESERVE,
    REFIT_SHARE_BEFORE_ANY,
    JobClock,
    complete_promising,
    requeue_promising,
)


def _complete(study: optuna.Study, seconds: float, value: float = 0.9, folds: int = 5) -> None:
    study.add_trial(
        optuna.create_trial(
            state=TrialState.COMPLETE,
            value=value,
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
            user_attrs={TrialAttr.DURATION_S: seconds, TrialAttr.FOLD_SCORES: [value] * folds},
        )
    )


def test_trials_stop_early_enough_to_refit_the_best_trial_within_the_budget() -> None:
    study = optuna.create_study(direction="maximize")
    clock = JobClock(start=1000.0, timeout=300.0, n_splits=5, refits=1)
    assert clock.trial_deadline(study) == 1300.0 - FINISH_S - REFIT_SHARE_BEFORE_ANY * 300  # no trial yet: a guess
    _complete(study, 20.0, value=0.8)  # 4 s a fold: a refit trains like one more fold model
    _complete(study, 40.0, value=0.9)  # 8 s a fold, and the best
    # the best trial's time per fold (not a median), and logging the model
    assert clock.refit_seconds(study) == [8.0 + LOG_MODEL_S]
    assert clock.trial_deadline(study) == 1300.0 - FINISH_S - 8.0 - LOG_MODEL_S
    averaged = JobClock(start=1000.0, timeout=300.0, n_splits=5, refits=1, refit_models=3)
    assert averaged.refit_seconds(study) == [24.0 + 3 * LOG_MODEL_S]  # --refit-models 3: three such models
    assert averaged.trial_deadline(study) == 1300.0 - FINISH_S - 24.0 - 3 * LOG_MODEL_S


def test_an_ensemble_reserves_its_likely_members_and_the_selection() -> None:
    """With an ensemble, the reserve counts the best trials' refits (a slow member among them
    too) and the selection; trials not yet completed are guessed as slow as the slowest seen."""
    study = optuna.create_study(direction="maximize")
    clock = JobClock(start=1000.0, timeout=300.0, n_splits=5, refits=3)
    _complete(study, 10.0, value=0.95)  # the best: 2 s a fold
    assert clock.refit_seconds(study) == [2.0 + LOG_MODEL_S] * 3
    _complete(study, 50.0, value=0.94)  # a likely member: 10 s a fold
    _complete(study, 5.0, value=0.5)  # a poor trial: 1 s a fold, not a likely member
    _complete(study, 15.0, value=0.93)
    assert clock.refit_seconds(study) == [2.0 + LOG_MODEL_S, 10.0 + LOG_MODEL_S, 3.0 + LOG_MODEL_S]
    assert clock.trial_deadline(study) == 1300.0 - FINISH_S - ENSEMBLE_S - 15.0 - 3 * LOG_MODEL_S
    minimizing = optuna.create_study(direction="minimize")
    _complete(minimizing, 10.0, value=0.1)
    _complete(minimizing, 50.0, value=0.9)
    assert JobClock(1000.0, 300.0, 5, refits=1).refit_seconds(minimizing) == [2.0 + LOG_MODEL_S]


def test_the_reserve_is_capped_and_no_budget_has_no_deadline() -> None:
    study = optuna.create_study()
    _complete(study, 500.0)
    assert JobClock(1000.0, 300.0, 5, refits=4).trial_deadline(study) == 1300.0 - MAX_RESERVE * 300
    assert JobClock(1000.0, None, 5).trial_deadline(study) is None
    assert JobClock(1000.0, 300.0, 5, refits=0).trial_deadline(study) == 1300.0 - FINISH_S  # --no-refit


def _pruned(study: optuna.Study, **user_attrs: object) -> optuna.trial.FrozenTrial:
    study.add_trial(
        optuna.create_trial(
            state=TrialState.PRUNED,
            params={"x": 0.25},
            distributions={"x": FloatDistribution(0, 1)},
            user_attrs=user_attrs,
        )
    )
    return study.trials[-1]


def test_a_promising_trial_is_queued_once_to_run_to_the_end() -> None:
    study = optuna.create_study()
    callback = complete_promising(lambda: 10, lambda: time.time() + 60)
    callback(study, _pruned(study))  # stopped, but not promising: left alone
    callback(study, _pruned(study, **{TrialAttr.PROMISING: True}))
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].system_attrs["fixed_params"] == {"x": 0.25}
    assert waiting[0].user_attrs[TrialAttr.COMPLETES] == 1


def test_no_completion_past_the_deadline_or_when_the_trials_are_spent() -> None:
    study = optuna.create_study()
    complete_promising(lambda: 10, lambda: time.time() - 1)(study, _pruned(study, **{TrialAttr.PROMISING: True}))
    assert not study.get_trials(states=(TrialState.WAITING,))
    _complete(study, 1.0)
    complete_promising(lambda: 3, lambda: None)(study, _pruned(study, **{TrialAttr.PROMISING: True}))
    assert not study.get_trials(states=(TrialState.WAITING,))  # 3 trials count: none of the budget is left


def test_a_resumed_search_queues_each_promising_trial_nothing_completes_once() -> None:
    study = optuna.create_study()
    _pruned(study, **{TrialAttr.PROMISING: True})  # 0: stopped by the budget while not behind
    _pruned(study)  # 1: stopped, not promising
    _pruned(study, **{TrialAttr.PROMISING: True})  # 2: already completed by trial 3
    study.add_trial(
        optuna.create_trial(
            state=TrialState.COMPLETE,
            value=0.5,
            params={"x": 0.25},
            distributions={"x": FloatDistribution(0, 1)},
            user_attrs={TrialAttr.COMPLETES: 2},
        )
    )
    assert requeue_promising(study) == [0]
    (waiting,) = study.get_trials(states=(TrialState.WAITING,))
    assert waiting.user_attrs[TrialAttr.COMPLETES] == 0 and waiting.system_attrs["fixed_params"] == {"x": 0.25}
    assert requeue_promising(study) == []  # queued already: not twice
