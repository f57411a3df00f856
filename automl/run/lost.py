"""Trials lost with their process: failed, their MLflow run ended, their configuration queued again.

A worker that dies (SIGKILL, out of memory, a crashed host) leaves its trial RUNNING. Its
trials are failed at once when the dead process is known (a worker of this search, or a
process of this host that no longer exists), or by Optuna's heartbeat check otherwise (other hosts).
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.logs import get_logger
from automl.names import TrialAttr, split_host_pid, this_host
from automl.run.budget import BudgetedObjective
from automl.trial.objective import TrialTracker
from automl.trial.outcome import LOST_PREFIX

MAX_RETRY = 2  # a trial lost with its worker is tried again at most twice
# what a retry inherits of the lost trial besides its parameters: why the configuration was queued
QUEUED_FOR = (TrialAttr.COMPLETES, TrialAttr.MOVED_FROM, TrialAttr.MOVE)

log = get_logger(__name__)


class LostTrialHandler:
    """For a trial lost with its worker: end its MLflow run FAILED and queue it again."""

    def __init__(self, tracker: TrialTracker, reason: str = "its worker stopped beating (died or hung)") -> None:
        self.tracker, self.reason = tracker, reason
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)

    def __call__(self, study: optuna.Study, trial: FrozenTrial, reason: str | None = None) -> None:
        self._retry(study, as_queued(trial))  # first: until it is queued, the budget looks one trial short to others
        run_id = trial.user_attrs.get(TrialAttr.MLFLOW_RUN_ID)
        if run_id:
            try:
                self.tracker.fail_run(run_id, f"{LOST_PREFIX}: {reason or self.reason}")
            except Exception as exc:  # the run stays visible as RUNNING; the study must go on
                log.warning("could not end MLflow run %s of lost trial %d: %s", run_id, trial.number, exc)


def as_queued(trial: FrozenTrial) -> FrozenTrial:
    """A lost trial as its retry inherits it: its parameters and why it was queued, not the lost run's
    worker, process and MLflow run. (A retry that still named the dead process while its new worker
    started it would be failed as lost again by whoever looked then, and its worker could not report.)"""
    queued = copy.copy(trial)
    queued.user_attrs = {key: value for key, value in trial.user_attrs.items() if key in QUEUED_FOR}
    return queued


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail the running trials whose worker stopped beating (Optuna's heartbeat check); the
    storage's failed-trial callback (a ``LostTrialHandler``) queues each again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def run_trials(
    study: optuna.Study, objective: BudgetedObjective, n_trials: int | None, callbacks: list[Callable[..., None]]
) -> bool:
    """Run up to ``n_trials`` trials in this process (None: until a callback stops the study), as
    ``study.optimize`` with a failing trial caught.
    False when it stopped because another process failed the trial running here: its heartbeat
    looked stale (no beat within the grace period: a suspended or overloaded host), so Optuna
    refuses its result and the retry queued then runs the configuration again; the caller goes on."""
    try:
        study.optimize(objective, n_trials=n_trials, catch=(Exception,), callbacks=callbacks)
        return True
    except (ValueError, AssertionError) as exc:  # Optuna's "Cannot tell a FAIL trial.", then its own assertion
        number = objective.trial_number
        refused = isinstance(exc, ValueError) or isinstance(exc.__context__, ValueError)
        if not refused or number is None or study.get_trials(deepcopy=False)[number].state != TrialState.FAIL:
            raise
        log.warning(
            "trial %d was failed by another process while it ran here (no heartbeat within the grace period: "
            "a suspended or overloaded host); its result is dropped and its retry runs the configuration again",
            number,
        )
        return False


def fail_trials_of(study: optuna.Study, worker_pid: str, reason: str, on_lost: LostTrialHandler) -> list[int]:
    """Fail now the running trials of a worker process known to be dead; returns their numbers."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(TrialAttr.WORKER_PID) == worker_pid:
            try:
                study.tell(trial.number, state=TrialState.FAIL)
            except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
                continue  # finished meanwhile, before tell's own check (ValueError) or during it, by another process
            on_lost(study, study.get_trials(deepcopy=False)[trial.number], reason)
            failed.append(trial.number)
    return failed


def fail_trials_of_dead_local_processes(study: optuna.Study, on_lost: LostTrialHandler) -> list[int]:
    """Fail now the running trials of processes of this host that no longer exist (a search or worker
    killed with SIGKILL, or a crashed machine, before this run); returns their numbers.

    Trials of other hosts are left to the heartbeat check.
    """
    host = this_host()
    failed = []
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for owner in {t.user_attrs.get(TrialAttr.WORKER_PID) for t in running}:
        owner_host, pid = split_host_pid(owner)
        if owner_host == host and pid is not None and not _process_exists(pid):
            failed += fail_trials_of(study, str(owner), f"its process {owner} is gone (killed or crashed)", on_lost)
    return sorted(failed)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
