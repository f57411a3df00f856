"""The parent side of a multi-worker search: plan the slots, start the workers, restart the dead;
or, with ``--workers 0``, run no trials and wait while ``automl worker`` processes spend the budget.

Each worker is ``python -m automl.cli worker`` (the same loop ``automl worker`` runs on other
hosts) with its slot's environment: ``CUDA_VISIBLE_DEVICES`` and thread counts are set before
it imports a framework. Storage and tracking URLs travel in the environment, never on a command
line that ``ps`` shows. With a local MLflow store the workers log through the parent
(``automl.tracking.relay``), which is then the store's only writer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import optuna

from automl.logs import get_logger, real_stderr_fd
from automl.names import StudyAttr, host_pid
from automl.run.budget import budget_counts, budget_reached
from automl.run.devices import GPU, Slot, discover_gpus, plan_slots, search_process_environment, select_gpus
from automl.run.failfast import every_trial_fails, nothing_new_left
from automl.run.lost import LostTrialHandler, fail_stale_trials, fail_trials_of
from automl.run.settings import SearchSettings, StudyRecord
from automl.run.worker import PARENT_ENV, POLL_S, move_deadline, trial_line
from automl.stores import is_local_tracking_store
from automl.tracking.relay import TrackerRelay
from automl.tracking.tracker import Tracker

MAX_RESTARTS = 3  # per slot: a worker that keeps dying is given up on
STOP_GRACE_S = 60.0
SIGNAL_WAIT_S = 3.0
DEADLINE_UPDATE_S = 10.0
FRAMEWORK_MODULES = {"tensorflow": "TensorFlow", "mxnet": "MXNet", "jax": "JAX"}

log = get_logger(__name__)


def plan_workers(settings: SearchSettings) -> list[Slot]:
    """The worker slots for ``settings``; empty when the search runs in this process (one CPU worker).

    Also points this process at the device ``--gpus`` chose (``search_process_environment``): call
    it before a framework is imported.
    """
    found = discover_gpus()
    gpus = select_gpus(settings.gpus, found)
    _set_search_process_environment(search_process_environment(gpus, found), found)
    slots = plan_slots(
        gpus,
        trials_per_gpu=settings.trials_per_gpu,
        workers=settings.workers,
        cores=os.cpu_count() or 1,
        hide_gpus=bool(found),
    )
    if settings.workers == 0 or (not gpus and len(slots) == 1):
        return []
    if "mxnet" in settings.backends and any(not g.mxnet_supported for g in gpus):
        log.warning(
            "MXNet 1.9.1 has no GPU kernels for compute capability 9.0 and newer (Hopper): "
            "MXNet trials run on the CPU; Keras trials use the GPUs"
        )
    where = ", ".join(sorted({g.describe() for g in gpus})) or f"CPU ({os.cpu_count()} cores)"
    log.info("%d worker process(es) on %s", len(slots), where)
    return slots


def _set_search_process_environment(env: dict[str, str], found: list[GPU]) -> None:
    late = [name for name in FRAMEWORK_MODULES if name in sys.modules]
    if found and late and os.environ.get("CUDA_VISIBLE_DEVICES") != env.get("CUDA_VISIBLE_DEVICES"):
        log.warning(
            "%s was imported before the search: this process (its refit and in-process trials) may use the GPUs "
            "it saw then, whatever --gpus says; start the search in a fresh Python process to choose",
            " and ".join(FRAMEWORK_MODULES[name] for name in late),
        )
    os.environ.update(env)


def run_pool(
    study: optuna.Study,
    slots: list[Slot],
    *,
    storage_url: str,
    tracker: Tracker,
    deadline: Callable[[optuna.Study], float | None],
) -> None:
    """Run one worker per slot until the study's budget is reached; restart workers that die.

    ``deadline(study)`` is when trials must stop; the workers read it from the study's record,
    which this loop keeps up to date.
    """
    relay = TrackerRelay(tracker) if is_local_tracking_store(tracker.tracking_uri) else None
    base_env = {
        **os.environ,
        "AUTOML_STORAGE": storage_url,
        "AUTOML_TRACKING_URI": tracker.tracking_uri,
        PARENT_ENV: str(os.getpid()),  # a worker whose search is gone stops taking trials
    }
    if relay is not None:
        base_env.update(relay.environment())
    on_lost = LostTrialHandler(tracker)
    n_trials = StudyRecord.from_json(study.user_attrs[StudyAttr.SETTINGS]).n_trials
    processes = {slot.worker_id: _start(slot, study.study_name, base_env) for slot in slots}
    restarts = dict.fromkeys(processes, 0)
    by_id = {slot.worker_id: slot for slot in slots}
    last_update = 0.0
    try:
        while processes:
            if time.monotonic() - last_update >= DEADLINE_UPDATE_S:
                move_deadline(study, deadline(study))
                last_update = time.monotonic()
            for worker_id, process in list(processes.items()):
                code = process.poll()
                if code is None:
                    continue
                del processes[worker_id]
                if code == 0:
                    continue
                lost = fail_trials_of(study, _pid(process), f"worker {worker_id} died ({_exit_reason(code)})", on_lost)
                log.warning(
                    "worker %s died (%s)%s",
                    worker_id,
                    _exit_reason(code),
                    f"; trial(s) {', '.join(map(str, lost))} failed and queued again" if lost else "",
                )
                if budget_reached(study, n_trials):
                    continue
                if restarts[worker_id] >= MAX_RESTARTS:
                    log.error("worker %s died %d times: not restarted", worker_id, MAX_RESTARTS + 1)
                    continue
                restarts[worker_id] += 1
                processes[worker_id] = _start(by_id[worker_id], study.study_name, base_env)
            time.sleep(0.5)
    except BaseException:
        _stop(processes.values(), lambda process, why: fail_trials_of(study, _pid(process), why, on_lost))
        raise
    finally:
        if relay is not None:
            relay.close()


def wait_for_workers(
    study: optuna.Study, n_trials: int | None, *, deadline: Callable[[optuna.Study], float | None], metric: str
) -> None:
    """Run no trials here: wait while ``automl worker`` processes spend the study's budget.

    Keeps the trial deadline up to date, fails the trials of workers that stopped beating (Optuna's
    heartbeat check; the storage's failed-trial callback queues them again), and says each finished
    trial. Returns once the budget is spent, once the deadline has passed with no trial running, or
    when the workers stop because every trial fails or nothing new is left.
    """
    said: set[int] = set()
    last_update = 0.0
    ends: float | None = None
    while True:
        if time.monotonic() - last_update >= DEADLINE_UPDATE_S:
            ends = deadline(study)
            move_deadline(study, ends)
            last_update = time.monotonic()
        fail_stale_trials(study)
        for trial in study.get_trials(deepcopy=False):
            if trial.state.is_finished() and trial.number not in said:
                said.add(trial.number)
                log.info("%s", trial_line(trial, metric))
        done, running, _ = budget_counts(study)
        if n_trials is not None and done >= n_trials:
            return
        if ends is not None and time.time() >= ends and running == 0:
            return
        failing = every_trial_fails(study) or nothing_new_left(study)
        if failing:
            log.warning("the workers stop: %s", failing)
            return
        time.sleep(POLL_S)


def _start(slot: Slot, study_name: str, base_env: dict[str, str]) -> subprocess.Popen[Any]:
    command = [sys.executable, "-m", "automl.cli", "worker", "--study", study_name, "--worker-id", slot.worker_id]
    # the real standard error: a worker outlives any filter of this process's own (automl.logs)
    return subprocess.Popen(command, env={**base_env, **slot.environment()}, stderr=real_stderr_fd())


def _stop(processes: Any, on_killed: Callable[[subprocess.Popen[Any], str], Any]) -> None:
    """Stop the workers: each fails its running trial cleanly on its first SIGINT/SIGTERM.

    Ctrl-C reaches the workers too (same process group), and a second signal would make them exit
    without clean-up: so wait a moment before sending SIGTERM, and SIGKILL only after a grace period.
    """
    processes = list(processes)
    _wait_all(processes, SIGNAL_WAIT_S)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    _wait_all(processes, STOP_GRACE_S)
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
            on_killed(process, "the search was stopped")


def _wait_all(processes: list[subprocess.Popen[Any]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def _pid(process: subprocess.Popen[Any]) -> str:
    """The worker's ``automl.worker_pid`` (host:pid), as its trials record it."""
    return host_pid(process.pid)


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
