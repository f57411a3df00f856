"""What a user sees first is ours: the command imports no framework it does not need, and the
frameworks' own log lines (TensorFlow's absl lines, MXNet's dmlc lines) never reach the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SPACES = Path(__file__).parents[1] / "spaces"
HEAVY = ("tensorflow", "keras", "mxnet", "optuna", "mlflow")
IMPORTED_BY = """
import runpy, sys
sys.argv = ["automl", *{args!r}]
try:
    runpy.run_module("automl.cli", run_name="__main__")
except SystemExit:
    pass
print("IMPORTED", sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r})))
"""


def _imported_by(*args: str, cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY.format(args=list(args), heavy=HEAVY)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("IMPORTED")]
    return eval(line.removeprefix("IMPORTED "))  # noqa: S307 - a list literal this test printed


@pytest.mark.parametrize("args", [("--help",), ("search", "--help"), ("spaces",), ("worker", "--help")])
def test_help_and_spaces_import_no_framework_optuna_or_mlflow(args: tuple[str, ...], tmp_path: Path) -> None:
    assert _imported_by(*args, cwd=tmp_path) == []


def test_import_automl_is_light(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, automl; print(sorted(set({HEAVY!r}) & {{m.split('.')[0] for m in sys.modules}}))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_a_one_trial_search_prints_no_framework_line_and_ours_come_first(tmp_path: Path, native_lines) -> None:
    """In worker processes too: see tests/run/test_workers.py."""
    command = [sys.executable, "-m", "automl.cli", "search", "--task", "tabular"]
    command += ["--space", str(SPACES / "tiny_tabular.yaml"), "--n-trials", "1", "--n-splits", "2", "--no-refit"]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert native_lines(done.stderr + done.stdout) == []
    assert done.stderr.splitlines()[0].startswith("study tabular-breast_cancer-")
