"""Cross-validation folds of raw data: preprocessing fitted on training rows only, groups, regression targets."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from automl.backends import get_backend
from automl.data import Dataset, load_dataset
from automl.data.tabular import TabularPreprocessor, tabular_dataset
from automl.model.architectures import build_spec
from automl.trial.cv import Folds, cross_validate, make_splits, make_splitter
from automl.trial.metrics import get_metric


def table(n: int = 40, regression: bool = False, groups: bool = False) -> Dataset:
    rng = np.random.default_rng(1)
    features = pd.DataFrame({"x": rng.normal(5.0, 3.0, n), "c": rng.choice(["a", "b", "c"], n)})
    target = pd.Series(rng.normal(100, 20, n) if regression else np.tile(["yes", "no"], n // 2), name="t")
    group_values = np.repeat([f"g{i}" for i in range(n // 4)], 4) if groups else None
    return tabular_dataset(features, target, name="t", groups=group_values)


def test_each_fold_is_preprocessed_on_its_training_rows_only() -> None:
    data = table()
    splits = make_splits(data, 4, seed=0)
    folds = Folds(data, splits)
    for k, (train_idx, valid_idx) in enumerate(splits):
        fold = folds[k]
        expected = TabularPreprocessor(["x"], ["c"]).fit(data.X.iloc[train_idx])
        np.testing.assert_allclose(fold.X_train, expected.transform(data.X.iloc[train_idx]), rtol=1e-6)
        np.testing.assert_allclose(fold.X_valid, expected.transform(data.X.iloc[valid_idx]), rtol=1e-6)
        assert fold.X_train[:, 0].mean() == pytest.approx(0.0, abs=1e-6)  # scaled with the training rows' mean
        assert abs(fold.X_valid[:, 0].mean()) > 1e-3  # ... which is not the validation rows' mean
        np.testing.assert_array_equal(fold.y_valid, data.y[valid_idx])
        assert fold.target is None


def test_folds_are_computed_once_and_not_pickled() -> None:
    folds = Folds(table(), make_splits(table(), 2, seed=0))
    assert folds[1] is folds[1] and len(folds) == 2
    copy = pickle.loads(pickle.dumps(folds))
    assert copy._cache == {} and copy[0].X_train.shape == folds[0].X_train.shape


def test_regression_targets_are_standardised_per_fold() -> None:
    data = table(regression=True)
    assert data.problem_type == "regression" and data.y.dtype == np.float32
    splits = make_splits(data, 4, seed=0)
    assert isinstance(make_splitter("regression", 4, 0), KFold)
    fold = Folds(data, splits)[0]
    train_idx, valid_idx = splits[0]
    assert fold.y_train.mean() == pytest.approx(0.0, abs=1e-5) and fold.y_train.std() == pytest.approx(1.0, abs=1e-5)
    assert fold.target.mean == pytest.approx(float(data.y[train_idx].mean()), rel=1e-6)
    np.testing.assert_allclose(fold.target.inverse(fold.y_valid), data.y[valid_idx], rtol=1e-5)
    np.testing.assert_array_equal(fold.y_valid_raw, data.y[valid_idx])


@pytest.mark.parametrize("regression", [False, True])
def test_groups_never_straddle_a_split(regression: bool) -> None:
    data = table(regression=regression, groups=True)
    splits = make_splits(data, 5, seed=0)
    assert len(splits) == 5
    for train_idx, valid_idx in splits:
        assert not set(data.groups[train_idx]) & set(data.groups[valid_idx])
    assert sorted(np.concatenate([v for _, v in splits]).tolist()) == list(range(40))


def test_cross_validated_regression_is_scored_in_the_targets_units() -> None:
    data = load_dataset("tabular", "builtin:diabetes", n_splits=2)
    shapes: list[tuple[int, ...]] = []
    config = {
        "architecture": {"family": "mlp", "layer": [{"units": 16}]},
        "optimizer": {"name": "adam", "learning_rate": 1e-2},
        "training": {"batch_size": 32, "epochs": 3},
    }

    def build(input_shape: tuple[int, ...]):  # noqa: ANN202
        shapes.append(input_shape)
        return build_spec(config, input_shape=input_shape, n_outputs=1, problem_type="regression")

    cv = cross_validate(
        build, get_backend("keras"), Folds(data, make_splits(data, 2, seed=0)), get_metric(None, "regression")
    )
    assert shapes == [(10,), (10,)]
    assert {"rmse", "mae", "r2"} <= set(cv.folds[0].scores)
    # Targets are 25..346 (std 77): trained on standardised targets, 3 epochs already beat predicting the mean.
    assert 30.0 < cv.mean < 0.9 * float(data.y.std())
    assert cv.folds[0].fit.history["val_mae"][-1] > 10.0  # logged curves are in the target's units too


@pytest.mark.parametrize("metric_name", ["f1_macro", "log_loss", "balanced_accuracy"])
def test_every_metric_is_scored_each_epoch_of_the_first_fold(metric_name: str) -> None:
    """The pruner sees the optimized metric per epoch whatever it is, not only accuracy and mae."""
    from automl.backends import get_backend
    from automl.model import build_spec
    from automl.trial.metrics import get_metric

    data = load_dataset("image", None, n_splits=3)
    folds = Folds(data, make_splits(data, 3, 0))
    config = {
        "architecture": {"family": "mlp", "layer": [{"units": 16}]},
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "training": {"epochs": 3, "batch_size": 64},
    }
    seen: list[tuple[int, int, float]] = []

    def on_epoch(fold: int, epoch: int, logs: dict[str, float]) -> bool:
        if f"val_{metric_name}" in logs:
            seen.append((fold, epoch, logs[f"val_{metric_name}"]))
        return False

    metric = get_metric(metric_name, "classification")
    spec = lambda shape: build_spec(config, input_shape=shape, n_outputs=10, problem_type="classification")  # noqa: E731
    result = cross_validate(spec, get_backend("keras"), folds, metric, on_epoch=on_epoch)
    assert [(f, e) for f, e, _ in seen] == [(0, 0), (0, 1), (0, 2)]  # the first fold, every epoch
    assert seen[-1][2] == pytest.approx(result.folds[0].score, abs=1e-6)  # the last epoch is the fold's model
