"""Standardising a regression target: training on ``(y - mean) / scale`` keeps the loss near 1
whatever the target's units, so the same learning rates work for every data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TargetScaler:
    """Maps targets to zero mean and unit variance (``scale`` 1 for a constant target) and back."""

    mean: float = 0.0
    scale: float = 1.0

    @classmethod
    def fit(cls, y: np.ndarray) -> TargetScaler:
        """The scaler of the training targets ``y``."""
        std = float(np.std(y))
        return cls(float(np.mean(y)), std if std > 0 else 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        return ((np.asarray(y, dtype=np.float64) - self.mean) / self.scale).astype(np.float32)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Model outputs back in the target's units."""
        return (np.asarray(values, dtype=np.float64) * self.scale + self.mean).astype(np.float32)
