"""Shared fixtures: tiny spaces and temporary stores, so tests never touch ./runs."""

from __future__ import annotations

import re
from collections.abc import Callable
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
