"""Several processes opening one fresh Optuna database at once (a search and its workers starting)."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import psycopg2
import pytest

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
