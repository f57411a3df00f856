"""Keras on JAX: the backend contract suite, the augmentation and the losses run again, unchanged, on
Keras-JAX (on the CPU), in a process of their own since Keras picks its engine once per process."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from automl.backends.keras.engine import ENGINE_ENV

HERE = Path(__file__).parent
SUITES = ("test_contract.py", "test_augmentation.py", "test_losses.py")


@pytest.mark.slow
def test_the_backend_contract_suite_passes_on_keras_jax(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    root = HERE.parents[1]
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", "not mxnet"]
    command += ["-c", str(root / "pyproject.toml"), "--rootdir", str(root), f"--junitxml={report}"]
    command += [str(HERE / suite) for suite in SUITES]
    env = {**os.environ, ENGINE_ENV: "jax"}
    # run from tmp_path: ``python -m`` puts the working folder first on sys.path, and the source tree's
    # automl/ lacks automl.search_spaces, which only the installed package maps
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1200)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    cases = list(ET.parse(report).getroot().iter("testcase"))
    passed = {case.get("name") for case in cases if len(case) == 0}  # no failure, error or skipped child
    assert "test_keras_runs_on_the_chosen_engine" in passed
    assert any(name.startswith("test_parity_same_architecture") for name in passed)  # same outputs as MXNet
    assert len(passed) >= 30, sorted(passed)
