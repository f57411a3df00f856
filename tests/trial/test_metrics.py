"""Metrics by name, with their direction and objective."""

from __future__ import annotations

import numpy as np
import pytest

from automl.errors import ConfigError
from automl.trial.metrics import CLASSIFICATION, DEFAULT_METRIC, METRICS, REGRESSION, all_scores, get_metric

PROBA = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
LABELS = np.array([0, 1, 2, 1])


def test_defaults_per_objective() -> None:
    assert get_metric(None, "classification").name == DEFAULT_METRIC["classification"] == "accuracy"
    assert get_metric(None, "regression").name == DEFAULT_METRIC["regression"] == "rmse"


@pytest.mark.parametrize(
    ("name", "direction", "objective"),
    [
        ("accuracy", "maximize", "classification"),
        ("balanced_accuracy", "maximize", "classification"),
        ("f1_macro", "maximize", "classification"),
        ("log_loss", "minimize", "classification"),
        ("roc_auc", "maximize", "classification"),
        ("rmse", "minimize", "regression"),
        ("mae", "minimize", "regression"),
        ("r2", "maximize", "regression"),
    ],
)
def test_direction_and_objective(name: str, direction: str, objective: str) -> None:
    metric = get_metric(name, objective)
    assert (metric.name, metric.direction, metric.problem_type) == (name, direction, objective)
    assert METRICS[name] is metric


def test_registries_agree() -> None:
    assert set(METRICS) == set(CLASSIFICATION) | set(REGRESSION)
    assert all(m.problem_type == "classification" for m in CLASSIFICATION.values())
    assert all(m.problem_type == "regression" for m in REGRESSION.values())


def test_unknown_metric_suggests() -> None:
    with pytest.raises(ConfigError) as info:
        get_metric("accuray", "classification")
    message = str(info.value)
    assert (
        "unknown metric 'accuray'" in message
        and "allowed: accuracy, balanced_accuracy, f1_macro, log_loss, roc_auc" in message
    )
    assert "Did you mean 'accuracy'?" in message and "(metrics for classification)" in message


def test_metric_of_the_other_objective_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"unknown metric 'rmse'; allowed: accuracy, balanced_accuracy"):
        get_metric("rmse", "classification")
    with pytest.raises(ConfigError, match=r"metrics for regression"):
        get_metric("accuracy", "regression")


def test_accuracy_uses_argmax() -> None:
    assert get_metric("accuracy", "classification").fn(LABELS, PROBA) == pytest.approx(0.75)


def test_log_loss_matches_definition() -> None:
    expected = -np.mean(np.log(PROBA[np.arange(4), LABELS]))
    assert get_metric("log_loss", "classification").fn(LABELS, PROBA) == pytest.approx(expected)


def test_log_loss_with_a_class_missing_from_the_fold() -> None:
    y = np.array([0, 1, 0, 1])  # class 2 absent: the probability columns still define the labels
    value = get_metric("log_loss", "classification").fn(y, PROBA)
    expected = -np.mean(np.log(PROBA[np.arange(4), y]))
    assert value == pytest.approx(expected)


def test_rmse_with_column_output() -> None:
    y = np.array([0.0, 1.0, 2.0])
    out = np.array([[0.0], [1.0], [4.0]])
    assert get_metric("rmse", "regression").fn(y, out) == pytest.approx(np.sqrt(4 / 3))


def test_all_scores() -> None:
    scores = all_scores(LABELS, PROBA, "classification")
    assert set(scores) == {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"}
    assert all(isinstance(v, float) for v in scores.values())
    assert scores["accuracy"] == pytest.approx(0.75)
    assert all_scores(np.array([1.0, 2.0]), np.array([1.0, 2.0]), "regression") == {"rmse": 0.0, "mae": 0.0, "r2": 1.0}


def test_classification_metrics_match_scikit_learn() -> None:
    from sklearn import metrics as skm

    predicted = PROBA.argmax(axis=1)
    assert get_metric("balanced_accuracy", "classification").fn(LABELS, PROBA) == pytest.approx(
        skm.balanced_accuracy_score(LABELS, predicted)
    )
    assert get_metric("f1_macro", "classification").fn(LABELS, PROBA) == pytest.approx(
        skm.f1_score(LABELS, predicted, average="macro")
    )
    assert get_metric("roc_auc", "classification").fn(LABELS, PROBA) == pytest.approx(
        skm.roc_auc_score(LABELS, PROBA, multi_class="ovr")
    )


def test_roc_auc_binary_uses_the_positive_column() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.4, 0.6], [0.2, 0.8]])  # one of 4 pairs misordered
    assert get_metric("roc_auc", "classification").fn(y, proba) == pytest.approx(0.75)


def test_roc_auc_is_nan_for_a_single_class_fold() -> None:
    assert np.isnan(get_metric("roc_auc", "classification").fn(np.array([1, 1]), PROBA[:2]))


def test_regression_metrics_match_definitions() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    out = np.array([[1.5], [2.0], [2.0], [5.0]])
    errors = out.ravel() - y
    assert get_metric("mae", "regression").fn(y, out) == pytest.approx(np.abs(errors).mean())
    expected_r2 = 1 - (errors**2).sum() / ((y - y.mean()) ** 2).sum()
    assert get_metric("r2", "regression").fn(y, out) == pytest.approx(expected_r2)


def test_roc_auc_with_a_class_missing_from_the_fold() -> None:
    y = np.array([0, 2, 0, 2])  # class 1 absent: AUC of class 2 against class 0
    value = get_metric("roc_auc", "classification").fn(y, PROBA)
    # class-2 scores renormalised over classes {0, 2}: 1/9 and 4/7 (class 0) vs 1/3 and 1/7 (class 2)
    assert value == pytest.approx(0.5)
