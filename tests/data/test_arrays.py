"""Arrays from the Python API, written for worker processes, load as the arrays themselves do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from automl.data import load_dataset
from automl.data.arrays import write_arrays
from automl.errors import DataError


def test_images_with_string_labels_round_trip(tmp_path: Path) -> None:
    digits = load_digits()
    X, y = digits.images[:200] / 16.0, np.array([f"digit {d}" for d in digits.target[:200]], dtype=object)
    folder = write_arrays("image", (X, y), tmp_path / "data")
    assert {p.name for p in folder.iterdir()} == {"X.npy", "y.npy"}  # no pickle, no partial file left
    stored, direct = load_dataset("image", str(folder)), load_dataset("image", (X, y))
    assert np.array_equal(stored.X, direct.X) and np.array_equal(stored.y, direct.y)
    assert stored.classes == direct.classes and stored.name == direct.name == "arrays"


@pytest.mark.parametrize("as_frame", [True, False])
def test_a_table_round_trips_with_its_column_types_and_preprocessing(tmp_path: Path, as_frame: bool) -> None:
    rng = np.random.default_rng(0)
    numbers = rng.normal(size=(120, 3))
    numbers[5, 1] = np.nan
    if as_frame:
        X = pd.DataFrame(numbers, columns=["a", "b", "c"])
        X["colour"] = pd.Categorical(rng.choice(["red", "green", "blue"], size=120))
        X[7] = rng.integers(0, 5, size=120)  # a column named by a number: written under the name "7"
    else:
        X = numbers
    y = rng.integers(0, 2, size=120)
    folder = write_arrays("tabular", (X, y), tmp_path / "data")
    stored, direct = load_dataset("tabular", folder), load_dataset("tabular", (X, y))
    if as_frame:
        direct.X.columns = [str(c) for c in direct.X.columns]
    pd.testing.assert_frame_equal(stored.X, direct.X)
    assert np.array_equal(stored.y, direct.y) and stored.problem_type == direct.problem_type
    fitted = [data.make_preprocessor().fit(data.X, data.y).transform(data.X) for data in (stored, direct)]
    assert np.array_equal(fitted[0], fitted[1], equal_nan=True)


def test_arrays_that_need_a_pickle_get_a_clear_error(tmp_path: Path) -> None:
    X = np.empty((4, 2), dtype=object)
    X[:] = [[{"a": 1}, 2]] * 4
    with pytest.raises(DataError, match=r"could not be written to .*use workers=1"):
        write_arrays("image", (X, np.arange(4)), tmp_path / "data")
