"""Clean stops on Ctrl-C (SIGINT) and SIGTERM; a second signal exits at once.

The first signal raises KeyboardInterrupt in the main thread, so that Optuna marks the running
trial failed, its MLflow run is ended and the search prints what it has. Python drops an
exception raised while a finalizer runs (``__del__``, a weakref callback: TensorFlow has many,
and the garbage collection after each trial runs them), so the signal is also remembered: ``raise_if_interrupted``,
called at every epoch, fold and trial boundary, raises it again where nothing can swallow it.
A KeyboardInterrupt raised while C code runs can also come back as another exception (TensorFlow:
``SystemError: ... returned a result with an exception set``); ``interrupted`` tells the two apart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

_received = 0


def interrupted() -> bool:
    """Whether a stop signal has arrived in the current ``stop_on_signals`` block."""
    return _received > 0


def raise_if_interrupted(*_: Any) -> None:
    """Raise KeyboardInterrupt if a stop signal has arrived (usable as an Optuna callback)."""
    if _received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within this block, SIGINT and SIGTERM stop the work cleanly (main thread only)."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        global _received
        _received += 1
        if _received > 1:
            os._exit(130)  # the user insists: no more clean-up
        raise KeyboardInterrupt

    _received = 0
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _received = 0
