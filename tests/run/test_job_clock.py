"""One time budget for the whole job, and promising trials completed when the budget allows."""

from __future__ import annotations

import time

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from automl.names import TrialAttr
from automl.run.budget import FINISH_S, MAX_RESERVE, REFIT_SHARE_BEFORE_ANY, JobClock, complete_promising


def _complete(study: optuna.Study, seconds: float, folds: int = 5) -> None:
    study.add_trial(
        optuna.create_trial(
            state=TrialState.COMPLETE,
            value=0.9,
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
            user_attrs={TrialAttr.DURATION_S: seconds, TrialAttr.FOLD_SCORES: [0.9] * folds},
        )
    )


def test_trials_stop_early_enough_to_refit_within_the_budget() -> None:
    study = optuna.create_study()
    clock = JobClock(start=1000.0, timeout=300.0, n_splits=5, refits=2)
    assert clock.trial_deadline(study) == 1300.0 - FINISH_S - 2 * REFIT_SHARE_BEFORE_ANY * 300  # no trial yet: a guess
    _complete(study, 20.0)  # 4 s a fold: a refit trains like one more fold model
    _complete(study, 40.0)  # 8 s a fold
    assert clock.refit_seconds(study) == 6.0  # the median
    assert clock.trial_deadline(study) == 1300.0 - FINISH_S - 2 * 6.0


def test_the_reserve_is_capped_and_no_budget_has_no_deadline() -> None:
    study = optuna.create_study()
    _complete(study, 500.0)
    assert JobClock(1000.0, 300.0, 5, refits=4).trial_deadline(study) == 1300.0 - MAX_RESERVE * 300
    assert JobClock(1000.0, None, 5).trial_deadline(study) is None


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
