"""Resumable per-seed runs of a benchmark script, each seed in its own process, one after another.

A script that uses it takes ``--task``, ``--one SEED`` (run that seed in this process) and
``--results``, and writes ``<task>-seed<N>.json`` there (``final_choice.py``, ``selection_replay.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def commit() -> str:
    """The short hash of the checkout the benchmarks run from."""
    command = ["git", "rev-parse", "--short", "HEAD"]
    return subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()


def record_path(results: Path, task: str, seed: int) -> Path:
    return results / f"{task}-seed{seed}.json"


def write_record(results: Path, task: str, seed: int, record: dict[str, Any]) -> None:
    record_path(results, task, seed).write_text(json.dumps(record, indent=1, default=str))


def run_each_seed(script: str, task: str, seeds: Iterable[int], results: Path, extra: Iterable[str] = ()) -> None:
    """Run ``script --one SEED`` for each seed without a record yet (``extra``: more arguments)."""
    for seed in seeds:
        if record_path(results, task, seed).exists():
            continue
        command = [sys.executable, script, "--task", task, "--one", str(seed), "--results", str(results), *extra]
        subprocess.run(command, check=True)
