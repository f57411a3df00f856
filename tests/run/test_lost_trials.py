"""Trials left RUNNING by a process of this host that is gone: found from the process table, failed, retried."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from automl.names import TrialAttr
from automl.run.budget import BudgetedObjective
from automl.run.lost import LostTrialHandler, fail_trials_of, fail_trials_of_dead_local_processes, run_trials
from automl.run.study import open_storage


def _running_trial(study: optuna.Study, owner: str, attrs: dict[str, object] | None = None) -> int:
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
    for key, value in {TrialAttr.WORKER_PID: owner, **(attrs or {})}.items():
        trial.set_user_attr(key, value)
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


def _dead_owner() -> str:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{os.uname().nodename}:{finished.stdout.strip()}"


class _Runs:
    """A tracker that records which MLflow runs the handler ended as lost."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def fail_run(self, run_id: str, reason: str) -> None:
        self.failed.append(run_id)


def test_the_retry_of_a_lost_trial_is_not_lost_again_while_its_new_worker_starts_it(tmp_path: Path) -> None:
    """The retry inherits the parameters and why they were queued, not the dead worker: a process
    looking for dead workers' trials between the retry's start and its new worker's tag (this race
    crashed a worker of a loaded machine) leaves it running."""
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/optuna.db"))
    attrs = {TrialAttr.WORKER: "w0", TrialAttr.MLFLOW_RUN_ID: "r0", TrialAttr.COMPLETES: 0, TrialAttr.MOVED_FROM: 0}
    dead = _running_trial(study, _dead_owner(), attrs)
    runs = _Runs()

    assert fail_trials_of_dead_local_processes(study, LostTrialHandler(tracker=runs)) == [dead]
    assert runs.failed == ["r0"]  # the lost trial's MLflow run is ended; the retry will have its own
    (retry,) = [t for t in study.get_trials(deepcopy=False) if t.system_attrs.get("failed_trial") == dead]
    assert retry.user_attrs == {TrialAttr.COMPLETES: 0, TrialAttr.MOVED_FROM: 0}
    started = study.ask()  # a new worker takes the retry
    assert started.number == retry.number

    assert fail_trials_of_dead_local_processes(study, LostTrialHandler(tracker=runs)) == []
    assert study.get_trials(deepcopy=False)[retry.number].state == TrialState.RUNNING


def test_a_trial_failed_by_another_process_while_it_ran_here_stops_neither_worker_nor_search(tmp_path: Path) -> None:
    """Another process's heartbeat check fails a running trial whose beats stopped for longer than
    the grace period (a suspended or overloaded host); Optuna then refuses its result. The process
    that ran it logs that and goes on: the next trial runs."""
    url = f"sqlite:///{tmp_path}/optuna.db"
    study = optuna.create_study(storage=open_storage(url), direction="maximize")
    elsewhere = optuna.load_study(study_name=study.study_name, storage=open_storage(url))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.number == 0:
            elsewhere.tell(trial.number, state=TrialState.FAIL)  # what the stale-trial check does
        return x

    def stop_after_two_complete(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) == 2:
            study.stop()  # no trial budget (a search with only a timeout): a callback ends it

    budgeted = BudgetedObjective(objective, lambda: None, worker_id="w0")
    assert run_trials(study, budgeted, 3, callbacks=[]) is False  # trial 0: failed elsewhere
    assert run_trials(study, budgeted, None, callbacks=[stop_after_two_complete]) is True
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
