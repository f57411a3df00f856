"""Backends compile a ``ModelSpec`` into a framework model and train it.

``get_backend(name)`` imports the framework lazily, so ``automl --help`` and the parent
process of a search never pay for TensorFlow or MXNet they do not use.
"""

from __future__ import annotations

from automl.backends.base import BaseBackend, EpochCallback, FitResult
from automl.errors import ConfigError, unknown

BACKENDS = ("keras", "mxnet")
_INSTANCES: dict[str, BaseBackend] = {}


def get_backend(name: str) -> BaseBackend:
    """The backend called ``name`` (one instance per process)."""
    if name not in BACKENDS:
        raise ConfigError(unknown("backend", name, BACKENDS))
    if name not in _INSTANCES:
        if name == "keras":
            from automl.backends.keras.backend import KerasBackend

            _INSTANCES[name] = KerasBackend()
        else:
            from automl.backends.mxnet import MXNetBackend

            _INSTANCES[name] = MXNetBackend()
    return _INSTANCES[name]


__all__ = ["BACKENDS", "BaseBackend", "EpochCallback", "FitResult", "get_backend"]
