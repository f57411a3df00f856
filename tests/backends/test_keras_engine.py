"""Keras runs on TensorFlow whatever the user's KERAS_BACKEND or keras.json say, with one line saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automl.backends.keras.engine import _users_choice


def test_the_users_choice_is_read_from_the_environment_then_keras_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert _users_choice()[0] is None  # no keras.json yet
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    assert _users_choice() == ("jax", str(tmp_path / "keras.json"))
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert _users_choice() == ("torch", "KERAS_BACKEND")


def test_keras_backend_jax_in_the_environment_still_trains_on_tensorflow(tmp_path: Path) -> None:
    """Before: ``KERAS_BACKEND=jax automl search ...`` crashed with "No module named 'jax'"."""
    script = (
        "import logging; logging.basicConfig(level=logging.INFO)\n"
        "from automl.backends import get_backend\n"
        "backend = get_backend('keras')\n"
        "import keras; print('engine', keras.backend.backend())\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "KERAS_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "engine tensorflow" in done.stdout
    assert "KERAS_BACKEND says Keras backend 'jax'; automl runs Keras on tensorflow" in done.stderr
