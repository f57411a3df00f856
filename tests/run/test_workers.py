"""Worker processes sharing one study, on the default SQLite store and on the real PostgreSQL.

Every test runs the real `automl` command (TensorFlow training, Optuna storage, MLflow store);
a worker is killed with a real SIGKILL. Trials are tiny (tests/spaces/tiny_image.yaml, 2 folds).
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

from automl.names import TrialAttr, split_host_pid
from automl.run.budget import counts_toward_budget
from automl.trial.repeats import RETRY_ATTR, deliberate_repeat

SPACE = Path(__file__).parents[1] / "spaces" / "tiny_image.yaml"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
LOCAL_STUDY = "image-digits-keras"
TIMEOUT_S = 300


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", **extra}


def _search(cwd: Path, *args: str, env: dict[str, str] | None = None, refit: bool = False) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "automl.cli", "search", "--n-splits", "2", "--space", str(SPACE)]
    command += [] if refit else ["--no-refit"]
    return subprocess.Popen(
        [*command, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or _env()
    )


def _worker(cwd: Path, study: str, storage: str, tracking_uri: str, worker_id: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "automl.cli", "worker", "--study", study, "--worker-id", worker_id]
    command += ["--storage", storage, "--tracking-uri", tracking_uri]
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


@functools.cache
def _storage(url: str) -> optuna.storages.BaseStorage:
    """One storage (one connection pool) per URL: polling must not open a connection per look."""
    from automl.run.study import open_storage

    return open_storage(url)


def _trials(name: str, storage: str) -> list[optuna.trial.FrozenTrial]:
    if storage.startswith("sqlite:") and not Path(storage[len("sqlite:///") :]).exists():
        return []  # the search has not created its store yet (opening it here would race that)
    try:
        study = optuna.load_study(study_name=name, storage=_storage(storage))
    except KeyError:  # not created yet
        return []
    return study.get_trials(deepcopy=False)


def _is_set_up(name: str, storage: str) -> bool:
    try:
        return "automl.settings" in optuna.load_study(study_name=name, storage=_storage(storage)).user_attrs
    except KeyError:  # not created yet
        return False


def _wait_for(condition: object, process: subprocess.Popen[str], what: str) -> object:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        found = condition()  # type: ignore[operator]
        if found:
            return found
        if process.poll() is not None:
            raise AssertionError(f"the search ended before {what}: {process.communicate()[1][-3000:]}")
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _finish(process: subprocess.Popen[str]) -> str:
    _, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, stderr[-4000:]
    assert "Traceback" not in stderr and "database is locked" not in stderr, stderr[-4000:]
    return stderr


def _child_runs(tracking_uri: str, study: str) -> list[object]:
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name(study).experiment_id], max_results=1000)
    return [r for r in runs if "mlflow.parentRunId" in r.data.tags]


def _check_study(trials: list[optuna.trial.FrozenTrial], runs: list[object], n_trials: int) -> None:
    """Exactly ``n_trials`` trials count, every trial that trained has one MLflow run, none is left RUNNING."""
    assert sum(counts_toward_budget(t) for t in trials) == n_trials, [(t.number, t.state) for t in trials]
    assert all(t.state.is_finished() for t in trials)
    assert len({t.number for t in trials}) == len(trials)
    per_trial = Counter(r.data.tags["optuna.trial_number"] for r in runs)  # type: ignore[attr-defined]
    trained = [t for t in trials if not t.user_attrs.get("surplus") and TrialAttr.DUPLICATE_OF not in t.user_attrs]
    assert per_trial == Counter(str(t.number) for t in trained)
    assert all(r.info.status in ("FINISHED", "FAILED") for r in runs)  # type: ignore[attr-defined]
    # no configuration trained twice, but for the deliberate retry of a lost trial
    first_tries = [t for t in trained if not deliberate_repeat(t)]
    assert len({repr(sorted(t.params.items())) for t in first_tries}) == len(first_tries)


@pytest.fixture
def pg_study() -> Iterator[str]:
    name = f"test-workers-{uuid.uuid4().hex[:10]}"
    yield name
    try:
        optuna.delete_study(study_name=name, storage=_storage(POSTGRES))
    except KeyError:
        pass


def _worker_pid(trial: optuna.trial.FrozenTrial) -> int:
    """The process id of the worker that runs ``trial``."""
    pid = split_host_pid(trial.user_attrs[TrialAttr.WORKER_PID])[1]
    assert pid is not None
    return pid


def _kill_one_running_trial(
    name: str, storage: str, process: subprocess.Popen[str], workers: set[str] | None = None
) -> int:
    """SIGKILL the worker of a trial that is training (one of ``workers`` if given); returns the trial number."""

    def running() -> optuna.trial.FrozenTrial | None:
        for t in _trials(name, storage):
            attrs = t.user_attrs
            if (
                t.state == optuna.trial.TrialState.RUNNING
                and "mlflow_run_id" in attrs
                and TrialAttr.WORKER_PID in attrs
            ):
                if workers is None or attrs[TrialAttr.WORKER] in workers:
                    return t
        return None

    trial = _wait_for(running, process, "a running trial")
    os.kill(_worker_pid(trial), signal.SIGKILL)  # type: ignore[arg-type]
    return trial.number  # type: ignore[attr-defined]


def _check_lost_and_retried(trials: list[optuna.trial.FrozenTrial], runs: list[object], lost: int) -> None:
    lost_trial = trials[lost]
    assert lost_trial.state == optuna.trial.TrialState.FAIL and "fail_reason" not in lost_trial.user_attrs
    retries = [t for t in trials if t.system_attrs.get(RETRY_ATTR) == lost]
    assert len(retries) == 1 and retries[0].state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert retries[0].params == lost_trial.params
    (lost_run,) = [r for r in runs if r.data.tags["optuna.trial_number"] == str(lost)]  # type: ignore[attr-defined]
    assert lost_run.info.status == "FAILED" and lost_run.data.tags["fail_reason"].startswith("lost:")  # type: ignore[attr-defined]


def test_four_local_workers_share_the_budget_and_survive_a_kill_on_sqlite(tmp_path: Path, native_lines) -> None:
    storage = f"sqlite:///{tmp_path}/runs/optuna.db"
    search = _search(tmp_path, "--workers", "4", "--n-trials", "5")
    lost = _kill_one_running_trial(LOCAL_STUDY, storage, search)
    stderr = _finish(search)
    assert "4 worker process(es) on CPU" in stderr
    assert native_lines(stderr) == []  # the workers' TensorFlow start-up lines are filtered too
    assert "died (signal SIGKILL)" in stderr
    # failed and queued again by the search, or first by a worker still starting up (it fails the
    # trials of this host's processes that are gone)
    requeued = (f"trial(s) {lost} failed and queued again", f"trial(s) {lost} of a process gone from this host")
    assert any(line in stderr for line in requeued), stderr[-3000:]
    trials = _trials(LOCAL_STUDY, storage)
    runs = _child_runs(f"sqlite:///{tmp_path}/runs/mlflow.db", LOCAL_STUDY)
    _check_study(trials, runs, 5)
    _check_lost_and_retried(trials, runs, lost)
    workers = {r.data.tags[TrialAttr.WORKER] for r in runs}
    assert len(workers) >= 2 and workers <= {"w0", "w1", "w2", "w3"}
    assert {r.data.tags["automl.worker_device"] for r in runs} == {"cpu"}


def test_workers_and_a_joining_worker_share_a_postgresql_study_and_survive_a_kill(
    tmp_path: Path, pg_study: str
) -> None:
    """Three workers of `automl search` plus one `automl worker`; one of the search's workers is killed
    mid-trial (failed at once by the search, which knows it died). Whether the joining worker gets a trial before the
    search's workers take the budget is a race, so it is only required to finish cleanly; the
    recipe test below has an `automl worker` killed mid-trial, failed by heartbeat."""
    tracking = f"sqlite:///{tmp_path}/mlflow.db"
    args = ["--workers", "3", "--n-trials", "5", "--storage", POSTGRES, "--tracking-uri", tracking, "--study", pg_study]
    search = _search(tmp_path, *args, env=_env(AUTOML_HEARTBEAT_S="1"))
    _wait_for(lambda: _is_set_up(pg_study, POSTGRES), search, "the study's set-up")
    joined = _worker(tmp_path, pg_study, POSTGRES, tracking, "joined")
    lost = _kill_one_running_trial(pg_study, POSTGRES, search, workers={"w0", "w1", "w2"})
    stderr = _finish(search)
    _, joined_stderr = joined.communicate(timeout=120)
    assert joined.returncode == 0 and "[joined] done:" in joined_stderr, joined_stderr[-3000:]
    assert "3 worker process(es)" in stderr and "died (signal SIGKILL)" in stderr
    trials = _trials(pg_study, POSTGRES)
    runs = _child_runs(tracking, pg_study)
    _check_study(trials, runs, 5)
    _check_lost_and_retried(trials, runs, lost)


def test_seed_repeats_a_one_worker_search(tmp_path: Path) -> None:
    from automl import search

    results = [
        search(
            "image",
            space=SPACE,
            n_trials=3,
            n_splits=2,
            seed=11,
            runs_dir=tmp_path / str(i),
            refit=False,
            verbose=False,
        )
        for i in range(2)
    ]
    first, second = ([(t.params, t.state, t.value) for t in r.study.trials] for r in results)
    assert [p for p, _, _ in first] == [p for p, _, _ in second]
    assert [s for _, s, _ in first] == [s for _, s, _ in second]
    assert [v for _, _, v in first] == pytest.approx([v for _, _, v in second], abs=1e-6)


def test_a_search_with_no_workers_of_its_own_runs_no_trial_and_ends_at_its_deadline(tmp_path: Path) -> None:
    """``workers=0`` with nobody joining: the search trains nothing and stops waiting at its deadline."""
    from automl import search

    result = search("image", space=SPACE, n_splits=2, workers=0, timeout=3, runs_dir=tmp_path, verbose=False)
    assert result.best_model is None
    assert {t.state for t in result.study.trials} == {optuna.trial.TrialState.WAITING}  # the space's defaults, queued
    assert "automl.settings" in result.study.user_attrs  # set up for workers to join


def test_a_worker_whose_search_died_before_its_trial_started_loses_the_trial_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dying_relay
) -> None:
    """The search's MLflow relay is gone (its process SIGKILLed) when a worker starts a trial: the
    trial is failed as lost, with no reason charged to its configuration, and queued again."""
    from automl import search
    from automl.run.worker import move_deadline, run_worker

    result = search("image", space=SPACE, n_splits=2, workers=0, timeout=3, runs_dir=tmp_path, verbose=False)
    move_deadline(result.study, None)  # the search is over; its study is left open to workers
    for name, value in dying_relay[0].items():
        monkeypatch.setenv(name, value)

    assert run_worker(result.study.study_name, result.storage, tracking_uri=result.tracking_uri, worker_id="w9") == 0
    lost, retry = result.study.get_trials(deepcopy=False)
    assert lost.state == optuna.trial.TrialState.FAIL and not counts_toward_budget(lost)
    assert "fail_reason" not in lost.user_attrs
    assert retry.state == optuna.trial.TrialState.WAITING and retry.params == lost.params
    assert deliberate_repeat(retry)


def test_an_unreachable_storage_fails_in_one_line_before_training(tmp_path: Path) -> None:
    url = "postgresql://automl:s3cret@127.0.0.1:1/test"
    worker = _worker(tmp_path, "any", url, f"sqlite:///{tmp_path}/mlflow.db", "w")
    _, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 2
    assert stderr.strip().splitlines() == [stderr.strip()]
    assert stderr.startswith("error: cannot open the Optuna storage postgresql://automl:***@127.0.0.1:1/test")
    assert "s3cret" not in stderr
    search = _search(tmp_path, "--workers", "2", "--n-trials", "2", "--storage", url)
    _, stderr = search.communicate(timeout=120)
    assert search.returncode == 2 and "s3cret" not in stderr and "joined" not in stderr
    assert [line for line in stderr.splitlines() if "error" in line.lower()] == stderr.strip().splitlines()[-1:]
    assert stderr.strip().splitlines()[-1].startswith("error: cannot open the Optuna storage"), stderr


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_of_a_killed_search_stop_and_keep_their_results_then_the_same_command_finishes(
    tmp_path: Path,
) -> None:
    storage = f"sqlite:///{tmp_path}/runs/optuna.db"
    args = ("--workers", "2", "--n-trials", "8")
    search = _search(tmp_path, *args)

    tracking_uri = f"sqlite:///{tmp_path}/runs/mlflow.db"

    def running_trials() -> list[optuna.trial.FrozenTrial]:
        return [
            t
            for t in _trials(LOCAL_STUDY, storage)
            if t.state == optuna.trial.TrialState.RUNNING and TrialAttr.WORKER_PID in t.user_attrs
        ]

    def finished_and_running() -> tuple[list[optuna.trial.FrozenTrial], set[int]] | None:
        """A finished trial, and the running ones, whose workers are stopped (SIGSTOP) while at least
        one of them has its MLflow run open (its number among the returned ones): a trial that ends
        between this look and the kill cannot end its run first. Another running trial may still be
        starting (no MLflow run yet): the search's loss fails it and queues it again. While the
        workers are stopped only the MLflow store is read (its one writer is the search): a stopped
        worker may hold the Optuna SQLite file's write lock."""
        if not any(t.state.is_finished() for t in _trials(LOCAL_STUDY, storage)):
            return None
        running = running_trials()
        stopped = {_worker_pid(t) for t in running}
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        try:
            runs = _child_runs(tracking_uri, LOCAL_STUDY)
        except Exception:  # the MLflow store is still being created
            runs = []
        open_runs = {r.data.tags.get("optuna.trial_number") for r in runs if r.info.status == "RUNNING"}  # type: ignore[attr-defined]
        training = {t.number for t in running if str(t.number) in open_runs}
        if training:
            return running, training
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        return None

    running, training = _wait_for(finished_and_running, search, "a finished trial and a running one")  # type: ignore[misc]
    search.kill()  # SIGKILL: the workers' MLflow relay dies with it
    search.wait(timeout=60)
    workers = {_worker_pid(t) for t in running}  # type: ignore[arg-type]
    for pid in workers:
        os.kill(pid, signal.SIGCONT)
    search.communicate(timeout=60)  # the workers hold its pipes until they stop
    deadline = time.monotonic() + TIMEOUT_S
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in workers), "the workers of a dead search must stop taking trials"
    trials = _trials(LOCAL_STUDY, storage)
    # the trials they were training were recorded, not lost; one that was starting is queued again
    assert all(t.state.is_finished() or t.state == optuna.trial.TrialState.WAITING for t in trials)
    reasons = [t.user_attrs.get("fail_reason", "") for t in trials]
    assert not any(word in reason for reason in reasons for word in ("EOFError", "BrokenPipe", "relay")), reasons
    assert all(trials[number].state != optuna.trial.TrialState.FAIL for number in training)
    for trial in running:  # a trial that was starting (no MLflow run yet) failed and is queued again
        if trial.number not in training and trials[trial.number].state == optuna.trial.TrialState.FAIL:
            assert any(t.system_attrs.get(RETRY_ATTR) == trial.number for t in trials), trial.number

    left_open = [r for r in _child_runs(tracking_uri, LOCAL_STUDY) if r.info.status == "RUNNING"]  # type: ignore[attr-defined]
    assert left_open, "the killed search could not end the runs of the trials its workers were training"

    resumed = _search(tmp_path, *args)
    stderr = _finish(resumed)
    assert "finished while their MLflow runs stayed open" in " ".join(stderr.split())
    trials = _trials(LOCAL_STUDY, storage)
    runs = _child_runs(tracking_uri, LOCAL_STUDY)
    assert sum(counts_toward_budget(t) for t in trials) == 8
    assert all(r.info.status in ("FINISHED", "FAILED") for r in runs)  # type: ignore[attr-defined]


@pytest.fixture
def mlflow_database() -> Iterator[str]:
    """A PostgreSQL database of its own for an MLflow server (MLflow and Optuna both keep an
    ``alembic_version`` table: they must never share a database), dropped afterwards."""
    import psycopg2

    name = f"mlflow_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(POSTGRES)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        cursor = admin.cursor()
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def _mlflow_server(tmp_path: Path, backend_store: str) -> tuple[subprocess.Popen[str], str]:
    """``mlflow server`` on 127.0.0.1, serving artifacts by proxy, once it answers /health."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        + ["--artifacts-destination", (tmp_path / "artifacts").as_uri()],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_BACKEND_STORE_URI": backend_store},  # the store's URL stays off the command line
        text=True,
    )
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return server, url
        except OSError:
            assert server.poll() is None, "the MLflow server exited"
            time.sleep(1)
    server.kill()
    raise AssertionError("the MLflow server did not answer within 180 s")


@pytest.mark.slow
def test_the_several_machines_recipe_on_one_machine(tmp_path: Path, pg_study: str, mlflow_database: str) -> None:
    """README "Several machines": a study on PostgreSQL, an MLflow tracking server on PostgreSQL, a
    search that runs no trials itself (``--workers 0``) and two ``automl worker`` processes logging
    over HTTP. The first is killed mid-trial (while it is the only one: no race), the search fails
    that trial by heartbeat and queues it again, and the second worker runs the rest of the budget."""
    server, tracking = _mlflow_server(tmp_path, mlflow_database)
    try:
        args = ["--workers", "0", "--n-trials", "4", "--storage", POSTGRES, "--tracking-uri", tracking]
        search = _search(tmp_path, *args, "--study", pg_study, env=_env(AUTOML_HEARTBEAT_S="1"), refit=True)
        _wait_for(lambda: _is_set_up(pg_study, POSTGRES), search, "the study's set-up")
        first = _worker(tmp_path, pg_study, POSTGRES, tracking, "host-1")
        lost = _kill_one_running_trial(pg_study, POSTGRES, search, workers={"host-1"})
        first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL
        second = _worker(tmp_path, pg_study, POSTGRES, tracking, "host-2")
        stderr = _finish(search)
        _, second_stderr = second.communicate(timeout=120)
        assert second.returncode == 0, second_stderr[-3000:]
        trials = _trials(pg_study, POSTGRES)
        runs = _child_runs(tracking, pg_study)
        _check_study(trials, runs, 4)  # one finished MLflow run per trial that trained, none RUNNING
        _check_lost_and_retried(trials, runs, lost)
        assert {r.data.tags.get(TrialAttr.WORKER) for r in runs} == {"host-1", "host-2"}  # type: ignore[attr-defined]
        assert f"automl worker --study {pg_study} --storage {POSTGRES}" in stderr  # how to join, said once
        assert f"[host-2] trial {lost + 1}" in stderr  # the search says each finished trial
        assert "error" not in stderr.lower()
        client = MlflowClient(tracking)
        (parent,) = [
            r
            for r in client.search_runs([client.get_experiment_by_name(pg_study).experiment_id])
            if "mlflow.parentRunId" not in r.data.tags
        ]
        assert parent.info.status == "FINISHED"
        import mlflow

        from automl.tracking.tracker import scoped_tracking_uri

        with scoped_tracking_uri(tracking):
            model = mlflow.pyfunc.load_model(parent.data.tags["automl.model_uri"])  # logged through the server
        digits = load_digits()
        predicted = model.predict((digits.images[:20] / 16.0).reshape(20, -1).astype("float32"))
        assert np.mean(np.asarray(predicted) == digits.target[:20]) > 0.5
    finally:
        server.terminate()
        server.wait(timeout=60)
