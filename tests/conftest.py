"""Shared fixtures: tiny spaces and temporary stores, so tests never touch ./runs."""

from __future__ import annotations

from pathlib import Path

import pytest

SPACES = Path(__file__).parent / "spaces"


@pytest.fixture
def tiny_space() -> Path:
    """A search space of tiny models trained for 2 epochs."""
    return SPACES / "tiny_image.yaml"
