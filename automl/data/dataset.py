"""The ``Dataset`` every task loader returns, and the per-fold ``Preprocessor`` contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Protocol

import numpy as np

PROBLEM_TYPES = ("classification", "regression")
ProblemType = Literal["classification", "regression"]


class Preprocessor(Protocol):
    """Turns raw inputs (a DataFrame, an array of strings, ...) into model-ready float32 arrays.

    A fresh one is fitted inside every fold on that fold's training rows only, then applied to
    its validation rows; the refit model keeps the one fitted on all the data. Must pickle.
    """

    def fit(self, X: Any, y: np.ndarray) -> Preprocessor: ...

    def transform(self, X: Any) -> np.ndarray: ...


def take(X: Any, index: np.ndarray) -> Any:
    """Rows ``index`` of ``X`` (an array or a pandas DataFrame)."""
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


@dataclass
class Dataset:
    """Features ``X``, targets ``y`` and their metadata.

    ``X`` is model-ready (float32 in the model's input shape) unless ``make_preprocessor`` is
    set: then ``X`` is raw (a DataFrame for tabular data, an object array of strings for text)
    and each fold fits ``make_preprocessor()`` on its training rows. For classification ``y``
    holds class indices into ``classes`` (the original labels); for regression ``y`` is float32
    and ``classes`` is None. ``vocab_size`` is the number of token ids of text inputs (ids in
    ``[0, vocab_size)``, 0 = padding, 1 = out of vocabulary); ``groups`` feed GroupKFold.
    """

    name: str
    task: str
    X: Any
    y: np.ndarray
    problem_type: ProblemType
    classes: list[Any] | None = None
    vocab_size: int | None = None
    groups: np.ndarray | None = None
    make_preprocessor: Callable[[], Preprocessor] | None = None

    @cached_property
    def input_shape(self) -> tuple[int, ...]:
        """The model input shape of model-ready ``X`` (raw ``X``: the shape after preprocessing all rows, once)."""
        X = self.X if self.make_preprocessor is None else self.make_preprocessor().fit(self.X, self.y).transform(self.X)
        return tuple(int(d) for d in X.shape[1:])

    @property
    def majority_rate(self) -> float | None:
        """The accuracy of always predicting the most frequent class (None for regression)."""
        if self.classes is None:
            return None
        return float(np.bincount(self.y).max() / len(self.y))

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.classes is not None else 1

    def summary(self) -> dict[str, Any]:
        """A JSON-safe description for logs and MLflow."""
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "problem_type": self.problem_type,
            "n_samples": int(len(self.X)),
            "input_shape": list(self.input_shape),
        }
        if self.vocab_size is not None:
            out["vocab_size"] = int(self.vocab_size)
        if self.classes is not None:
            counts = np.bincount(self.y, minlength=len(self.classes))
            out["classes"] = {str(c): int(n) for c, n in zip(self.classes, counts, strict=True)}
        return out
