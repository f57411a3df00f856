"""Load a task's data: built-in sets (no download), arrays from the API, or files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from automl.data.dataset import Dataset
from automl.errors import DataError, unknown

TASKS = ("image", "text", "tabular")


def load_dataset(task: str, data: Any = None, *, n_splits: int = 5) -> Dataset:
    """Load the data of ``task``: the built-in set when ``data`` is None, an ``(X, y)``
    pair of arrays, or a path. Checks that every class has at least ``n_splits`` examples.
    """
    if task not in TASKS:
        raise DataError(unknown("task", task, TASKS))
    if data is None:
        dataset = _builtin(task)
    elif isinstance(data, tuple | list) and len(data) == 2:
        dataset = from_arrays(np.asarray(data[0]), np.asarray(data[1]), task=task, name="arrays")
    elif isinstance(data, str | Path):
        dataset = _from_path(task, Path(data))
    else:
        raise DataError(f"data must be None, an (X, y) pair or a path; got {type(data).__name__}")
    _check_classes(dataset, n_splits)
    return dataset


def from_arrays(X: np.ndarray, y: np.ndarray, *, task: str, name: str) -> Dataset:
    """A classification ``Dataset`` from feature and label arrays (labels of any type)."""
    if len(X) != len(y):
        raise DataError(f"{name}: X has {len(X)} rows but y has {len(y)}")
    if len(X) == 0:
        raise DataError(f"{name}: no examples")
    if y.ndim != 1:
        raise DataError(f"{name}: y must be one label per example (1-D), got shape {y.shape}")
    X = np.asarray(X, dtype=np.float32)
    if task == "image" and X.ndim == 3:
        X = X[..., np.newaxis]  # (n, h, w) grey images -> (n, h, w, 1)
    if not np.isfinite(X).all():
        raise DataError(f"{name}: X contains NaN or infinite values")
    classes, y_index = np.unique(y, return_inverse=True)
    return Dataset(
        name=name, task=task, X=X, y=y_index.astype(np.int64), objective="classification", classes=classes.tolist()
    )


def _builtin(task: str) -> Dataset:
    if task == "image":
        from sklearn.datasets import load_digits

        digits = load_digits()
        X = (digits.images / 16.0).astype(np.float32)  # 8x8 grey levels 0..16 -> [0, 1]
        return from_arrays(X, digits.target, task="image", name="digits")
    raise DataError(f"task {task!r} has no built-in data yet; pass data= (or --data PATH)")


def _from_path(task: str, path: Path) -> Dataset:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("x", "y") if k not in archive.files]
            if missing:
                raise DataError(f"{path}: an .npz needs arrays 'x' and 'y'; missing {missing}, found {archive.files}")
            return from_arrays(archive["x"], archive["y"], task=task, name=path.stem)
    raise DataError(f"{path}: unsupported data for task {task!r}; expected an .npz file with arrays 'x' and 'y'")


def _check_classes(dataset: Dataset, n_splits: int) -> None:
    if dataset.classes is None:
        return
    if len(dataset.classes) < 2:
        raise DataError(f"{dataset.name}: only one class ({dataset.classes[0]!r}); classification needs at least two")
    counts = np.bincount(dataset.y, minlength=len(dataset.classes))
    smallest = int(counts.argmin())
    if counts[smallest] < n_splits:
        raise DataError(
            f"{dataset.name}: class {dataset.classes[smallest]!r} has {counts[smallest]} example(s), fewer than "
            f"n_splits={n_splits}; add examples or lower --n-splits"
        )
