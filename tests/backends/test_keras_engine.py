"""Keras runs on the engine automl chose (TensorFlow by default, or JAX) whatever the user's KERAS_BACKEND or
keras.json say, with one line saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automl.backends.keras.engine import ENGINE_ENV, _users_choice, choose_engine, chosen_engine
from automl.errors import ConfigError
from automl.run.settings import SearchSettings


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
    env.pop(ENGINE_ENV, None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "engine tensorflow" in done.stdout
    assert "KERAS_BACKEND says Keras backend 'jax'; automl runs Keras on tensorflow" in done.stderr


def test_an_unknown_engine_is_refused_with_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown keras_backend 'torch'.*tensorflow, jax"):
        choose_engine("torch")
    with pytest.raises(ConfigError, match="keras_backend.*'jx'.*jax"):
        SearchSettings(keras_backend="jx")
    monkeypatch.setenv(ENGINE_ENV, "pytorch")
    with pytest.raises(ConfigError, match=f"{ENGINE_ENV}='pytorch'"):
        chosen_engine()
    monkeypatch.delenv(ENGINE_ENV)
    assert chosen_engine() == "tensorflow"


def test_keras_on_jax_when_chosen_whatever_keras_json_says(tmp_path: Path) -> None:
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    script = (
        "import logging; logging.basicConfig(level=logging.INFO)\n"
        "from automl.backends.keras.engine import choose_engine\n"
        "choose_engine('jax')\n"
        "from automl.backends import get_backend\n"
        "backend = get_backend('keras')\n"
        "import keras; print('engine', keras.backend.backend(), backend.describe(), backend.device())\n"
    )
    env = {**os.environ, "KERAS_HOME": str(tmp_path)}
    env.pop("KERAS_BACKEND", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "engine jax keras on jax cpu" in done.stdout
    assert f"{tmp_path / 'keras.json'} says Keras backend 'torch'; automl runs Keras on jax" in done.stderr


def test_keras_imported_on_another_engine_first_gets_a_clear_error(tmp_path: Path) -> None:
    script = (
        "import os; os.environ['KERAS_BACKEND'] = 'jax'\n"
        "import keras\n"
        "from automl.backends import get_backend\n"
        "get_backend('keras')\n"
    )
    env = {**os.environ, "KERAS_HOME": str(tmp_path)}
    env.pop(ENGINE_ENV, None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0
    assert "Keras was imported on jax before automl chose tensorflow" in done.stderr


@pytest.mark.parametrize("hidden", [True, False])
def test_jax_in_a_process_whose_gpus_automl_hid_prints_no_cuda_plugin_traceback(tmp_path: Path, hidden: bool) -> None:
    """``--gpus none`` on an H200 with JAX's CUDA plugin: each worker printed the plugin's traceback
    (``cuInit(0) failed: CUDA_ERROR_NO_DEVICE``) although its trials ran on the CPU as asked. A plugin
    that fails the same way stands in for the real one; where automl did not hide the GPUs, its
    traceback still shows."""
    plugin = tmp_path / "jax_plugins" / "xla_cuda99"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(
        "def initialize():\n    raise RuntimeError('operation cuInit(0) failed: CUDA_ERROR_NO_DEVICE')\n"
    )
    script = (
        "from automl.backends.keras.engine import use_chosen_engine\n"
        "use_chosen_engine()\n"
        "import jax; print('devices', [d.platform for d in jax.devices()])\n"
    )
    env = {**os.environ, ENGINE_ENV: "jax", "KERAS_HOME": str(tmp_path), "PYTHONPATH": str(tmp_path)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    if hidden:
        env.update({"CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"})  # what --gpus none sets (devices.py)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "devices ['cpu']" in done.stdout
    shown = "Jax plugin configuration error: Exception when calling jax_plugins.xla_cuda99.initialize()"
    assert (shown in done.stderr) is not hidden, done.stderr[-3000:]
    assert ("CUDA_ERROR_NO_DEVICE" in done.stderr) is not hidden
