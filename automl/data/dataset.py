"""The ``Dataset`` every task loader returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.spec import Objective


@dataclass
class Dataset:
    """Features ``X`` (float32, model-ready shape), targets ``y`` and their metadata.

    For classification ``y`` holds class indices into ``classes`` (the original labels).
    """

    name: str
    task: str
    X: np.ndarray
    y: np.ndarray
    objective: Objective
    classes: list[Any] | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.X.shape[1:])

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.classes is not None else 1

    def summary(self) -> dict[str, Any]:
        """A JSON-safe description for logs and MLflow."""
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "objective": self.objective,
            "n_samples": int(len(self.X)),
            "input_shape": list(self.input_shape),
        }
        if self.classes is not None:
            counts = np.bincount(self.y, minlength=len(self.classes))
            out["classes"] = {str(c): int(n) for c, n in zip(self.classes, counts, strict=True)}
        return out
