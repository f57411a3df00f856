"""``automl worker``: join a study that ``automl search`` set up and run its trials until the budget is reached.

The search stores a ``StudyRecord`` in its study (settings, space text, budget, deadline, parent
MLflow run); a worker rebuilds the same search from it (``automl.run.session``), on this host or
any other that reaches the storage. The budget is the study's: see ``automl.run.budget``.
"""

from __future__ import annotations

import logging
import os
import time
import zlib

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.backends import get_backend
from automl.errors import ConfigError
from automl.logs import get_logger
from automl.names import StudyAttr, Tag, TrialAttr, host_pid
from automl.run.budget import BudgetedObjective, budget_counts, complete_promising
from automl.run.devices import GPU_ENVIRONMENT, discover_gpus, say_if_gpus_unused
from automl.run.failfast import every_trial_fails, nothing_new_left
from automl.run.local_moves import queue_local_moves
from automl.run.lost import fail_stale_trials, fail_trials_of, run_trials
from automl.run.session import build_search_parts, open_search
from automl.run.settings import SearchSettings, StudyRecord
from automl.run.study import open_storage
from automl.stores import redact
from automl.tracking.relay import RemoteTracker
from automl.tracking.tracker import Tracker
from automl.trial.interrupts import raise_if_interrupted
from automl.trial.objective import TrialTracker
from automl.trial.outcome import TrialLost
from automl.trial.progress import SearchProgress

POLL_S = 1.0
PARENT_ENV = "AUTOML_SEARCH_PID"  # set by the search process for the workers it starts

log = get_logger(__name__)


def load_record(study: optuna.Study) -> StudyRecord:
    """The settings record ``automl search`` stored in ``study``."""
    stored = study.user_attrs.get(StudyAttr.SETTINGS)
    if stored is None:
        raise ConfigError(
            f"study {study.study_name!r} was not set up by 'automl search' (no {StudyAttr.SETTINGS} attribute); "
            "start it with automl search --study NAME --storage URL first"
        )
    return StudyRecord.from_json(stored)


def move_deadline(study: optuna.Study, deadline: float | None) -> None:
    """Store a new trial deadline in the study's record (workers read it before each trial)."""
    record = load_record(study)
    if record.deadline != deadline:
        record.deadline = deadline
        study.set_user_attr(StudyAttr.SETTINGS, record.to_json())


def worker_seed(seed: int, worker_id: str) -> int:
    """A sampler seed of its own per worker (the same seed everywhere would sample the same points)."""
    return seed + zlib.crc32(worker_id.encode()) % 1_000_003


def run_worker(study_name: str, storage: str, *, tracking_uri: str | None = None, worker_id: str | None = None) -> int:
    """Run trials of ``study_name`` until its budget is reached or its deadline passes; returns trials run.

    Call it in a fresh process: set ``CUDA_VISIBLE_DEVICES`` (see ``automl.run.devices.Slot``) before.
    """
    optuna.logging.set_verbosity(logging.ERROR)  # each trial is one line of ours; reasons are in the trial
    for name, value in GPU_ENVIRONMENT.items():  # before a framework is imported; a user's own choice stays
        os.environ.setdefault(name, value)
    worker_id = worker_id or os.environ.get("AUTOML_WORKER_ID") or host_pid()
    record = load_record(optuna.load_study(study_name=study_name, storage=open_storage(storage)))
    uri = tracking_uri or record.tracking_uri
    if not uri:
        raise ConfigError("the study's MLflow tracking URI holds a password: pass it with --tracking-uri")
    settings = SearchSettings.from_stored(record.settings, storage=storage, tracking_uri=uri)
    parts = build_search_parts(settings, space_yaml=record.space_yaml)
    backends = [get_backend(name) for name in settings.backends]  # frameworks imported once
    if PARENT_ENV not in os.environ:  # started by hand on a host: a local search's parent has said it already
        say_if_gpus_unused(backends, discover_gpus())
    device = _device_label({backend.device() for backend in backends})
    session = open_search(
        settings,
        parts,
        study_name=study_name,
        storage_url=storage,
        tracker=_trial_tracker(uri, study_name, record, {Tag.WORKER: worker_id, Tag.WORKER_DEVICE: device}),
        sampler_seed=worker_seed(settings.seed, worker_id),
        heartbeat_s=record.heartbeat_s,
    )
    study = session.study
    progress = SearchProgress(n_trials=None, n_splits=settings.n_splits, metric=parts.metric.name, enabled=False)
    budget = lambda: load_record(study).n_trials  # noqa: E731 - the search may raise it meanwhile
    wrapped = BudgetedObjective(session.objective(progress, record.deadline), budget, worker_id)
    deadline = lambda: load_record(study).deadline  # noqa: E731
    callbacks = [raise_if_interrupted, complete_promising(budget, deadline)]
    if settings.local_moves:
        callbacks.append(queue_local_moves(worker_seed(settings.seed, worker_id), budget, deadline))
    engines = ", ".join(backend.describe() for backend in backends)
    log.info("[%s] joined study %s in %s on %s (%s)", worker_id, study_name, redact(storage), device, engines)
    if session.lost:
        lost = ", ".join(map(str, session.lost))
        log.info("[%s] trial(s) %s of a process gone from this host: failed, queued again", worker_id, lost)
    ran = 0
    while _budget_left(study, worker_id):
        wrapped.objective.deadline = load_record(study).deadline  # the search moves it as its refit estimate changes
        # no gc_after_trial: the backend's release() collects garbage after each trial
        try:
            run_trials(study, wrapped, 1, callbacks)
        except TrialLost as exc:
            lost = fail_trials_of(study, host_pid(), str(exc), session.on_lost)
            log.warning("[%s] stopping: %s (trial(s) %s queued again)", worker_id, exc, ", ".join(map(str, lost)))
            break
        ran += 1
        mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(TrialAttr.WORKER_PID) == host_pid()]
        if mine and mine[-1].state.is_finished():
            log.info("%s", trial_line(mine[-1], parts.metric.name, f"{worker_id} {device}"))
    log.info("[%s] done: %d trial(s) run here", worker_id, ran)
    return ran


def _trial_tracker(uri: str, study_name: str, record: StudyRecord, trial_tags: dict[str, str]) -> TrialTracker:
    """The search's relay when the search process serves one (a local store), else MLflow directly."""
    remote = RemoteTracker.from_environment(tracking_uri=uri, trial_tags=trial_tags)
    if remote is not None:
        return remote
    tracker = Tracker(uri, study_name, trial_tags=trial_tags)
    tracker.parent_id = record.parent_run_id
    return tracker


def _budget_left(study: optuna.Study, worker_id: str) -> bool:
    """Wait while the budget is taken by running trials; False once it is spent, past the deadline,
    or when every trial so far failed."""
    while True:
        record = load_record(study)
        if record.deadline is not None and time.time() >= record.deadline:
            return False
        done, running, waiting = budget_counts(study)
        n_trials = record.n_trials
        if n_trials is not None and done >= n_trials:
            return False
        failing = every_trial_fails(study) or nothing_new_left(study)
        if failing:
            log.warning("[%s] stopping: %s", worker_id, failing)
            return False
        if not _search_alive():
            log.warning("[%s] stopping: the search process that started this worker is gone", worker_id)
            return False
        if n_trials is None or done + running + waiting < n_trials or waiting > 0:
            return True
        fail_stale_trials(study)  # a running trial may be a dead worker's: retry it
        time.sleep(POLL_S)


def _search_alive() -> bool:
    """False when this worker was started by a search process (``automl.run.pool``) that is gone:
    its trials' logging went through that process, and nobody would finish the search."""
    parent = os.environ.get(PARENT_ENV)
    return parent is None or os.getppid() == int(parent)


def _device_label(backend_devices: set[str]) -> str:
    """``cpu``, or the physical GPU this worker trains on (``gpu:2``; the framework calls it gpu:0)."""
    if backend_devices == {"cpu"}:
        return "cpu"
    return os.environ.get("AUTOML_WORKER_DEVICE") or f"gpu:{os.environ.get('CUDA_VISIBLE_DEVICES') or 0}"


def trial_line(trial: FrozenTrial, metric: str, where: str | None = None) -> str:
    """One line for a finished trial: ``[where] trial N STATE metric value (seconds) reason``;
    ``where`` defaults to the id of the worker that ran it."""
    where = where or trial.user_attrs.get(TrialAttr.WORKER, "?")
    value = f" {metric} {trial.values[0]:.4f}" if trial.values else ""
    reason = trial.user_attrs.get(TrialAttr.FAIL_REASON, "") if trial.state == TrialState.FAIL else ""
    seconds = trial.user_attrs.get(TrialAttr.DURATION_S)
    took = f" ({seconds:.1f}s)" if isinstance(seconds, int | float) else ""
    return f"[{where}] trial {trial.number} {trial.state.name}{value}{took} {reason}".rstrip()
