"""Scores from scikit-learn, by name, with the direction Optuna optimizes them in.

``precision``, ``recall``, ``f1`` and ``average_precision`` score the positive class of a binary
target: the ``positive`` class index the ``Metric`` carries (see ``positive_index``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from sklearn import metrics as skm

from automl.errors import ConfigError, unknown

DEFAULT_POSITIVE = 1  # the positive class index when the classes are not known: scikit-learn's pos_label=1
# Two labels whose positive one is obvious (compared as ``_canonical`` forms): the second of the pair.
OBVIOUS_PAIRS = (("0", "1"), ("false", "true"), ("no", "yes"), ("negative", "positive"), ("neg", "pos"))


@dataclass(frozen=True)
class Metric:
    """A score of predictions: ``fn(y_true, output)`` where output is probabilities or values.

    ``positive`` is the positive class index of a binary target (None for other targets, and when
    the classes are unknown); the binary-only metrics' ``fn`` scores that class.
    """

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    direction: str  # "maximize" | "minimize"
    problem_type: str  # "classification" | "regression"
    positive: int | None = None


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


def _averaged(score: Callable[..., float], average: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """``score`` (precision, recall or F1) of the predicted labels, averaged over every class of the
    output (a class absent from the fold and never predicted counts as 0)."""

    def fn(y: np.ndarray, proba: np.ndarray) -> float:
        labels = np.arange(np.asarray(proba).shape[1])
        return score(y, _labels(proba), average=average, labels=labels, zero_division=0)

    return fn


def _positive_score(score: Callable[..., float], y: np.ndarray, proba: np.ndarray, positive: int) -> float:
    """``score`` (precision, recall or F1) of the ``positive`` class index (0 where undefined)."""
    return score(np.asarray(y) == positive, _labels(proba) == positive, zero_division=0)


def _average_precision(y: np.ndarray, proba: np.ndarray, positive: int) -> float:
    """Average precision of the ``positive`` class's probability; NaN for a fold of a single class."""
    if len(np.unique(y)) < 2:
        return float("nan")
    return skm.average_precision_score(np.asarray(y) == positive, np.asarray(proba)[:, positive])


BinaryScore = Callable[[np.ndarray, np.ndarray, int], float]  # (y_true, probabilities, positive index)
# The binary-only metrics: their score, and the metric to use on more than two classes.
BINARY: dict[str, tuple[BinaryScore, str]] = {
    "precision": (partial(_positive_score, skm.precision_score), "precision_macro"),
    "recall": (partial(_positive_score, skm.recall_score), "recall_macro"),
    "f1": (partial(_positive_score, skm.f1_score), "f1_macro"),
    "average_precision": (_average_precision, "roc_auc"),
}


def _classification(name: str, fn: Callable[[np.ndarray, np.ndarray], float], direction: str) -> Metric:
    return Metric(name, fn, direction, "classification")


def _binary(name: str, positive: int) -> Metric:
    """The binary-only metric ``name`` of the ``positive`` class index."""
    score = BINARY[name][0]
    return Metric(name, lambda y, p: score(y, p, positive), "maximize", "classification", positive)


def _regression(name: str, fn: Callable[[np.ndarray, np.ndarray], float], direction: str) -> Metric:
    return Metric(name, lambda y, out: fn(y, _values(out)), direction, "regression")


CLASSIFICATION = {
    m.name: m
    for m in (
        _classification("accuracy", lambda y, p: skm.accuracy_score(y, _labels(p)), "maximize"),
        _classification("balanced_accuracy", lambda y, p: skm.balanced_accuracy_score(y, _labels(p)), "maximize"),
        _classification("f1_macro", _averaged(skm.f1_score, "macro"), "maximize"),
        _classification("f1_weighted", _averaged(skm.f1_score, "weighted"), "maximize"),
        _classification("precision_macro", _averaged(skm.precision_score, "macro"), "maximize"),
        _classification("recall_macro", _averaged(skm.recall_score, "macro"), "maximize"),
        _classification("log_loss", lambda y, p: skm.log_loss(y, p, labels=np.arange(p.shape[1])), "minimize"),
        _classification("roc_auc", _roc_auc, "maximize"),
        *(_binary(name, DEFAULT_POSITIVE) for name in BINARY),
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


def _canonical(label: Any) -> str:
    """A label as compared with ``positive_label`` and ``OBVIOUS_PAIRS``: 1, 1.0, '1' alike, any case."""
    text = str(label).strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def positive_index(problem_type: str, classes: Sequence[Any] | None, positive_label: str | None = None) -> int | None:
    """The index in ``classes`` of a binary target's positive class; None for other targets.

    ``positive_label`` when given; else the second label of an obvious pair (0/1, false/true,
    no/yes, negative/positive, neg/pos, in any case); else the greater label (scikit-learn's
    convention). A ``positive_label`` that is not a class, or for a non-binary target, is a
    ``ConfigError``.
    """
    if problem_type != "classification" or classes is None or len(classes) != 2:
        if positive_label is not None:
            found = "a regression target" if problem_type == "regression" else f"{_count(classes)} classes"
            raise ConfigError(f"positive_label {positive_label!r} is for a binary target; this target has {found}")
        return None
    if positive_label is not None:
        matches = [i for i, label in enumerate(classes) if str(label) == str(positive_label)] or [
            i for i, label in enumerate(classes) if _canonical(label) == _canonical(positive_label)
        ]
        if len(matches) != 1:
            allowed = ", ".join(str(label) for label in classes)
            raise ConfigError(f"positive_label {positive_label!r} is not a class of the target; allowed: {allowed}")
        return matches[0]
    canonical = [_canonical(label) for label in classes]
    for negative, positive in OBVIOUS_PAIRS:
        if set(canonical) == {negative, positive}:
            return canonical.index(positive)
    return max((0, 1), key=lambda i: classes[i])


def _count(classes: Sequence[Any] | None) -> str:
    return "an unknown number of" if classes is None else str(len(classes))


def get_metric(
    name: str | None,
    problem_type: str,
    *,
    classes: Sequence[Any] | None = None,
    positive_label: str | None = None,
) -> Metric:
    """The metric ``name`` (or the default for ``problem_type``), checked against the problem_type
    and, when given, the target's ``classes`` (original labels in index order).

    For a binary target the metric carries the index of the positive class (``positive_index``);
    a binary-only metric on more classes is a ``ConfigError`` naming the metric to use instead.
    """
    name = name or DEFAULT_METRIC[problem_type]
    allowed = CLASSIFICATION if problem_type == "classification" else REGRESSION
    if name not in allowed:
        raise ConfigError(f"{unknown('metric', name, allowed)} (metrics for {problem_type})")
    positive = positive_index(problem_type, classes, positive_label)
    if name in BINARY and classes is not None and len(classes) > 2:
        raise ConfigError(
            f"{name!r} is the positive class's {name.replace('_', ' ')}, for a binary target; this target has "
            f"{len(classes)} classes: use {BINARY[name][1]}"
        )
    if positive is None:
        return allowed[name]
    return _binary(name, positive) if name in BINARY else replace(allowed[name], positive=positive)


def all_scores(y: np.ndarray, output: np.ndarray, metric: Metric) -> dict[str, float]:
    """Every metric that applies to ``output`` (logged per fold): those of ``metric``'s problem type,
    the binary-only ones for two classes only, of ``metric``'s positive class."""
    if metric.problem_type == "regression":
        return {name: float(each.fn(y, output)) for name, each in REGRESSION.items()}
    binary = np.asarray(output).shape[1] == 2
    positive = DEFAULT_POSITIVE if metric.positive is None else metric.positive
    return {
        name: float((_binary(name, positive) if name in BINARY else each).fn(y, output))
        for name, each in CLASSIFICATION.items()
        if binary or name not in BINARY
    }
