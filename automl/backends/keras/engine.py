"""The engine under Keras 3: TensorFlow, whatever ``KERAS_BACKEND`` or ``~/.keras/keras.json`` say.

Keras picks its engine once, at its first import, from ``KERAS_BACKEND`` or else ``keras.json``.
automl's Keras trials, memory growth and device report are TensorFlow's, so it sets the variable
before that import and says so in one line when the user's setting named another engine.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from automl.errors import BackendUnavailableError
from automl.logs import get_logger

ENGINE = "tensorflow"

log = get_logger(__name__)


def use_tensorflow() -> None:
    """Make Keras run on TensorFlow; call before ``import keras``."""
    if "keras" in sys.modules:
        import keras

        engine = keras.backend.backend()
        if engine != ENGINE:
            raise BackendUnavailableError(
                f"Keras was imported on {engine} before automl: automl's Keras trials run on TensorFlow; "
                f"set KERAS_BACKEND={ENGINE} before importing keras (or import automl first)"
            )
        return
    asked, where = _users_choice()
    if asked and asked != ENGINE:
        log.info("%s says Keras backend %r; automl runs Keras on %s", where, asked, ENGINE)
    os.environ["KERAS_BACKEND"] = ENGINE


def _users_choice() -> tuple[str | None, str]:
    """The engine the user's environment or ``keras.json`` names, and where it is said."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    config = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        return json.loads(config.read_text()).get("backend"), str(config)
    except (OSError, ValueError, AttributeError):
        return None, str(config)
