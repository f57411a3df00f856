"""Scores from scikit-learn, by name, with the direction Optuna optimizes them in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from automl.errors import ConfigError, unknown


@dataclass(frozen=True)
class Metric:
    """A score of predictions: ``fn(y_true, output)`` where output is probabilities or values."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    direction: str  # "maximize" | "minimize"
    objective: str  # "classification" | "regression"


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.asarray(proba).argmax(axis=1)


CLASSIFICATION = {
    "accuracy": Metric("accuracy", lambda y, p: skm.accuracy_score(y, _labels(p)), "maximize", "classification"),
    "log_loss": Metric(
        "log_loss", lambda y, p: skm.log_loss(y, p, labels=np.arange(p.shape[1])), "minimize", "classification"
    ),
}
REGRESSION = {
    "rmse": Metric("rmse", lambda y, p: skm.root_mean_squared_error(y, p), "minimize", "regression"),
}
METRICS = {**CLASSIFICATION, **REGRESSION}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}


def get_metric(name: str | None, objective: str) -> Metric:
    """The metric ``name`` (or the default for ``objective``), checked against the objective."""
    name = name or DEFAULT_METRIC[objective]
    allowed = CLASSIFICATION if objective == "classification" else REGRESSION
    if name not in allowed:
        raise ConfigError(f"{unknown('metric', name, allowed)} (metrics for {objective})")
    return allowed[name]


def all_scores(y: np.ndarray, output: np.ndarray, objective: str) -> dict[str, float]:
    """Every metric of ``objective`` for one set of predictions (logged per fold)."""
    metrics = CLASSIFICATION if objective == "classification" else REGRESSION
    return {name: float(metric.fn(y, output)) for name, metric in metrics.items()}
