"""Tabular CSVs: raw rows, the inferred objective, groups, and one clear error per bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.data import load_dataset
from automl.data.tabular import TabularPreprocessor, infer_problem_type
from automl.errors import DataError


def write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "table.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def mixed_frame(n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "size": rng.normal(10, 2, n).round(2),
            "colour": rng.choice(["red", "green", "blue"], n),
            "flag": rng.choice([True, False], n),
            "constant": 1,
            "species": np.repeat(["cat", "dog"], n // 2),
        }
    )


def test_csv_with_string_labels_numeric_and_categorical_columns(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame.loc[[1, 5], "size"] = np.nan
    frame.loc[[2], "colour"] = np.nan
    data = load_dataset("tabular", write_csv(tmp_path, frame), target="species", n_splits=5)
    assert data.name == "table" and data.problem_type == "classification"
    assert data.classes == ["cat", "dog"] and data.y.tolist() == [0] * 10 + [1] * 10
    assert isinstance(data.X, pd.DataFrame) and "species" not in data.X.columns and len(data.X) == 20
    preprocessor = data.make_preprocessor()
    assert preprocessor.numeric == ["size", "constant"] and preprocessor.categorical == ["colour", "flag"]
    out = preprocessor.fit(data.X, data.y).transform(data.X)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert out.shape == (20, 2 + 3 + 1 + 2)  # 2 numeric, colour (3 + missing), flag (2)
    assert data.input_shape == (8,)
    restored = pickle.loads(pickle.dumps(preprocessor))
    np.testing.assert_array_equal(restored.transform(data.X), out)


def test_preprocessor_is_fitted_on_the_rows_it_is_given() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan], "c": ["a", "b", "a", None]})
    valid = pd.DataFrame({"x": [100.0, np.nan], "c": ["unseen", "b"]})
    preprocessor = TabularPreprocessor(["x"], ["c"]).fit(train)
    scaler = preprocessor.transformer.named_transformers_["numeric"][-1]
    assert scaler.mean_[0] == pytest.approx(np.mean([1.0, 2.0, 3.0, 2.0]))  # NaN imputed by the training median 2
    out = preprocessor.transform(valid)
    assert out[1, 0] == pytest.approx((2.0 - scaler.mean_[0]) / scaler.scale_[0])
    encoder = preprocessor.transformer.named_transformers_["categorical"][-1]
    assert [str(c) for c in encoder.categories_[0]] == ["a", "b", "missing"]
    assert out[0, 1:].tolist() == [0.0, 0.0, 0.0]  # a category seen only at transform time: all zeros
    assert out[1, 1:].tolist() == [0.0, 1.0, 0.0]


def test_preprocessor_takes_raw_arrays_and_names_missing_columns() -> None:
    preprocessor = TabularPreprocessor(["x"], ["c"]).fit(pd.DataFrame({"x": [1.0, 3.0], "c": ["a", "b"]}))
    assert preprocessor.transform(np.array([[3.0, "b"]], dtype=object)).tolist() == [[1.0, 0.0, 1.0]]
    with pytest.raises(DataError, match=r"lack column\(s\) \['c'\]"):
        preprocessor.transform(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(DataError, match=r"need 2 columns \(x, c\); got shape \(1, 3\)"):
        preprocessor.transform(np.zeros((1, 3)))


@pytest.mark.parametrize(
    ("values", "objective"),
    [
        (np.linspace(0.0, 1.0, 50), "regression"),  # floats with many distinct values
        (np.arange(100) % 30, "regression"),  # integers with many distinct values
        (np.tile([0.0, 1.0], 25), "classification"),  # float-typed 0/1 labels
        (np.tile([1, 2, 3], 10), "classification"),  # few integers
        (np.array(["a", "b"] * 5, dtype=object), "classification"),
        (np.array([True, False] * 5), "classification"),
    ],
)
def test_problem_type_is_inferred_from_the_target(values: np.ndarray, objective: str) -> None:
    assert infer_problem_type(values) == objective


def test_regression_csv(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame["price"] = np.linspace(1.5, 99.5, 20)
    data = load_dataset("tabular", write_csv(tmp_path, frame), target="price")
    assert data.problem_type == "regression" and data.classes is None and data.n_outputs == 1
    assert data.y.dtype == np.float32 and data.y[0] == pytest.approx(1.5)
    assert "species" in data.X.columns  # the string column is a feature here


def test_problem_type_can_be_forced(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame["rating"] = np.tile([1, 2, 3, 4], 5)
    path = write_csv(tmp_path, frame)
    assert load_dataset("tabular", path, target="rating").problem_type == "classification"
    forced = load_dataset("tabular", path, target="rating", problem_type="regression")
    assert forced.problem_type == "regression" and forced.y.tolist()[:4] == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(DataError, match="the target 'species' holds non-numeric values"):
        load_dataset("tabular", path, target="species", problem_type="regression")
    with pytest.raises(DataError, match="unknown problem type 'regresion'"):
        load_dataset("tabular", path, target="rating", problem_type="regresion")


def test_missing_target_column_suggests_the_nearest(tmp_path: Path) -> None:
    path = write_csv(tmp_path, mixed_frame())
    with pytest.raises(DataError) as info:
        load_dataset("tabular", path, target="specie")
    message = str(info.value)
    assert str(path) in message and "no target column 'specie'" in message and "Did you mean 'species'?" in message
    with pytest.raises(DataError, match=r"say which column to predict with --target"):
        load_dataset("tabular", path)


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x,7,8\n")
    with pytest.raises(DataError) as info:
        load_dataset("tabular", path, target="label", n_splits=2)
    assert str(path) in str(info.value) and "not a readable CSV file" in str(info.value)
    assert "line 4" in str(info.value)


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="empty.csv: not a readable CSV file"):
        load_dataset("tabular", path, target="label")


def test_single_class_and_too_few_examples(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame["species"] = "cat"
    with pytest.raises(DataError, match=r"only one class \('cat'\)"):
        load_dataset("tabular", write_csv(tmp_path, frame), target="species")
    frame.loc[:2, "species"] = "dog"
    with pytest.raises(DataError, match="class 'dog' has 3 example\\(s\\), fewer than n_splits=5"):
        load_dataset("tabular", write_csv(tmp_path, frame), target="species")


def test_rows_without_a_target_are_dropped_with_a_warning(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame.loc[[0, 19], "species"] = np.nan
    with pytest.warns(UserWarning, match="dropped 2 row\\(s\\) without a value in the target column 'species'"):
        data = load_dataset("tabular", write_csv(tmp_path, frame), target="species")
    assert len(data.X) == len(data.y) == 18


def test_groups_column(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame["site"] = np.tile(["s1", "s2", "s3", "s4", "s5"], 4)
    data = load_dataset("tabular", write_csv(tmp_path, frame), target="species", groups="site")
    assert "site" not in data.X.columns  # a group is not a feature
    assert data.groups.tolist()[:5] == ["s1", "s2", "s3", "s4", "s5"]
    with pytest.raises(DataError, match="5 group\\(s\\) in the groups column, fewer than n_splits=6"):
        load_dataset("tabular", write_csv(tmp_path, frame), target="species", groups="site", n_splits=6)
    with pytest.raises(DataError, match="no groups column 'sites'; .*Did you mean 'site'\\?"):
        load_dataset("tabular", write_csv(tmp_path, frame), target="species", groups="sites")


def test_infinite_values(tmp_path: Path) -> None:
    frame = mixed_frame()
    frame.loc[3, "size"] = np.inf
    with pytest.raises(DataError, match=r"table: column\(s\) \['size'\] hold infinite values"):
        load_dataset("tabular", write_csv(tmp_path, frame), target="species")


def test_options_that_the_data_cannot_use(tmp_path: Path) -> None:
    path = write_csv(tmp_path, mixed_frame())
    with pytest.raises(DataError, match="--image-size does not apply to CSV data"):
        load_dataset("tabular", path, target="species", image_size=8)
    with pytest.raises(DataError, match="the built-in data: --groups does not apply"):
        load_dataset("tabular", groups="site")
    with pytest.raises(DataError, match=r"\(X, y\) arrays: --target does not apply"):
        load_dataset("tabular", (np.zeros((10, 2)), np.arange(10) % 2), target="y")
    with pytest.raises(DataError, match="problem type 'regression' is not available for this data"):
        load_dataset("tabular", "builtin:breast_cancer", problem_type="regression")
