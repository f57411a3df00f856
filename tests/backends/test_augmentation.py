"""Augmentation is statistically the same on both backends: one random affine map per image, with
shifts of up to shift·W pixels, rotations of up to rotation·2π and flips of half the images.

Measured on a Gaussian blob: its centroid moves by the shift; about the image centre it turns by
the rotation angle; a flip mirrors it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from automl.backends import get_backend

SIZE, N = 16, 3000


def _blob(x0: float, y0: float, sigma: float = 1.5) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    image = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma**2))
    return np.repeat(image[None, :, :, None], N, axis=0).astype(np.float32)


def _augment(backend: str, images: np.ndarray, **params: object) -> np.ndarray:
    """The backend's augment layer applied in training mode (one draw per image)."""
    settings = {"flip": "none", "shift": 0.0, "rotation": 0.0, **params}
    get_backend(backend).seed(0)
    if backend == "keras":
        from automl.backends.keras.augment import RandomAffine

        return np.asarray(RandomAffine(**settings)(images, training=True))
    from mxnet import autograd, nd

    from automl.backends.mxnet.backend import _Augment

    block = _Augment(settings, images.shape[1:])
    block.initialize()
    with autograd.record(train_mode=True):
        out = block(nd.array(images.transpose(0, 3, 1, 2)))
    return out.asnumpy().transpose(0, 2, 3, 1)


def _centroids(images: np.ndarray) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    mass = images[..., 0].sum(axis=(1, 2))
    return np.stack([(images[..., 0] * xx).sum(axis=(1, 2)) / mass, (images[..., 0] * yy).sum(axis=(1, 2)) / mass], 1)


@pytest.mark.parametrize("backend", ["keras", "mxnet"])
def test_the_largest_shift_is_shift_times_the_width(backend: str) -> None:
    centre = (SIZE - 1) / 2
    moved = _centroids(_augment(backend, _blob(centre, centre), shift=0.1)) - centre
    assert np.abs(moved).max(axis=0) == pytest.approx([0.1 * SIZE, 0.1 * SIZE], abs=0.02)
    assert np.abs(moved.mean(axis=0)).max() < 0.05  # centred
    assert moved.std(axis=0) == pytest.approx([0.1 * SIZE / math.sqrt(3)] * 2, abs=0.03)  # uniform


@pytest.mark.parametrize("backend", ["keras", "mxnet"])
def test_rotations_turn_by_up_to_rotation_times_a_full_turn(backend: str) -> None:
    centre = (SIZE - 1) / 2
    turned = _centroids(_augment(backend, _blob(centre + 4, centre), rotation=0.05)) - centre
    angles = np.arctan2(turned[:, 1], turned[:, 0])
    assert np.abs(angles).max() == pytest.approx(0.05 * 2 * math.pi, abs=0.01)
    assert np.hypot(turned[:, 0], turned[:, 1]) == pytest.approx(np.full(N, 4.0), abs=0.05)  # about the centre


@pytest.mark.parametrize("backend", ["keras", "mxnet"])
def test_a_horizontal_flip_mirrors_half_the_images(backend: str) -> None:
    centre = (SIZE - 1) / 2
    flipped = _centroids(_augment(backend, _blob(centre + 3, centre), flip="horizontal"))[:, 0] - centre
    assert np.sort(np.unique(np.round(flipped, 3))) == pytest.approx([-3.0, 3.0], abs=0.01)
    assert np.mean(flipped < 0) == pytest.approx(0.5, abs=0.05)


def test_prediction_sees_the_image_unchanged() -> None:
    from automl.backends.keras.augment import RandomAffine

    images = _blob(5.0, 9.0)[:4]
    assert np.array_equal(np.asarray(RandomAffine("both", 0.2, 0.1)(images, training=False)), images)
