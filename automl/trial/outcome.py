"""How a trial ends, named once: the finished states, and the reasons recorded beside them."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from automl.names import TrialAttr

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
INTERRUPTED = "interrupted (Ctrl-C or SIGTERM)"  # the fail reason of a trial stopped by a signal
LOST_PREFIX = "lost"  # fail reasons of trials lost with their worker start with it
OUT_OF_TIME = "stopped at the search's time budget (--timeout)"


class TrialLost(BaseException):
    """The trial cannot be recorded: the search process its worker logs through is gone.

    A ``BaseException``, so that it passes every ``except Exception`` (none may count it against
    the configuration) and Optuna's own handling: the trial is left RUNNING for the worker, which
    fails it as lost and queues it again (``automl.run.lost``), then stops.
    """


class OutOfTime(Exception):
    """The search's time budget ran out while this trial was training."""


def fail_reason(trial: optuna.trial.FrozenTrial | optuna.Trial) -> str | None:
    """Why a trial failed, as recorded (None when it did not fail, or says nothing)."""
    return trial.user_attrs.get(TrialAttr.FAIL_REASON)


def says_something_about_its_configuration(trial: optuna.trial.FrozenTrial) -> bool:
    """A failure with a reason of its own: not interrupted, not lost with its worker, not skipped
    (surplus to the budget, or a duplicate of an earlier trial)."""
    reason = fail_reason(trial)
    if (
        not reason
        or trial.user_attrs.get(TrialAttr.SURPLUS)
        or trial.user_attrs.get(TrialAttr.DUPLICATE_OF) is not None
    ):
        return False
    return not reason.startswith((INTERRUPTED, LOST_PREFIX))


def unfinished_promising(trials: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    """The promising trials of ``trials`` (a study's) that no trial completes or is queued to complete."""
    taken = {t.user_attrs.get(TrialAttr.COMPLETES) for t in trials}
    return [
        t
        for t in trials
        if t.state == TrialState.PRUNED and t.user_attrs.get(TrialAttr.PROMISING) and t.number not in taken
    ]
