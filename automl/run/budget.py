"""The study's trial budget, shared by every process that runs its trials.

A trial counts toward ``n_trials`` when it is COMPLETE, PRUNED, or FAIL for a reason of its own
(a trial lost with its worker is retried and does not count). Every process stops once the
study holds ``n_trials`` counted trials, and a trial that finds the budget already taken by
lower-numbered trials (two workers asked at the same instant) is skipped before it trains
(FAIL, user attribute ``surplus``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.names import TrialAttr, host_pid


def counts_toward_budget(trial: FrozenTrial) -> bool:
    """COMPLETE, PRUNED, or FAIL for a reason of its own (not lost with a worker, not surplus)."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    attrs = trial.user_attrs
    return trial.state == TrialState.FAIL and TrialAttr.FAIL_REASON in attrs and not attrs.get(TrialAttr.SURPLUS)


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


class SkippedSurplus(Exception):
    """Raised for a trial that found the study's budget already taken (it never trains)."""


@dataclasses.dataclass
class BudgetedObjective:
    """Wraps the objective: tags the trial with its worker, skips surplus trials, keeps failure reasons."""

    objective: Callable[[optuna.Trial], float]
    n_trials: Callable[[], int | None]
    worker_id: str

    def __call__(self, trial: optuna.Trial) -> float:
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
