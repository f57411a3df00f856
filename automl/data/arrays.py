"""``(X, y)`` data from the Python API written once to a folder, so that worker processes load it.

The folder holds ``y.npy`` and either ``X.npy`` (read memory-mapped) or, for a table, ``X.parquet``
(column types kept, names as strings). No pickles: object labels are written as strings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import DataError

LABELS = "y.npy"
ARRAY = "X.npy"
TABLE = "X.parquet"


def write_arrays(task: str, data: tuple[Any, Any], folder: Path) -> Path:
    """Write ``data`` (a table for ``tabular``, else an array) under ``folder``; returns ``folder``."""
    import pandas as pd

    X, y = data
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(y)
    try:
        if labels.dtype == object:
            labels = labels.astype(str)
        _replace(folder / LABELS, lambda path: np.save(path, labels, allow_pickle=False))
        if task == "tabular":
            frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
            if not isinstance(X, pd.DataFrame):
                frame.columns = [f"x{i}" for i in range(frame.shape[1])]
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
            _replace(folder / TABLE, lambda path: frame.to_parquet(path, index=False))
        else:
            _replace(folder / ARRAY, lambda path: np.save(path, np.asarray(X), allow_pickle=False))
    except (ValueError, TypeError, ImportError) as exc:
        raise DataError(
            f"arrays: they could not be written to {folder} for the worker processes ({exc}); "
            "save them to a file (an .npz, or a .csv for a table) and pass its path, or use workers=1"
        ) from None
    return folder


def is_arrays_folder(path: Path) -> bool:
    """Whether ``path`` is a folder ``write_arrays`` wrote."""
    return (path / LABELS).is_file() and ((path / ARRAY).is_file() or (path / TABLE).is_file())


def read_arrays(folder: Path) -> tuple[Any, np.ndarray]:
    """``(X, y)`` as ``write_arrays`` wrote them: a DataFrame or a memory-mapped array, and the labels."""
    labels = np.load(folder / LABELS, allow_pickle=False)
    if (folder / TABLE).is_file():
        import pandas as pd

        return pd.read_parquet(folder / TABLE), labels
    return np.load(folder / ARRAY, mmap_mode="r", allow_pickle=False), labels


def _replace(path: Path, write: Any) -> None:
    """Write through a temporary file, so that a worker never reads a half-written one."""
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    write(partial)
    os.replace(partial, path)
