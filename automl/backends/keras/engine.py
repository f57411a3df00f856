"""The engine under Keras 3: TensorFlow by default, JAX when chosen, whatever ``KERAS_BACKEND`` or
``~/.keras/keras.json`` say.

Keras picks its engine once, at its first import, from ``KERAS_BACKEND`` or else ``keras.json``.
automl's choice (``--keras-backend``, API ``keras_backend=``) travels in ``AUTOML_KERAS_BACKEND``
to the processes a search starts; ``use_chosen_engine`` sets ``KERAS_BACKEND`` from it before
that import and says so in one line when the user's own setting named another engine.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

from automl.errors import BackendUnavailableError, ConfigError, unknown
from automl.logs import get_logger

KERAS_ENGINES = ("tensorflow", "jax")
DEFAULT_ENGINE = "tensorflow"
ENGINE_ENV = "AUTOML_KERAS_BACKEND"
INSTALL = {
    "tensorflow": "pip install 'tensorflow>=2.16'",
    "jax": "pip install 'automl[jax]' (CPU) or 'automl[jax-cuda]' (NVIDIA GPUs)",
}

log = get_logger(__name__)


def choose_engine(engine: str) -> None:
    """Run Keras on ``engine`` in this process and the processes it starts; call before the Keras
    backend is imported (``get_backend('keras')``)."""
    if engine not in KERAS_ENGINES:
        raise ConfigError(unknown("keras_backend", engine, KERAS_ENGINES))
    os.environ[ENGINE_ENV] = engine


def chosen_engine() -> str:
    """The engine ``choose_engine`` named in this process or a parent (TensorFlow by default)."""
    engine = os.environ.get(ENGINE_ENV) or DEFAULT_ENGINE
    if engine not in KERAS_ENGINES:
        raise ConfigError(f"{ENGINE_ENV}={engine!r}: " + unknown("Keras backend", engine, KERAS_ENGINES))
    return engine


def use_chosen_engine() -> str:
    """Make Keras run on the chosen engine; call before ``import keras``. Returns the engine."""
    engine = chosen_engine()
    if "keras" in sys.modules:
        import keras

        running = keras.backend.backend()
        if running != engine:
            raise BackendUnavailableError(
                f"Keras was imported on {running} before automl chose {engine}: set KERAS_BACKEND={engine} "
                "before importing keras (or import automl and start the search first)"
            )
        return engine
    if importlib.util.find_spec(engine) is None:  # each engine is the package of its name
        raise BackendUnavailableError(f"Keras on {engine} needs the {engine} package: {INSTALL[engine]}")
    asked, where = _users_choice()
    if asked and asked != engine:
        log.info("%s says Keras backend %r; automl runs Keras on %s", where, asked, engine)
    os.environ["KERAS_BACKEND"] = engine
    if engine == "jax" and os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        logging.getLogger("jax._src.xla_bridge").addFilter(HIDDEN_GPU_PLUGIN_ERROR)  # once: a logger keeps one of each
    return engine


class _HiddenGpuPluginError(logging.Filter):
    """Drops JAX's traceback of its CUDA plugin failing to start (``cuInit``: no device) in a process
    whose GPUs automl hid (``--gpus none``). Seen on an H200 with JAX 0.11.2: one traceback per
    worker process, while the trials ran on the CPU as asked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Jax plugin configuration error") and "jax_plugins.xla_cuda" in message)


HIDDEN_GPU_PLUGIN_ERROR = _HiddenGpuPluginError()


def _users_choice() -> tuple[str | None, str]:
    """The engine the user's environment or ``keras.json`` names, and where it is said."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    config = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        return json.loads(config.read_text()).get("backend"), str(config)
    except (OSError, ValueError, AttributeError):
        return None, str(config)
