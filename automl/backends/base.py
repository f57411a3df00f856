"""The interface every backend implements (Keras, MXNet)."""

from __future__ import annotations

import gc
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from automl.model.spec import ModelSpec

_survivors_frozen = False


def collect_garbage() -> None:
    """``gc.collect()``; the first time, also freeze what survives it (the framework's modules and
    caches, the data), so that each later collection scans only what later trials made: with
    TensorFlow loaded a full collection takes ~0.4 s, one per trial. Frozen objects are still freed
    when no longer referenced; only reference cycles among them stay."""
    global _survivors_frozen
    gc.collect()
    if not _survivors_frozen:
        gc.freeze()
        _survivors_frozen = True


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


def class_weights(spec: ModelSpec, y: np.ndarray) -> dict[int, float] | None:
    """Per-class loss weights for ``spec.class_weight`` computed from the training labels ``y``.

    ``"balanced"`` gives class ``c`` the weight ``n / (k * n_c)`` (scikit-learn's
    ``compute_class_weight``; ``k`` = classes present in ``y``); classes absent from ``y`` get 1.
    None when the spec asks for no weighting, and for regression, which ignores ``class_weight``.
    """
    if spec.class_weight is None or spec.problem_type != "classification":
        return None
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y)
    weights = compute_class_weight(spec.class_weight, classes=present, y=y)
    return {k: 1.0 for k in range(spec.n_outputs)} | {int(c): float(w) for c, w in zip(present, weights, strict=True)}


class BaseBackend(ABC):
    """Compiles a ``ModelSpec`` into a model and trains, predicts, saves and loads it.

    Implementations import their framework at construction time and keep no state
    between models besides the framework itself. ``fit`` validates on ``validation``
    each epoch, stops early after ``spec.early_stopping_patience`` epochs without
    improvement of the validation loss and restores the best weights; it raises
    ``TrialFailed`` when the loss becomes NaN or infinite. The training loss is
    ``sum(w[y] * loss) / batch + l1 * sum(|kernel|) + l2 * sum(kernel**2)`` with ``loss`` the
    per-sample ``spec.training_loss`` (see ``automl.model.spec.LOSSES``; the same values on every
    backend) and ``w`` from ``class_weights(spec, y)`` (1 without class weights); the validation
    loss that early stopping watches is the same loss, unweighted. Metrics are unweighted.
    """

    name: str
    engine: str  # the library that runs the computations: tensorflow or jax under Keras, mxnet

    def describe(self) -> str:
        """The backend and, where it has a choice, its engine: 'keras on jax', 'mxnet'."""
        return self.name if self.engine == self.name else f"{self.name} on {self.engine}"

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

    def predict_one(self, model: Any, X: np.ndarray) -> np.ndarray:
        """``predict`` for a batch of one, by the framework's fastest path (timed as ``latency_ms``)."""
        return self.predict(model, X)

    @abstractmethod
    def count_params(self, model: Any) -> int:
        """Number of trainable parameters."""

    @abstractmethod
    def save(self, model: Any, spec: ModelSpec, directory: Path) -> None:
        """Write the model in the framework's native format into ``directory``."""

    @abstractmethod
    def load(self, directory: Path, spec: ModelSpec) -> Any:
        """Read a model written by ``save``."""

    def snapshot(self, model: Any) -> Any | None:
        """The state of ``model`` (weights and optimizer), for ``restore``: untrained when it was just
        built, a fold's trained model after its training.

        None (the default) when the backend cannot restore one: cross-validation then builds a
        new model per fold. Restoring instead of rebuilding keeps the traced training graph.
        """
        return None

    def restore(self, model: Any, state: Any) -> None:  # noqa: B027 - only called with a state from snapshot
        """Put ``model`` back in the state ``snapshot`` returned: as if just built."""

    @abstractmethod
    def seed(self, seed: int) -> None:
        """Seed the framework's random generators (weights init, shuffling, dropout)."""

    def release(self) -> None:
        """Free framework state left by finished models and collect garbage (called after each trial:
        the search does not collect again)."""
        collect_garbage()

    def device(self) -> str:
        """Where this backend trains, e.g. 'cpu' or 'gpu:0'."""
        return "cpu"
