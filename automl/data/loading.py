"""Load a task's data: built-in sets (no download), arrays from the API, or files and folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from automl.data.dataset import PROBLEM_TYPES, Dataset
from automl.errors import DataError, unknown

TASKS = ("image", "text", "tabular")
BUILTIN_PREFIX = "builtin:"
BUILTINS = {"image": ("digits",), "tabular": ("breast_cancer", "diabetes", "digits"), "text": ("stdlib-docs",)}


def load_dataset(
    task: str,
    data: Any = None,
    *,
    n_splits: int = 5,
    target: str | None = None,
    text_column: str | None = None,
    problem_type: str | None = None,
    groups: str | None = None,
    image_size: Any = None,
) -> Dataset:
    """Load the data of ``task``: the built-in set when ``data`` is None (or ``"builtin:NAME"``),
    an ``(X, y)`` pair of arrays, or a path (image: a folder of class sub-folders or an .npz;
    tabular: a CSV with column ``target``; text: a CSV or a folder of class sub-folders of .txt;
    any task: a folder of arrays that ``automl.data.arrays.write_arrays`` wrote).

    ``problem_type`` forces classification or regression (default: inferred from the target);
    ``groups`` names a CSV column that keeps rows together in one fold; ``image_size`` is the
    size images are resized to. Checks that every class and group allows ``n_splits`` folds.
    """
    if task not in TASKS:
        raise DataError(unknown("task", task, TASKS))
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise DataError(unknown("problem type", problem_type, PROBLEM_TYPES))
    options = {"target": target, "text_column": text_column, "groups": groups, "image_size": image_size}
    if data is None or (isinstance(data, str) and data.startswith(BUILTIN_PREFIX)):
        _reject_unused("the built-in data", options)
        dataset = _builtin(task, None if data is None else data.removeprefix(BUILTIN_PREFIX))
    elif isinstance(data, tuple | list) and len(data) == 2:
        _reject_unused("(X, y) arrays", options)
        if task == "tabular":
            dataset = tabular_from_arrays(data[0], data[1], problem_type=problem_type)
        else:
            dataset = from_arrays(
                np.asarray(data[0]), np.asarray(data[1]), task=task, name="arrays", problem_type=problem_type
            )
    elif isinstance(data, str | Path):
        dataset = _from_path(task, Path(data), problem_type=problem_type, **options)
    else:
        raise DataError(f"data must be None, an (X, y) pair or a path; got {type(data).__name__}")
    if problem_type is not None and dataset.problem_type != problem_type:
        raise DataError(
            f"{dataset.name}: problem type {problem_type!r} is not available for this data ({dataset.problem_type})"
        )
    _check_classes(dataset, n_splits)
    _check_groups(dataset, n_splits)
    return dataset


def tabular_from_arrays(X: Any, y: Any, *, problem_type: str | None = None) -> Dataset:
    """A tabular ``Dataset`` from a 2-D array or a DataFrame and its targets: the same raw rows and
    per-fold preprocessing (imputation, scaling, one-hot encoding) as a CSV gets."""
    import pandas as pd

    from automl.data.tabular import tabular_dataset

    if isinstance(X, pd.DataFrame):
        features = X
    else:
        values = np.asarray(X)
        if values.ndim != 2:
            raise DataError(f"arrays: tabular X must be 2-D (rows, columns), got shape {values.shape}")
        features = pd.DataFrame(values, columns=[f"x{i}" for i in range(values.shape[1])])
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise DataError(f"arrays: y must be one label per example (1-D), got shape {labels.shape}")
    target = pd.Series(labels, name="y")
    if len(features) != len(target):
        raise DataError(f"arrays: X has {len(features)} rows but y has {len(target)}")
    if len(features) == 0:
        raise DataError("arrays: no examples")
    if target.isna().any():
        raise DataError("arrays: y contains missing values")
    return tabular_dataset(features, target, name="arrays", problem_type=problem_type)


def from_arrays(X: np.ndarray, y: np.ndarray, *, task: str, name: str, problem_type: str | None = None) -> Dataset:
    """A ``Dataset`` from feature and target arrays (labels of any type, or numbers for regression).

    Unless ``problem_type`` is given, image and text data are classification and tabular data
    infer it from ``y`` (see ``tabular.infer_problem_type``).
    """
    from automl.data.tabular import infer_problem_type

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
    if (problem_type or (infer_problem_type(y) if task == "tabular" else "classification")) == "regression":
        try:
            values = y.astype(np.float32)
        except ValueError:
            raise DataError(f"{name}: regression needs numeric targets; y holds {y.dtype} values") from None
        if not np.isfinite(values).all():
            raise DataError(f"{name}: y contains NaN or infinite values")
        return Dataset(name=name, task=task, X=X, y=values, problem_type="regression")
    classes, y_index = np.unique(y, return_inverse=True)
    return Dataset(
        name=name, task=task, X=X, y=y_index.astype(np.int64), problem_type="classification", classes=classes.tolist()
    )


def _builtin(task: str, name: str | None) -> Dataset:
    if name is not None and name not in BUILTINS[task]:
        raise DataError(unknown(f"built-in {task} data set", name, [BUILTIN_PREFIX + n for n in BUILTINS[task]]))
    if task == "tabular":
        from automl.data.tabular import builtin_tabular

        return builtin_tabular(name or "breast_cancer")
    if task == "text":
        from automl.data.text import builtin_text

        return builtin_text()
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)  # 8x8 grey levels 0..16 -> [0, 1]
    return from_arrays(X, digits.target, task="image", name="digits")


def _from_path(task: str, path: Path, **options: Any) -> Dataset:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    kind = _kind(task, path)
    unused = {name: value for name, value in options.items() if name not in _OPTIONS[kind]}
    _reject_unused(f"{path}", unused, f"{kind} data (it takes: {', '.join(_OPTIONS[kind])})")
    used = {name: value for name, value in options.items() if name in _OPTIONS[kind]}
    if kind == "arrays folder":
        from automl.data.arrays import read_arrays

        X, y = read_arrays(path)
        if task == "tabular":
            return tabular_from_arrays(X, y, **used)
        return from_arrays(np.asarray(X), y, task=task, name="arrays", **used)
    if kind == "npz":
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("x", "y") if k not in archive.files]
            if missing:
                raise DataError(f"{path}: an .npz needs arrays 'x' and 'y'; missing {missing}, found {archive.files}")
            return from_arrays(archive["x"], archive["y"], task=task, name=path.stem, **used)
    if kind == "image folder":
        from automl.data.images import load_image_folder

        return load_image_folder(path, **used)
    if kind == "CSV":
        from automl.data.tabular import load_tabular_csv

        return load_tabular_csv(path, **used)
    from automl.data.text import load_text

    return load_text(path, **used)


_OPTIONS = {
    "arrays folder": ("problem_type",),
    "npz": ("problem_type",),
    "image folder": ("image_size",),
    "CSV": ("target", "problem_type", "groups"),
    "text": ("text_column", "target"),
}


def _kind(task: str, path: Path) -> str:
    """Which loader reads ``path`` for ``task``."""
    from automl.data.arrays import is_arrays_folder

    if path.is_dir() and is_arrays_folder(path):
        return "arrays folder"
    if path.suffix == ".npz":
        return "npz"
    if task == "image" and path.is_dir():
        return "image folder"
    if task == "tabular" and path.suffix == ".csv":
        return "CSV"
    if task == "text" and (path.is_dir() or path.suffix == ".csv"):
        return "text"
    expected = {
        "image": "a folder with one sub-folder of images per class, or an .npz file with arrays 'x' and 'y'",
        "tabular": "a .csv file (with --target COLUMN) or an .npz file with arrays 'x' and 'y'",
        "text": "a .csv file (with --text-column and --target) or a folder with one sub-folder of .txt per class",
    }[task]
    raise DataError(f"{path}: unsupported data for task {task!r}; expected {expected}")


def _reject_unused(where: str, options: dict[str, Any], what: str = "this data") -> None:
    """A ``DataError`` naming the options given that ``what`` cannot use (rather than ignoring them)."""
    given = ["--" + name.replace("_", "-") for name, value in options.items() if value is not None]
    if given:
        raise DataError(f"{where}: {', '.join(given)} does not apply to {what}")


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


def _check_groups(dataset: Dataset, n_splits: int) -> None:
    if dataset.groups is None:
        return
    n_groups = len(np.unique(dataset.groups))
    if n_groups < n_splits:
        raise DataError(
            f"{dataset.name}: {n_groups} group(s) in the groups column, fewer than n_splits={n_splits}; "
            "every fold needs its own groups: lower --n-splits"
        )
