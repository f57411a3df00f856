"""Shared fixtures: tiny spaces and temporary stores, so tests never touch ./runs."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from automl.logs import NATIVE_LOG_LINE

SPACES = Path(__file__).parent / "spaces"


@pytest.fixture
def tiny_space() -> Path:
    """A search space of tiny models trained for 2 epochs."""
    return SPACES / "tiny_image.yaml"


@pytest.fixture
def native_lines() -> Callable[[str], list[str]]:
    """The lines of an output that a framework logged itself (native log lines, TensorFlow's Python logger)."""

    def lines(text: str) -> list[str]:
        python_logger = re.compile(r"(WARNING|INFO|ERROR):(tensorflow|absl)")
        return [line for line in text.splitlines() if NATIVE_LOG_LINE.match(line.encode()) or python_logger.match(line)]

    return lines


_DIE_AFTER_ONE_CONNECTION = """
import os, signal, sys
from multiprocessing.connection import Listener
listener = Listener(("127.0.0.1", 0), authkey=bytes.fromhex(sys.argv[1]))
print("%s:%d" % listener.address, flush=True)
listener.accept()
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def dying_relay() -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    """A search's tracking relay (its environment for a worker) whose process kills itself
    (SIGKILL) as soon as a worker has connected: the worker's next call finds its search gone."""
    from automl.tracking.relay import ADDRESS_ENV, KEY_ENV

    key = secrets.token_hex(32)
    process = subprocess.Popen(
        [sys.executable, "-c", _DIE_AFTER_ONE_CONNECTION, key], stdout=subprocess.PIPE, text=True
    )
    address = process.stdout.readline().strip()  # type: ignore[union-attr]
    yield {ADDRESS_ENV: address, KEY_ENV: key}, process
    process.kill()
    process.communicate(timeout=60)
