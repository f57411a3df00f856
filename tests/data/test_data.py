"""Loading task data: the built-in digits, arrays, .npz files, and the errors for unusable data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from automl.data import Dataset, load_dataset
from automl.errors import DataError


def arrays(n_per_class: int = 5, classes: tuple = (0, 1, 2), shape: tuple[int, ...] = (4,)) -> tuple:
    rng = np.random.default_rng(0)
    y = np.repeat(np.array(classes), n_per_class)
    X = rng.random((len(y), *shape))
    return X, y


def test_builtin_image_is_digits() -> None:
    data = load_dataset("image")
    assert isinstance(data, Dataset)
    assert data.name == "digits" and data.task == "image" and data.problem_type == "classification"
    assert data.X.shape == (1797, 8, 8, 1) and data.X.dtype == np.float32
    assert data.input_shape == (8, 8, 1)
    assert 0.0 <= data.X.min() and data.X.max() <= 1.0
    assert data.classes == list(range(10)) and data.n_outputs == 10
    assert data.y.dtype == np.int64 and set(np.unique(data.y)) == set(range(10))


def test_summary_is_json_safe() -> None:
    summary = load_dataset("image").summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["n_samples"] == 1797 and summary["input_shape"] == [8, 8, 1]
    assert sum(summary["classes"].values()) == 1797 and set(summary["classes"]) == {str(i) for i in range(10)}


@pytest.mark.parametrize(
    ("task", "name", "objective"),
    [("tabular", "breast_cancer", "classification"), ("text", "stdlib-docs", "classification")],
)
def test_every_task_has_builtin_data(task: str, name: str, objective: str) -> None:
    data = load_dataset(task)
    assert data.name == name and data.task == task and data.problem_type == objective
    assert data.make_preprocessor is not None  # raw rows, preprocessed per fold


@pytest.mark.parametrize(
    ("data", "name", "objective", "n_outputs"),
    [("builtin:diabetes", "diabetes", "regression", 1), ("builtin:digits", "digits", "classification", 10)],
)
def test_named_builtin_tables(data: str, name: str, objective: str, n_outputs: int) -> None:
    dataset = load_dataset("tabular", data)
    assert (dataset.name, dataset.problem_type, dataset.n_outputs) == (name, objective, n_outputs)
    assert dataset.y.dtype == (np.float32 if objective == "regression" else np.int64)


def test_unknown_builtin_name() -> None:
    with pytest.raises(DataError) as info:
        load_dataset("tabular", "builtin:diabets")
    assert "unknown built-in tabular data set 'diabets'" in str(info.value)
    assert "builtin:diabetes" in str(info.value)


def test_unknown_task() -> None:
    with pytest.raises(DataError) as info:
        load_dataset("imgae")
    assert "unknown task 'imgae'" in str(info.value) and "allowed: image, text, tabular" in str(info.value)
    assert "Did you mean 'image'?" in str(info.value)


def test_arrays_with_string_labels() -> None:
    X, _ = arrays()
    y = np.array(["cat", "dog", "ant"] * 5)
    data = load_dataset("tabular", (X, y))
    assert data.name == "arrays" and data.classes == ["ant", "cat", "dog"]
    assert data.y.tolist() == [1, 2, 0] * 5
    assert data.input_shape == (4,)  # raw rows; each fold standardises them
    assert data.summary()["classes"] == {"ant": 5, "cat": 5, "dog": 5}


def test_arrays_as_a_list_pair() -> None:
    X, y = arrays()
    data = load_dataset("tabular", [X.tolist(), y.tolist()])
    assert data.X.shape == (15, 4) and data.n_outputs == 3


def test_grey_images_get_a_channel_axis() -> None:
    X, y = arrays(shape=(6, 6))
    assert load_dataset("image", (X, y)).X.shape == (15, 6, 6, 1)
    with pytest.raises(DataError, match=r"tabular X must be 2-D \(rows, columns\), got shape \(15, 6, 6\)"):
        load_dataset("tabular", (X, y))  # only image data takes images


def test_npz_file(tmp_path: Path) -> None:
    X, y = arrays(shape=(5, 5, 3))
    path = tmp_path / "pics.npz"
    np.savez(path, x=X, y=y)
    data = load_dataset("image", path)
    assert data.name == "pics" and data.X.shape == (15, 5, 5, 3)
    np.testing.assert_allclose(data.X, X.astype(np.float32))
    assert load_dataset("image", str(path)).X.shape == (15, 5, 5, 3)


@pytest.mark.parametrize(("keys", "missing"), [(("x",), "['y']"), (("y",), "['x']"), (("X", "Y"), "['x', 'y']")])
def test_npz_without_x_or_y(tmp_path: Path, keys: tuple[str, ...], missing: str) -> None:
    X, y = arrays()
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: (X if k.lower() == "x" else y) for k in keys})
    with pytest.raises(DataError) as info:
        load_dataset("tabular", path)
    message = str(info.value)
    assert str(path) in message and "an .npz needs arrays 'x' and 'y'" in message and f"missing {missing}" in message


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.npz"
    with pytest.raises(DataError, match="no such file or folder"):
        load_dataset("image", path)


def test_unsupported_file(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}")
    with pytest.raises(DataError, match="unsupported data for task 'tabular'; expected a .csv file"):
        load_dataset("tabular", path)


def test_options_that_do_not_apply(tmp_path: Path) -> None:
    X, y = arrays()
    path = tmp_path / "pics.npz"
    np.savez(path, x=X, y=y)
    with pytest.raises(DataError, match="--target, --groups does not apply to npz data"):
        load_dataset("tabular", path, target="y", groups="g")


def test_unsupported_data_argument() -> None:
    with pytest.raises(DataError, match="data must be None, an \\(X, y\\) pair or a path; got int"):
        load_dataset("image", 5)


def test_single_class() -> None:
    X, y = arrays(classes=(7,))
    with pytest.raises(DataError, match=r"only one class \(7\); classification needs at least two"):
        load_dataset("tabular", (X, y))


def test_class_with_fewer_examples_than_folds() -> None:
    X, y = arrays(n_per_class=5)
    y[-2:] = 9  # class 9 has 2 examples
    with pytest.raises(DataError) as info:
        load_dataset("tabular", (X, y), n_splits=3)
    message = str(info.value)
    assert "class 9 has 2 example(s), fewer than n_splits=3" in message and "--n-splits" in message
    assert load_dataset("tabular", (X, y), n_splits=2).n_outputs == 4


def test_every_class_needs_n_splits_examples_by_default() -> None:
    X, y = arrays(n_per_class=4)
    with pytest.raises(DataError, match="fewer than n_splits=5"):
        load_dataset("tabular", (X, y))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_x(bad: float) -> None:
    X, y = arrays()
    X[3, 1] = bad
    with pytest.raises(DataError, match="X contains NaN or infinite values"):
        load_dataset("image", (X.reshape(15, 2, 2), y))
    if np.isnan(bad):  # a table's missing value is imputed in each fold
        assert load_dataset("tabular", (X, y)).X.isna().sum().sum() == 1
    else:
        with pytest.raises(DataError, match=r"column\(s\) \['x1'\] hold infinite values"):
            load_dataset("tabular", (X, y))


def test_length_mismatch() -> None:
    X, y = arrays()
    with pytest.raises(DataError, match="X has 15 rows but y has 14"):
        load_dataset("tabular", (X, y[:-1]))


def test_empty_arrays() -> None:
    with pytest.raises(DataError, match="no examples"):
        load_dataset("tabular", (np.zeros((0, 3)), np.zeros(0)))


def test_two_dimensional_labels() -> None:
    X, y = arrays()
    with pytest.raises(DataError, match=r"y must be one label per example \(1-D\), got shape \(15, 1\)"):
        load_dataset("tabular", (X, y[:, None]))


def test_arrays_objective() -> None:
    X, _ = arrays(n_per_class=10)
    y = np.linspace(0.0, 1.0, 30)
    data = load_dataset("tabular", (X, y))
    assert data.problem_type == "regression" and data.classes is None and data.y.dtype == np.float32
    images = load_dataset("image", (np.zeros((50, 2, 2)), np.arange(50) % 25), n_splits=2)
    assert images.problem_type == "classification" and images.n_outputs == 25  # many classes stay classes
    forced = load_dataset("image", (X.reshape(30, 2, 2), y), problem_type="regression")
    assert forced.problem_type == "regression" and forced.X.shape == (30, 2, 2, 1)
    with pytest.raises(DataError, match="holds non-numeric values .*regression needs numbers"):
        load_dataset("tabular", (X, np.array(["a", "b", "c"] * 10)), problem_type="regression")


def test_tabular_arrays_get_the_same_per_fold_preprocessing_as_a_csv() -> None:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = X.copy()
    X[3, 2] = np.nan  # a missing value: imputed in each fold, as in a CSV
    data = load_dataset("tabular", (X, y))
    assert data.make_preprocessor is not None and list(data.X.columns[:2]) == ["x0", "x1"]
    fitted = data.make_preprocessor().fit(data.X.iloc[:400], data.y[:400])
    rows = fitted.transform(data.X.iloc[:400])
    assert np.isfinite(rows).all() and np.allclose(rows.mean(axis=0), 0, atol=1e-5)  # standardised on these rows
    frame = load_dataset("tabular", (data.X.rename(columns=lambda c: f"col_{c}"), y))
    assert list(frame.X.columns[:1]) == ["col_x0"]  # a DataFrame keeps its columns
    with pytest.raises(DataError, match="tabular X must be 2-D"):
        load_dataset("tabular", (np.zeros((10, 2, 2)), np.arange(10) % 2))
