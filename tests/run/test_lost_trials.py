"""Trials left RUNNING by a process of this host that is gone: found from the process table, failed, retried."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from automl.names import TrialAttr
from automl.run.lost import LostTrialHandler, fail_trials_of, fail_trials_of_dead_local_processes
from automl.run.study import open_storage


def _running_trial(study: optuna.Study, owner: str) -> int:
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
    trial.set_user_attr(TrialAttr.WORKER_PID, owner)
    return trial.number


def test_only_the_trials_of_a_dead_process_of_this_host_are_failed_and_queued_again(tmp_path: Path) -> None:
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/optuna.db"))
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = os.uname().nodename
    dead = _running_trial(study, f"{host}:{finished.stdout.strip()}")
    alive = _running_trial(study, f"{host}:{os.getpid()}")
    elsewhere = _running_trial(study, f"{host}-other-host:{finished.stdout.strip()}")

    assert fail_trials_of_dead_local_processes(study, LostTrialHandler(tracker=None)) == [dead]

    trials = study.get_trials(deepcopy=False)
    assert trials[dead].state == TrialState.FAIL
    assert trials[alive].state == TrialState.RUNNING and trials[elsewhere].state == TrialState.RUNNING
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == dead]
    assert retry.state == TrialState.WAITING and retry.params == trials[dead].params
    assert fail_trials_of_dead_local_processes(study, LostTrialHandler(tracker=None)) == []  # once only


class _FinishedByAnotherProcess(optuna.storages.RDBStorage):
    """A real storage whose first state update finds the trial finished by another connection
    just before it (the race of a dead worker's trial: the search and a worker's heartbeat
    check both fail it)."""

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: object = None) -> bool:
        if not getattr(self, "raced", False):
            self.raced = True
            optuna.storages.RDBStorage(self.url).set_trial_state_values(trial_id, TrialState.FAIL)
        return super().set_trial_state_values(trial_id, state, values)


def test_a_lost_trial_that_another_process_fails_first_is_skipped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/optuna.db"
    study = optuna.create_study(storage=_FinishedByAnotherProcess(url))
    owner = f"{os.uname().nodename}:1"
    number = _running_trial(study, owner)

    assert fail_trials_of(study, owner, "worker w0 died", LostTrialHandler(tracker=None)) == []  # no error
    assert study.get_trials(deepcopy=False)[number].state == TrialState.FAIL
