"""The study's trial budget, shared by every process that runs its trials.

A trial counts toward ``n_trials`` when it is COMPLETE, PRUNED, or FAIL for a reason of its own
(a trial lost with its worker is retried and does not count). Every process stops once the
study holds ``n_trials`` counted trials, and a trial that finds the budget already taken by
lower-numbered trials (two workers asked at the same instant) is skipped before it trains
(FAIL, user attribute ``surplus``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.names import TrialAttr, host_pid
from automl.refit.refit import final_estimate
from automl.trial.goals import ranked_trials
from automl.trial.objective import Objective
from automl.trial.outcome import unfinished_promising


def counts_toward_budget(trial: FrozenTrial) -> bool:
    """COMPLETE, PRUNED, or FAIL for a reason of its own (not lost with a worker, not skipped as
    surplus or as a duplicate)."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    attrs = trial.user_attrs
    skipped = attrs.get(TrialAttr.SURPLUS) or attrs.get(TrialAttr.DUPLICATE_OF) is not None
    return trial.state == TrialState.FAIL and TrialAttr.FAIL_REASON in attrs and not skipped


def budget_counts(study: optuna.Study) -> tuple[int, int, int]:
    """(trials that count, running, waiting)."""
    trials = study.get_trials(deepcopy=False)
    done = sum(counts_toward_budget(t) for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    return done, running, waiting


def remaining_trials(study: optuna.Study, n_trials: int | None) -> int | None:
    """Trials still to count before the budget is reached (None: no trial budget)."""
    return None if n_trials is None else max(0, n_trials - budget_counts(study)[0])


def budget_reached(study: optuna.Study, n_trials: int | None) -> bool:
    return remaining_trials(study, n_trials) == 0


def stop_at_budget(n_trials: int | None) -> Callable[[optuna.Study, FrozenTrial], None]:
    """An ``optimize`` callback that stops the study once ``n_trials`` trials count (whoever ran them)."""

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        if budget_reached(study, n_trials):
            study.stop()

    return callback


def complete_promising(
    n_trials: Callable[[], int | None], deadline: Callable[[], float | None]
) -> Callable[[optuna.Study, FrozenTrial], None]:
    """An ``optimize`` callback: a trial stopped by rung arithmetic while it was not behind the best
    trial (``promising``, see ``automl.trial.racing``) is queued to run to the end, once, when the
    budget allows (a trial of the budget is left and the deadline has not passed)."""

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state != TrialState.PRUNED or not trial.user_attrs.get(TrialAttr.PROMISING):
            return
        end = deadline()
        if end is not None and time.time() >= end:
            return
        budget = n_trials()
        if budget is not None and sum(budget_counts(study)) >= budget:
            return
        study.enqueue_trial(trial.params, user_attrs={TrialAttr.COMPLETES: trial.number}, skip_if_exists=False)

    return callback


def requeue_promising(study: optuna.Study) -> list[int]:
    """Queue, to run to the end, every promising trial that no trial completes or is queued to: those
    an earlier search stopped at its time budget while not behind the best trial, or stopped by rung
    arithmetic too late to complete. For a resumed search; the numbers of the trials queued."""
    unfinished = unfinished_promising(study.get_trials(deepcopy=False))
    for trial in unfinished:
        study.enqueue_trial(trial.params, user_attrs={TrialAttr.COMPLETES: trial.number}, skip_if_exists=False)
    return [trial.number for trial in unfinished]


class SkippedSurplus(Exception):
    """Raised for a trial that found the study's budget already taken (it never trains)."""


@dataclass
class BudgetedObjective:
    """Wraps the objective: tags the trial with its worker, skips surplus trials, keeps failure reasons."""

    objective: Callable[[optuna.Trial], float | list[float]]
    n_trials: Callable[[], int | None]
    worker_id: str
    trial_number: int | None = field(default=None, init=False)  # the trial it runs or ran last

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        self.trial_number = trial.number
        trial.set_user_attr(TrialAttr.WORKER, self.worker_id)
        trial.set_user_attr(TrialAttr.WORKER_PID, host_pid())
        budget = self.n_trials()
        if budget is not None:
            ahead = [
                t
                for t in trial.study.get_trials(deepcopy=False)
                if t.number < trial.number
                and (counts_toward_budget(t) or t.state in (TrialState.RUNNING, TrialState.WAITING))
            ]
            if len(ahead) >= budget:
                trial.set_user_attr(TrialAttr.SURPLUS, True)
                trial.set_user_attr(
                    TrialAttr.FAIL_REASON, f"skipped: the budget of {budget} trials was taken by other workers"
                )
                raise SkippedSurplus(trial.number)
        try:
            return self.objective(trial)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            if TrialAttr.FAIL_REASON not in trial.user_attrs:
                trial.set_user_attr(TrialAttr.FAIL_REASON, f"{type(exc).__name__}: {exc}")
            raise


# the leaderboard, report and the model logging's fixed part after the last trial: 1-2 s measured on
# 2 cores (a digits search's finish, 2026-12-05), doubled; each member's own share of the logging is
# in its estimate (``automl.refit.refit.final_estimate``)
FINISH_S = 4.0
# loading the out-of-fold predictions and choosing (0.1 s on breast cancer), and the refits' excess over
# their estimates (a fresh model traces its graph again: 0.5-1.1 s each, measured on breast cancer)
ENSEMBLE_S = 3.0
MAX_RESERVE = 0.25  # at most this share of the time budget is kept for refitting at the end
REFIT_SHARE_BEFORE_ANY = 0.1  # before a trial completes, a refit is guessed at this share of the budget


@dataclass
class JobClock:
    """One time budget for the whole job: trials, then the refit (and the ensemble's members), the
    report and the model's logging, all within ``timeout`` seconds from ``start``.

    Trials stop early enough to leave time for ``refits`` refits (the best trial and, with an
    ensemble, its likely members: the next best completed trials), each estimated as its trial's
    time per fold (a refit trains like one more fold model: ``automl.refit.refit``), or with
    ``bagged`` the time to load its fold models, plus the ensemble selection; the reserve is capped
    at a quarter of the budget.
    """

    start: float
    timeout: float | None
    n_splits: int
    refits: int = 1
    bagged: bool = False  # --final-model folds: the final models load the best trials' fold models
    refit_models: int = 1  # models each refit trains (--refit-models)

    @property
    def end(self) -> float | None:
        return None if self.timeout is None else self.start + self.timeout

    def seconds_left(self) -> float | None:
        return None if self.end is None else self.end - time.time()

    def refit_seconds(self, study: optuna.Study) -> list[float]:
        """The estimated time of each of the ``refits`` refits: those of the best completed trials."""
        if not self.refits:
            return []
        ranked = ranked_trials(study)
        each = (final_estimate(t, bagged=self.bagged, refit_models=self.refit_models) for t in ranked)
        estimates = [e for e in each if e > 0][: self.refits]
        if not estimates:
            return [REFIT_SHARE_BEFORE_ANY * (self.timeout or 0.0)] * self.refits
        return estimates + [max(estimates)] * (self.refits - len(estimates))  # trials yet to complete

    def reserve_seconds(self, study: optuna.Study) -> float:
        """The time kept after the trials: refits, the ensemble selection, the report and the logging."""
        ensemble = ENSEMBLE_S if self.refits > 1 else 0.0
        reserve = FINISH_S + ensemble + sum(self.refit_seconds(study))
        return min(reserve, MAX_RESERVE * (self.timeout or 0.0))

    def trial_deadline(self, study: optuna.Study) -> float | None:
        """When trials must stop so that the refit, the report and the logging end within the budget."""
        if self.end is None:
            return None
        return self.end - self.reserve_seconds(study)


def keep_to_the_clock(clock: JobClock, objective: Objective) -> Callable[[optuna.Study, FrozenTrial], None]:
    """An ``optimize`` callback: move the objective's deadline as the refit estimate changes, and
    start no trial after it."""

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        objective.deadline = clock.trial_deadline(study)
        if objective.deadline is not None and time.time() >= objective.deadline:
            study.stop()

    return callback
