"""The interface every backend implements (Keras, MXNet)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from automl.spec import ModelSpec

EpochCallback = Callable[[int, dict[str, float]], bool]
"""Called after each epoch with (epoch, logs); returning True stops training (pruning)."""


@dataclass
class FitResult:
    """What one training run produced.

    ``history`` maps metric names (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``)
    to one value per epoch; ``best_epoch`` is 1-based (the weights kept); ``stopped_by_callback``
    is True when the epoch callback asked to stop.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    stopped_by_callback: bool = False

    @property
    def n_epochs(self) -> int:
        return len(self.history.get("loss", []))


class BaseBackend(ABC):
    """Compiles a ``ModelSpec`` into a model and trains, predicts, saves and loads it.

    Implementations import their framework at construction time and keep no state
    between models besides the framework itself. ``fit`` validates on ``validation``
    each epoch, stops early after ``spec.early_stopping_patience`` epochs without
    improvement of the validation loss and restores the best weights; it raises
    ``TrialFailed`` when the loss becomes NaN or infinite.
    """

    name: str

    @abstractmethod
    def build(self, spec: ModelSpec) -> Any:
        """A new, untrained model for ``spec``."""

    @abstractmethod
    def fit(
        self,
        model: Any,
        spec: ModelSpec,
        X: np.ndarray,
        y: np.ndarray,
        *,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        epochs: int | None = None,
        on_epoch: EpochCallback | None = None,
    ) -> FitResult:
        """Train ``model`` in place for ``epochs`` (default ``spec.epochs``)."""

    @abstractmethod
    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) for classification, values (n,) for regression."""

    @abstractmethod
    def count_params(self, model: Any) -> int:
        """Number of trainable parameters."""

    @abstractmethod
    def save(self, model: Any, spec: ModelSpec, directory: Path) -> None:
        """Write the model in the framework's native format into ``directory``."""

    @abstractmethod
    def load(self, directory: Path, spec: ModelSpec) -> Any:
        """Read a model written by ``save``."""

    @abstractmethod
    def seed(self, seed: int) -> None:
        """Seed the framework's random generators (weights init, shuffling, dropout)."""

    def release(self) -> None:  # noqa: B027 - optional hook, nothing to free by default
        """Free framework state left by finished models (called between trials)."""

    def device(self) -> str:
        """Where this backend trains, e.g. 'cpu' or 'gpu:0'."""
        return "cpu"
