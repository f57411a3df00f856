"""Several processes opening one fresh Optuna database at once (a search and its workers starting)."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import optuna
import psycopg2
import pytest
from sqlalchemy import event

from automl.run.study import open_storage

PROCESSES = 6
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _open_after(barrier: Barrier, url: str, errors: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        open_storage(url).get_all_studies()
    except Exception as exc:  # reported to the test, which names it
        errors.put(f"{type(exc).__name__}: {exc}")


def _open_at_once(url: str) -> None:
    context = multiprocessing.get_context("fork")  # children inherit the imports: they start together
    barrier = context.Barrier(PROCESSES)
    errors = context.Queue()
    processes = [context.Process(target=_open_after, args=(barrier, url, errors)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    failures = [errors.get() for _ in range(errors.qsize())]
    assert not failures, failures
    assert [p.exitcode for p in processes] == [0] * PROCESSES


@pytest.fixture
def empty_postgres_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    name = f"automl_race_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(f"{POSTGRES_SERVER}/test")
    admin.autocommit = True
    try:
        admin.cursor().execute(f"CREATE DATABASE {name}")
        yield f"{POSTGRES_SERVER}/{name}"
        admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        admin.close()


@pytest.mark.parametrize("round_", range(3))
def test_processes_that_create_one_fresh_sqlite_schema_at_once_all_open_it(tmp_path: Path, round_: int) -> None:
    _open_at_once(f"sqlite:///{tmp_path}/optuna-{round_}.db")


@pytest.mark.parametrize("round_", range(2))
def test_processes_that_create_one_fresh_postgresql_schema_at_once_all_open_it(
    empty_postgres_database: str, round_: int
) -> None:
    _open_at_once(empty_postgres_database)


def _widen_the_claim_window(storage: optuna.storages.RDBStorage) -> None:
    """Sleep after each read of one trial's row: two claims of one queued trial then overlap for sure
    (the read that checks the trial is WAITING and the write that marks it RUNNING are apart)."""

    def pause(conn, cursor, statement: str, *args: object) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        if statement.lstrip().startswith("SELECT") and "WHERE trials.trial_id =" in statement:
            time.sleep(0.3)

    event.listen(storage.engine, "after_cursor_execute", pause)


def _claim_the_queued_trial(url: str) -> list[int]:
    """Two workers, each with its own connection, ask the study for a trial at the same moment."""
    optuna.create_study(study_name="q", storage=open_storage(url)).enqueue_trial({"x": 0.5})
    barrier = threading.Barrier(2)
    numbers: list[int] = []

    def worker() -> None:
        storage = open_storage(url)
        _widen_the_claim_window(storage)
        study = optuna.load_study(study_name="q", storage=storage)
        barrier.wait()
        numbers.append(study.ask().number)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(numbers)


def test_two_workers_never_claim_one_queued_sqlite_trial(tmp_path: Path) -> None:
    # the queued trial (number 0) goes to one worker; the other samples a new one (number 1)
    assert _claim_the_queued_trial(f"sqlite:///{tmp_path}/optuna.db") == [0, 1]


def test_two_workers_never_claim_one_queued_postgresql_trial(empty_postgres_database: str) -> None:
    assert _claim_the_queued_trial(empty_postgres_database) == [0, 1]
