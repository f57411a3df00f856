"""One output channel: automl's messages are log records of the ``automl`` logger, shown on a Rich console.

Tables and progress bars are drawn on the same console. The frameworks' own chatter is silenced
at its source: their Python loggers are turned down, and the lines their C++ code writes straight
to the process's standard error (TensorFlow's and XLA's absl log, MXNet's dmlc log) are dropped by
``filter_native_log_lines``, so the first line a user sees is ours.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator

from rich.console import Console

LOGGER_NAME = "automl"
FRAMEWORK_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's own C++ info and warnings
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
FRAMEWORK_LOGGERS = {"tensorflow": logging.ERROR, "absl": logging.ERROR, "mlflow": logging.WARNING}
# absl/glog lines ("I0000 00:00:1795991363.351898   15556 port.cc:153] ..."), absl's notice before it is
# initialised, and MXNet's dmlc lines ("[22:31:05] ../src/storage/storage.cc:199: ...").
NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|\[\d\d:\d\d:\d\d\] \S+:\d+: )"
)
STYLES = {logging.WARNING: "yellow", logging.ERROR: "red", logging.CRITICAL: "bold red"}

logger = logging.getLogger(LOGGER_NAME)
_filter_lock = threading.Lock()
_filter_installed = False


def get_logger(name: str) -> logging.Logger:
    """The logger of an automl module (``get_logger(__name__)``)."""
    return logging.getLogger(name if name.startswith(LOGGER_NAME) else f"{LOGGER_NAME}.{name}")


class ConsoleHandler(logging.Handler):
    """Prints each record's message on a Rich console as one line (warnings yellow, errors red)."""

    def __init__(self, console: Console, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self.console.print(text, style=STYLES.get(record.levelno), highlight=False, markup=False, soft_wrap=True)
        except Exception:  # noqa: BLE001 - a broken console must not break a search
            self.handleError(record)


@contextlib.contextmanager
def console_logging(console: Console, level: int = logging.INFO) -> Iterator[None]:
    """Within this block automl's log records go to ``console`` (and not to the root logger's handlers)."""
    handler = ConsoleHandler(console, level)
    previous = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(min(level, logging.INFO))
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]


def new_console(verbose: bool = True) -> Console:
    """automl's console on standard error; in a log file (no terminal) lines are up to 160 columns wide."""
    console = Console(stderr=True, quiet=not verbose)
    if not console.is_terminal:
        console = Console(stderr=True, quiet=not verbose, width=160)
    return console


def quiet_frameworks() -> None:
    """Turn down the frameworks' start-up and informational output; call before importing them."""
    for name, value in FRAMEWORK_ENV.items():
        os.environ.setdefault(name, value)
    for name, level in FRAMEWORK_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    filter_native_log_lines()


def filter_native_log_lines() -> None:
    """From now on, drop the native log lines (see ``NATIVE_LOG_LINE``) that reach this process's
    standard error; every other line still reaches it. Installed once per process.

    C++ code writes to file descriptor 2 directly, so no Python setting reaches it (TensorFlow 2.21
    logs through absl before absl is initialised, which ``TF_CPP_MIN_LOG_LEVEL`` does not govern).
    Descriptor 2 becomes a pipe read by a thread that forwards the other lines; ``sys.stderr``
    keeps writing to the real standard error directly. Nothing is done when ``sys.stderr`` is not
    descriptor 2 (a notebook, a test capture): native lines do not reach the user there.
    The lines dropped are logged at DEBUG level (``automl --debug`` shows them).
    """
    global _filter_installed
    with _filter_lock:
        if _filter_installed or not _stderr_is_fd2():
            return
        sys.stderr.flush()
        real = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
        sys.stderr = open(real, "w", buffering=1, encoding=encoding, errors="backslashreplace", closefd=False)  # noqa: SIM115
        thread = threading.Thread(target=_forward, args=(read_end, real), name="native-log-filter", daemon=True)
        thread.start()
        atexit.register(_restore, real, thread)
        _filter_installed = True


def real_stderr_fd() -> int:
    """The descriptor of the process's real standard error (for child processes to inherit)."""
    return sys.stderr.fileno() if _filter_installed else 2


def _stderr_is_fd2() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


def _forward(read_end: int, real: int) -> None:
    debug = get_logger("native")
    with os.fdopen(read_end, "rb") as lines:
        for line in lines:
            if NATIVE_LOG_LINE.match(line):
                debug.debug(line.decode(errors="replace").rstrip())
                continue
            try:
                os.write(real, line)
            except OSError:  # the reader of our standard error went away
                return


def _restore(real: int, thread: threading.Thread) -> None:
    """At exit: put the real standard error back (closing the pipe) and let the thread forward the rest."""
    try:
        sys.stderr.flush()
        os.dup2(real, 2)
    except OSError:
        return
    thread.join(timeout=1.0)
