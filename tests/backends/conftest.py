"""Fixtures shared by the backend suites: digits as NHWC images, and each backend in turn."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sklearn.datasets import load_digits

from automl.backends import BACKENDS, BaseBackend, get_backend


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as NHWC float32 images in [0, 1] and int labels."""
    data = load_digits()
    return (data.images / 16.0).astype(np.float32)[..., None], data.target.astype(np.int64)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[BaseBackend]:
    """Each backend in turn, seeded; its framework state is released afterwards."""
    instance = get_backend(request.param)
    instance.seed(0)
    yield instance
    instance.release()
