"""K-fold cross-validation of one ``ModelSpec``: a fresh model per fold, scores aggregated.

Free of Optuna and MLflow: callers observe progress through ``on_epoch``/``on_fold`` hooks,
and either hook can stop the evaluation (pruning) by returning True.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold

from automl.backends.base import BaseBackend, FitResult
from automl.errors import ConfigError
from automl.metrics import Metric, all_scores
from automl.spec import ModelSpec


def make_splitter(objective: str, n_splits: int, seed: int) -> BaseCrossValidator:
    """StratifiedKFold for classification, KFold for regression; shuffled and seeded."""
    if not isinstance(n_splits, int) or isinstance(n_splits, bool) or n_splits < 2:
        raise ConfigError(f"n_splits must be an int >= 2, got {n_splits!r}")
    cls = StratifiedKFold if objective == "classification" else KFold
    return cls(n_splits=n_splits, shuffle=True, random_state=seed)


@dataclass
class FoldResult:
    """One fold: its score (the optimized metric), every metric, and the training curves."""

    fold: int
    score: float
    scores: dict[str, float]
    fit: FitResult
    seconds: float


@dataclass
class CVResult:
    """All folds evaluated so far; ``stopped`` is True when a hook ended the evaluation early."""

    folds: list[FoldResult] = field(default_factory=list)
    stopped: bool = False

    @property
    def scores(self) -> np.ndarray:
        return np.array([f.score for f in self.folds], dtype=float)

    @property
    def mean(self) -> float:
        return float(self.scores.mean()) if self.folds else float("nan")

    @property
    def std(self) -> float:
        return float(self.scores.std()) if self.folds else float("nan")

    @property
    def best_epochs(self) -> list[int]:
        return [f.fit.best_epoch for f in self.folds]


FoldHook = Callable[[FoldResult, "CVResult"], bool]
EpochHook = Callable[[int, int, dict[str, float]], bool]


def cross_validate(
    spec: ModelSpec,
    backend: BaseBackend,
    X: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    metric: Metric,
    *,
    seed: int = 0,
    on_epoch: EpochHook | None = None,
    on_fold: FoldHook | None = None,
) -> CVResult:
    """Train and score a fresh model on each ``(train_idx, valid_idx)`` split.

    ``on_epoch(fold, epoch, logs)`` runs after every epoch and ``on_fold(fold_result, cv)``
    after every fold, including a fold cut short by ``on_epoch`` (``fit.stopped_by_callback``);
    when either returns True the evaluation stops and ``stopped`` is set.
    """
    result = CVResult()
    for fold, (train_idx, valid_idx) in enumerate(splits):
        start = time.perf_counter()
        backend.seed(seed + fold)
        model = backend.build(spec)
        epoch_hook = None if on_epoch is None else (lambda e, logs, k=fold: on_epoch(k, e, logs))
        fit = backend.fit(
            model, spec, X[train_idx], y[train_idx], validation=(X[valid_idx], y[valid_idx]), on_epoch=epoch_hook
        )
        output = backend.predict(model, X[valid_idx])
        scores = all_scores(y[valid_idx], output, metric.objective)
        result.folds.append(FoldResult(fold, scores[metric.name], scores, fit, time.perf_counter() - start))
        stop_requested = on_fold is not None and on_fold(result.folds[-1], result)  # called for logging too
        if fit.stopped_by_callback or stop_requested:
            result.stopped = True
            break
    return result
