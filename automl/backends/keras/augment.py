"""``RandomAffine``: random flips, shifts and rotations of images in one resampling, as on MXNet.

Each image gets one affine map, in pixels, about the image centre ``c``::

    p_in - c = R(angle) F (p_out - c) + s

with ``F`` a random flip (a sign per flipped axis), ``angle`` uniform in ``±rotation·2π`` and the
shift ``s`` uniform in ``±shift·width`` by ``±shift·height`` pixels. The output pixel ``p_out``
reads the input at ``p_in`` (bilinear, zeros outside the image). The MXNet backend draws and
applies the same map, so augmented training is statistically the same on both backends (Keras'
own ``RandomTranslation`` then ``RandomRotation`` would resample twice). Training only: at
prediction, and in saved models, the layer is the identity.
"""

from __future__ import annotations

import math
from typing import Any

import keras

FLIPPED_AXES = {"none": (False, False), "horizontal": (True, False), "vertical": (False, True), "both": (True, True)}


@keras.saving.register_keras_serializable(package="automl")
class RandomAffine(keras.layers.Layer):
    """Random flip / shift / rotation of NHWC images while training (see the module docstring)."""

    def __init__(
        self, flip: str = "none", shift: float = 0.0, rotation: float = 0.0, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.flip, self.shift, self.rotation, self.seed = flip, float(shift), float(rotation), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        if not training:
            return images
        ops = keras.ops
        height, width = int(images.shape[1]), int(images.shape[2])
        draws = keras.random.uniform((ops.shape(images)[0], 5), -1.0, 1.0, seed=self.seed_generator)
        flip_x, flip_y = FLIPPED_AXES[self.flip]
        sign_x = ops.where(draws[:, 0] < 0, -1.0, 1.0) if flip_x else ops.ones_like(draws[:, 0])
        sign_y = ops.where(draws[:, 1] < 0, -1.0, 1.0) if flip_y else ops.ones_like(draws[:, 1])
        angle = draws[:, 2] * (self.rotation * 2 * math.pi)
        shift_x, shift_y = draws[:, 3] * (self.shift * width), draws[:, 4] * (self.shift * height)
        cos, sin = ops.cos(angle), ops.sin(angle)
        a0, a1, b0, b1 = cos * sign_x, -sin * sign_y, sin * sign_x, cos * sign_y
        cx, cy = (width - 1) / 2, (height - 1) / 2
        a2 = cx + shift_x - (a0 * cx + a1 * cy)
        b2 = cy + shift_y - (b0 * cx + b1 * cy)
        zero = ops.zeros_like(a0)
        transform = ops.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)
        return ops.image.affine_transform(
            images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "flip": self.flip,
            "shift": self.shift,
            "rotation": self.rotation,
            "seed": self.seed,
        }
