"""The worker loop: a long-lived process that runs a study's trials until its budget is reached.

``automl search --workers N`` starts N of these on one machine; ``automl worker`` starts one
on any host that reaches the study's storage. Both share the study through its storage:

* ``automl search`` stores the validated settings, the space and the budget in the study's
  user attributes (``save_settings``), so a worker rebuilds data, space and metric from them.
* Every trial beats a heartbeat (RDB storages); a trial whose worker died is failed, either at
  once by the parent that saw the process die or by the next worker after the grace period,
  its MLflow run is ended FAILED, and it is queued again (``RetryHeartbeatStaleTrialCallback``).
* The budget counts finished trials: COMPLETE, PRUNED, and FAIL with a reason of its own (a
  trial lost with its worker, or one skipped as surplus, does not count). A worker starts a
  trial only while finished plus running plus queued trials are fewer than the budget, and a
  trial that finds the budget already taken by lower-numbered trials (two workers asked at the
  same instant) is skipped before it trains (FAIL, user attribute ``surplus``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.config import SearchConfig
from automl.errors import ConfigError
from automl.failfast import every_trial_fails
from automl.interrupts import raise_if_interrupted

SETTINGS = "automl.settings"  # study user attribute: everything a worker needs to rebuild the search
WORKER_ATTR, WORKER_PID_ATTR = "automl.worker", "automl.worker_pid"
DEFAULT_HEARTBEAT_S = 10
MAX_RETRY = 2  # a trial lost with its worker is tried again at most twice
POLL_S = 1.0


# ---------------------------------------------------------------------------------------- settings
def save_settings(
    study: optuna.Study,
    config: SearchConfig,
    *,
    space_yaml: str,
    tracking_uri: str,
    parent_run_id: str | None,
    heartbeat_s: int | None = None,
) -> None:
    """Store what a worker needs (config, space text, budget, deadline, parent run) in the study."""
    data = config.to_dict()
    if isinstance(config.data, str | Path) and Path(config.data).exists():
        data["data"] = str(Path(config.data).resolve())  # workers may start elsewhere; the path must exist there
    study.set_user_attr(
        SETTINGS,
        {
            "config": data,
            "space_yaml": space_yaml,
            "n_trials": config.n_trials,
            "deadline": None if config.timeout is None else time.time() + config.timeout,
            "parent_run_id": parent_run_id,
            "tracking_uri": tracking_uri if "***" not in tracking_uri else None,  # passwords are never stored
            "heartbeat_s": heartbeat_s or heartbeat_seconds(),
        },
    )


def heartbeat_seconds() -> int:
    """Seconds between a running trial's heartbeats (``AUTOML_HEARTBEAT_S``, default 10)."""
    return int(os.environ.get("AUTOML_HEARTBEAT_S", DEFAULT_HEARTBEAT_S))


def load_settings(study: optuna.Study) -> dict[str, Any]:
    settings = study.user_attrs.get(SETTINGS)
    if settings is None:
        raise ConfigError(
            f"study {study.study_name!r} was not set up by 'automl search' (no {SETTINGS} attribute); "
            "start it with automl search --study NAME --storage URL first"
        )
    return settings


def config_from_settings(settings: dict[str, Any], *, storage: str, tracking_uri: str) -> SearchConfig:
    """The ``SearchConfig`` a search stored, with this worker's own storage and tracking URLs."""
    stored = dict(settings["config"])
    if stored.get("data") == "arrays":
        raise ConfigError("a search over in-memory arrays cannot run in worker processes; save them to a file")
    names = {f.name for f in dataclasses.fields(SearchConfig)}
    values = {k: v for k, v in stored.items() if k in names}
    values["data"] = None if stored.get("data") == "built-in" else stored.get("data")
    values.update(storage=storage, tracking_uri=tracking_uri, runs_dir=Path(stored.get("runs_dir", "runs")))
    return SearchConfig(**values)


# ---------------------------------------------------------------------------------------- budget
def counts_toward_budget(trial: FrozenTrial) -> bool:
    """COMPLETE, PRUNED, or FAIL for a reason of its own (not lost with a worker, not surplus)."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    attrs = trial.user_attrs
    return trial.state == TrialState.FAIL and "fail_reason" in attrs and not attrs.get("surplus")


def budget_counts(study: optuna.Study) -> tuple[int, int, int]:
    """(trials that count, running, waiting)."""
    trials = study.get_trials(deepcopy=False)
    done = sum(counts_toward_budget(t) for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    return done, running, waiting


def budget_reached(study: optuna.Study, n_trials: int | None) -> bool:
    return n_trials is not None and budget_counts(study)[0] >= n_trials


def stop_at_budget(n_trials: int | None) -> Callable[[optuna.Study, FrozenTrial], None]:
    """An ``optimize`` callback that stops the study once ``n_trials`` trials count (whoever ran them)."""

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        if budget_reached(study, n_trials):
            study.stop()

    return callback


# ---------------------------------------------------------------------------------------- lost trials
class LostTrialHandler:
    """For a trial lost with its worker: end its MLflow run FAILED and queue it again."""

    def __init__(self, tracker: Any, reason: str = "its worker stopped beating (died or hung)") -> None:
        self.tracker, self.reason = tracker, reason
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)

    def __call__(self, study: optuna.Study, trial: FrozenTrial, reason: str | None = None) -> None:
        self._retry(study, trial)  # first: until it is queued, the budget looks one trial short to other workers
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id:
            try:
                self.tracker.fail_run(run_id, f"lost: {reason or self.reason}")
            except Exception as exc:  # the run stays visible as RUNNING; the study must go on
                print(f"could not end MLflow run {run_id} of lost trial {trial.number}: {exc}", flush=True)


def fail_trials_of(study: optuna.Study, worker_pid: str, reason: str, on_lost: LostTrialHandler) -> list[int]:
    """Fail now the running trials of a worker process known to be dead; returns their numbers."""
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(WORKER_PID_ATTR) == worker_pid:
            try:
                study.tell(trial.number, state=TrialState.FAIL)
            except ValueError:  # finished meanwhile (by the heartbeat check of another worker)
                continue
            on_lost(study, study.get_trials(deepcopy=False)[trial.number], reason)
            failed.append(trial.number)
    return failed


def fail_trials_of_dead_local_processes(study: optuna.Study, on_lost: LostTrialHandler) -> list[int]:
    """Fail now the running trials of processes of this host that no longer exist (a search or worker
    killed with SIGKILL, or a crashed machine, before this run); returns their numbers.

    Trials of other hosts are left to the heartbeat check.
    """
    host = os.uname().nodename
    failed = []
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for owner in {t.user_attrs.get(WORKER_PID_ATTR) for t in running}:
        owner_host, _, pid = str(owner).rpartition(":")
        if owner_host == host and pid.isdigit() and not _process_exists(int(pid)):
            failed += fail_trials_of(study, owner, f"its process {owner} is gone (killed or crashed)", on_lost)
    return sorted(failed)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


# ---------------------------------------------------------------------------------------- the loop
class SkippedSurplus(Exception):
    """Raised for a trial that found the study's budget already taken (it never trains)."""


@dataclasses.dataclass
class BudgetedObjective:
    """Wraps the objective: tags the trial with its worker, skips surplus trials, keeps failure reasons."""

    objective: Callable[[optuna.Trial], float]
    n_trials: Callable[[], int | None]
    worker_id: str

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER_ATTR, self.worker_id)
        trial.set_user_attr(WORKER_PID_ATTR, worker_pid())
        budget = self.n_trials()
        if budget is not None:
            ahead = [
                t
                for t in trial.study.get_trials(deepcopy=False)
                if t.number < trial.number
                and (counts_toward_budget(t) or t.state in (TrialState.RUNNING, TrialState.WAITING))
            ]
            if len(ahead) >= budget:
                trial.set_user_attr("surplus", True)
                trial.set_user_attr("fail_reason", f"skipped: the budget of {budget} trials was taken by other workers")
                raise SkippedSurplus(trial.number)
        try:
            return self.objective(trial)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            if "fail_reason" not in trial.user_attrs:
                trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
            raise


def worker_pid() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


def worker_seed(seed: int, worker_id: str) -> int:
    """A sampler seed of its own per worker (the same seed everywhere would sample the same points)."""
    return seed + zlib.crc32(worker_id.encode()) % 1_000_003


def run_worker(
    study_name: str,
    storage: str,
    *,
    tracking_uri: str | None = None,
    worker_id: str | None = None,
    log: Callable[[str], None] = print,
) -> int:
    """Run trials of ``study_name`` until its budget is reached or its deadline passes; returns trials run.

    Call it in a fresh process: set ``CUDA_VISIBLE_DEVICES`` (see ``automl.devices.Slot``) before.
    """
    from automl.backends import get_backend
    from automl.objective import Objective
    from automl.progress import SearchProgress
    from automl.relay import RemoteTracker
    from automl.search import _quiet_libraries, build_search_parts
    from automl.storage import make_pruner, make_sampler, open_storage, redact
    from automl.tracking import Tracker

    _quiet_libraries()
    optuna.logging.set_verbosity(logging.ERROR)  # each trial is one line of ours; reasons are in the trial
    worker_id = worker_id or os.environ.get("AUTOML_WORKER_ID") or worker_pid()
    probe = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    settings = load_settings(probe)
    uri = tracking_uri or settings.get("tracking_uri")
    if not uri:
        raise ConfigError("the study's MLflow tracking URI holds a password: pass it with --tracking-uri")
    config = config_from_settings(settings, storage=storage, tracking_uri=uri)
    with tempfile.TemporaryDirectory() as tmp:
        space_file = Path(tmp) / "search_space.yaml"
        space_file.write_text(settings["space_yaml"], encoding="utf-8")
        parts = build_search_parts(config, space=str(space_file))
    device = _device_label({get_backend(name).device() for name in config.backends})  # frameworks imported once
    trial_tags = {WORKER_ATTR: worker_id, "automl.worker_device": device}
    tracker = RemoteTracker.from_environment(tracking_uri=uri, trial_tags=trial_tags) or Tracker(
        uri, study_name, trial_tags=trial_tags
    )
    if isinstance(tracker, Tracker):
        tracker.parent_id = settings.get("parent_run_id")
    on_lost = LostTrialHandler(tracker)
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(storage, heartbeat_interval=settings["heartbeat_s"], failed_trial_callback=on_lost),
        sampler=make_sampler(config.sampler, worker_seed(config.seed, worker_id)),
        pruner=make_pruner(config.pruner, epochs_per_fold=parts.epochs_per_fold, n_splits=config.n_splits),
    )
    objective = Objective(
        space=parts.space,
        dataset=parts.dataset,
        backends=config.backends,
        splits=parts.splits,
        metric=parts.metric,
        tracker=tracker,
        epochs_per_fold=parts.epochs_per_fold,
        seed=config.seed,
        progress=SearchProgress(n_trials=None, n_splits=config.n_splits, metric=parts.metric.name, enabled=False),
        deadline=settings.get("deadline"),
    )

    def budget() -> int | None:
        return load_settings(study).get("n_trials")

    wrapped = BudgetedObjective(objective, budget, worker_id)
    log(f"[{worker_id}] joined study {study_name} in {redact(storage)} on {device}")
    lost = fail_trials_of_dead_local_processes(study, on_lost)
    if lost:
        numbers = ", ".join(map(str, lost))
        log(f"[{worker_id}] trial(s) {numbers} of a process gone from this host: failed, queued again")
    ran = 0
    while True:
        settings = load_settings(study)
        deadline, n_trials = settings.get("deadline"), settings.get("n_trials")
        if deadline is not None and time.time() >= deadline:
            break
        done, running, waiting = budget_counts(study)
        if n_trials is not None and done >= n_trials:
            break
        failing = every_trial_fails(study)
        if failing:
            log(f"[{worker_id}] stopping: {failing}")
            break
        if n_trials is not None and done + running + waiting >= n_trials and waiting == 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)  # a running trial may be a dead worker's: retry it
            time.sleep(POLL_S)
            continue
        study.optimize(wrapped, n_trials=1, catch=(Exception,), gc_after_trial=True, callbacks=[raise_if_interrupted])
        ran += 1
        mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(WORKER_PID_ATTR) == worker_pid()]
        if mine and mine[-1].state.is_finished():
            log(_trial_line(worker_id, device, mine[-1], parts.metric.name))
    log(f"[{worker_id}] done: {ran} trial(s) run here")
    return ran


def _device_label(backend_devices: set[str]) -> str:
    """``cpu``, or the physical GPU this worker trains on (``gpu:2``; the framework calls it gpu:0)."""
    if backend_devices == {"cpu"}:
        return "cpu"
    return os.environ.get("AUTOML_WORKER_DEVICE") or f"gpu:{os.environ.get('CUDA_VISIBLE_DEVICES') or 0}"


def _trial_line(worker_id: str, device: str, trial: FrozenTrial, metric: str) -> str:
    value = f" {metric} {trial.value:.4f}" if trial.value is not None else ""
    reason = trial.user_attrs.get("fail_reason", "") if trial.state == TrialState.FAIL else ""
    seconds = trial.user_attrs.get("duration_s")
    took = f" ({seconds:.1f}s)" if isinstance(seconds, int | float) else ""
    return f"[{worker_id} {device}] trial {trial.number} {trial.state.name}{value}{took} {reason}".rstrip()
