"""Metrics by name, with their direction and objective."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from automl.errors import ConfigError
from automl.trial.metrics import (
    CLASSIFICATION,
    DEFAULT_METRIC,
    METRICS,
    REGRESSION,
    all_scores,
    get_metric,
    positive_index,
)

PROBA = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
LABELS = np.array([0, 1, 2, 1])
BINARY_ONLY = ("precision", "recall", "f1", "average_precision")
MULTICLASS = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "f1_weighted",
    "precision_macro",
    "recall_macro",
    "log_loss",
    "roc_auc",
)
# A binary fold: class 1's probability, and labels with 2 of 3 positives found and 1 false alarm.
P1 = np.array([0.9, 0.8, 0.3, 0.6, 0.2, 0.1])
Y2 = np.array([1, 1, 1, 0, 0, 0])
PROBA2 = np.stack([1 - P1, P1], axis=1)


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
        ("f1_weighted", "maximize", "classification"),
        ("precision_macro", "maximize", "classification"),
        ("recall_macro", "maximize", "classification"),
        ("precision", "maximize", "classification"),
        ("recall", "maximize", "classification"),
        ("f1", "maximize", "classification"),
        ("average_precision", "maximize", "classification"),
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
        and "allowed: accuracy, balanced_accuracy, f1_macro, f1_weighted, precision_macro, recall_macro, log_loss, "
        "roc_auc, precision, recall, f1, average_precision."
        in message
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
    scores = all_scores(LABELS, PROBA, get_metric(None, "classification", classes=[0, 1, 2]))
    assert set(scores) == set(MULTICLASS)
    assert all(isinstance(v, float) for v in scores.values())
    assert scores["accuracy"] == pytest.approx(0.75)
    rmse = get_metric(None, "regression")
    assert all_scores(np.array([1.0, 2.0]), np.array([1.0, 2.0]), rmse) == {"rmse": 0.0, "mae": 0.0, "r2": 1.0}


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


def test_averaged_metrics_match_scikit_learn() -> None:
    from sklearn import metrics as skm

    predicted = PROBA.argmax(axis=1)
    expected = {
        "f1_weighted": skm.f1_score(LABELS, predicted, average="weighted"),
        "precision_macro": skm.precision_score(LABELS, predicted, average="macro", zero_division=0),
        "recall_macro": skm.recall_score(LABELS, predicted, average="macro"),
    }
    for name, value in expected.items():
        assert get_metric(name, "classification").fn(LABELS, PROBA) == pytest.approx(value), name


@pytest.mark.parametrize("positive", [1, 0])
def test_binary_metrics_match_scikit_learn(positive: int) -> None:
    from sklearn import metrics as skm

    predicted = PROBA2.argmax(axis=1)
    expected = {
        "precision": skm.precision_score(Y2, predicted, pos_label=positive),
        "recall": skm.recall_score(Y2, predicted, pos_label=positive),
        "f1": skm.f1_score(Y2, predicted, pos_label=positive),
        "average_precision": skm.average_precision_score(Y2 == positive, PROBA2[:, positive]),
    }
    classes = ["no", "yes"]
    for name, value in expected.items():
        metric = get_metric(name, "classification", classes=classes, positive_label=classes[positive])
        assert metric.positive == positive
        assert metric.fn(Y2, PROBA2) == pytest.approx(value), name
    assert get_metric("precision", "classification", classes=classes).fn(Y2, PROBA2) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("classes", "positive"),
    [
        ([0, 1], 1),
        ([False, True], 1),
        (["no", "yes"], 1),
        (["Yes", "no"], 0),  # obvious in any case, whatever the index order
        (["POSITIVE", "negative"], 0),
        (["neg", "pos"], 1),
        (["1", "0"], 0),
        (["true", "false"], 0),
        ([1.0, 0.0], 0),
        (["cat", "ant"], 0),  # no obvious pair: the greater label, as scikit-learn
        ([3, 7], 1),
        (["benign", "malignant"], 1),
    ],
)
def test_the_positive_class_by_default(classes: list, positive: int) -> None:
    assert positive_index("classification", classes) == positive
    assert get_metric("recall", "classification", classes=classes).positive == positive


def test_positive_label_picks_the_class() -> None:
    assert positive_index("classification", ["no", "yes"], "no") == 0
    assert positive_index("classification", ["No", "Yes"], "no") == 0  # any case, when unambiguous
    assert positive_index("classification", [0, 1], "0") == 0  # the CLI gives a string
    assert positive_index("classification", [False, True], "false") == 0
    assert positive_index("classification", [0, 1, 2]) is None
    assert positive_index("regression", None) is None


def test_positive_label_errors() -> None:
    with pytest.raises(ConfigError, match=r"^positive_label 'maybe' is not a class of the target; allowed: no, yes$"):
        get_metric("f1", "classification", classes=["no", "yes"], positive_label="maybe")
    with pytest.raises(ConfigError, match=r"^positive_label 'cat' is for a binary target; this target has 3 classes$"):
        get_metric(None, "classification", classes=["ant", "bee", "cat"], positive_label="cat")
    with pytest.raises(ConfigError, match=r"^positive_label '1' is for a binary target; this target has a regression"):
        get_metric(None, "regression", positive_label="1")


@pytest.mark.parametrize(
    ("name", "alternative"),
    [
        ("precision", "precision_macro"),
        ("recall", "recall_macro"),
        ("f1", "f1_macro"),
        ("average_precision", "roc_auc"),
    ],
)
def test_binary_metrics_are_rejected_for_several_classes(name: str, alternative: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_metric(name, "classification", classes=list(range(10)))
    message = str(info.value)
    assert message.startswith(f"'{name}' is the positive class's ") and "for a binary target" in message
    assert message.endswith(f"this target has 10 classes: use {alternative}")


def test_recall_message() -> None:
    with pytest.raises(ConfigError) as info:
        get_metric("recall", "classification", classes=list(range(10)))
    assert str(info.value) == (
        "'recall' is the positive class's recall, for a binary target; this target has 10 classes: use recall_macro"
    )


def test_a_metric_keeps_its_identity_without_classes_and_carries_the_positive_class_with_them() -> None:
    assert get_metric("accuracy", "classification", classes=[0, 1, 2]) is METRICS["accuracy"]
    accuracy = get_metric("accuracy", "classification", classes=["yes", "no"])
    assert accuracy.positive == 0 and accuracy.fn is METRICS["accuracy"].fn


def test_all_scores_of_a_binary_target_use_the_positive_class() -> None:
    metric = get_metric("accuracy", "classification", classes=["pos", "neg"])  # class 0 is positive
    scores = all_scores(Y2, PROBA2, metric)
    assert set(scores) == set(MULTICLASS) | set(BINARY_ONLY)
    flipped = get_metric("recall", "classification", classes=["no", "yes"], positive_label="no")
    assert scores["recall"] == pytest.approx(flipped.fn(Y2, PROBA2)) == pytest.approx(2 / 3)
    assert all_scores(Y2, PROBA2, get_metric(None, "classification"))["precision"] == pytest.approx(2 / 3)


def test_new_metrics_do_not_warn_on_degenerate_folds() -> None:
    single_class = np.zeros(4, dtype=np.int64)  # no positive row, none predicted
    proba = np.tile([0.9, 0.1], (4, 1))
    names = (*BINARY_ONLY, "precision_macro", "recall_macro", "f1_weighted")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = {name: get_metric(name, "classification", classes=[0, 1]).fn(single_class, proba) for name in names}
        macro = get_metric("precision_macro", "classification").fn(LABELS, np.tile([1.0, 0.0, 0.0], (4, 1)))
    assert scores["precision"] == scores["recall"] == scores["f1"] == 0.0
    assert np.isnan(scores["average_precision"])
    assert scores["precision_macro"] == scores["recall_macro"] == 0.5  # class 0 right, class 1 absent: 0
    assert macro == pytest.approx(0.25 / 3)  # classes 1 and 2 are never predicted: 0, not a warning
