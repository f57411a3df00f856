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
    problem_type: str  # "classification" | "regression"


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.asarray(proba).argmax(axis=1)


def _values(output: np.ndarray) -> np.ndarray:
    return np.asarray(output).reshape(len(output))


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Binary AUC of the positive class; one-vs-rest macro AUC for several classes.

    NaN when the fold's labels hold a single class (AUC is undefined there).
    """
    proba = np.asarray(proba)
    if len(np.unique(y)) < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1])
    present = np.unique(y)
    if len(present) == proba.shape[1]:
        return skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    # A class absent from the fold: AUC over the classes it holds, their probabilities renormalised.
    sub = proba[:, present] / np.clip(proba[:, present].sum(axis=1, keepdims=True), 1e-12, None)
    if len(present) == 2:
        return skm.roc_auc_score(y == present[1], sub[:, 1])
    return skm.roc_auc_score(y, sub, multi_class="ovr", average="macro", labels=present)


def _classification(name: str, fn: Callable[[np.ndarray, np.ndarray], float], direction: str) -> Metric:
    return Metric(name, fn, direction, "classification")


def _regression(name: str, fn: Callable[[np.ndarray, np.ndarray], float], direction: str) -> Metric:
    return Metric(name, lambda y, out: fn(y, _values(out)), direction, "regression")


CLASSIFICATION = {
    m.name: m
    for m in (
        _classification("accuracy", lambda y, p: skm.accuracy_score(y, _labels(p)), "maximize"),
        _classification("balanced_accuracy", lambda y, p: skm.balanced_accuracy_score(y, _labels(p)), "maximize"),
        _classification(
            "f1_macro",
            lambda y, p: skm.f1_score(y, _labels(p), average="macro", labels=np.arange(p.shape[1]), zero_division=0),
            "maximize",
        ),
        _classification("log_loss", lambda y, p: skm.log_loss(y, p, labels=np.arange(p.shape[1])), "minimize"),
        _classification("roc_auc", _roc_auc, "maximize"),
    )
}
REGRESSION = {
    m.name: m
    for m in (
        _regression("rmse", skm.root_mean_squared_error, "minimize"),
        _regression("mae", skm.mean_absolute_error, "minimize"),
        _regression("r2", skm.r2_score, "maximize"),
    )
}
METRICS = {**CLASSIFICATION, **REGRESSION}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}


def get_metric(name: str | None, problem_type: str) -> Metric:
    """The metric ``name`` (or the default for ``problem_type``), checked against the problem_type."""
    name = name or DEFAULT_METRIC[problem_type]
    allowed = CLASSIFICATION if problem_type == "classification" else REGRESSION
    if name not in allowed:
        raise ConfigError(f"{unknown('metric', name, allowed)} (metrics for {problem_type})")
    return allowed[name]


def all_scores(y: np.ndarray, output: np.ndarray, problem_type: str) -> dict[str, float]:
    """Every metric of ``problem_type`` for one set of predictions (logged per fold)."""
    metrics = CLASSIFICATION if problem_type == "classification" else REGRESSION
    return {name: float(metric.fn(y, output)) for name, metric in metrics.items()}
