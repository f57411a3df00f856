"""A trained model with its spec and labels: predict, save and load on any backend."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl.backends import get_backend
from automl.errors import DataError
from automl.spec import ModelSpec

META_FILE = "automl.json"
NATIVE_DIR = "native"


@dataclass
class FittedModel:
    """The refit best model of a search. ``predict`` returns the original labels."""

    backend: str
    spec: ModelSpec
    model: Any
    classes: list[Any] | None = None

    def _inputs(self, X: Any) -> np.ndarray:
        array = np.asarray(getattr(X, "values", X), dtype=np.float32)
        shape = self.spec.input_shape
        if array.shape[1:] != shape:
            if array.ndim >= 2 and int(np.prod(array.shape[1:])) == int(np.prod(shape)):
                array = array.reshape((len(array), *shape))  # flat rows (e.g. a DataFrame) -> model shape
            else:
                expected = ", ".join(map(str, shape))
                raise DataError(f"the model expects inputs of shape (n, {expected}), got {array.shape}")
        return array

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (classification only)."""
        if self.classes is None:
            raise DataError("predict_proba is only defined for classification models")
        return get_backend(self.backend).predict(self.model, self._inputs(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (classification) or values (regression)."""
        output = get_backend(self.backend).predict(self.model, self._inputs(X))
        if self.classes is None:
            return output
        return np.asarray(self.classes)[output.argmax(axis=1)]

    def save(self, directory: str | Path) -> Path:
        """Write the native model and its metadata into ``directory``."""
        directory = Path(directory)
        get_backend(self.backend).save(self.model, self.spec, directory / NATIVE_DIR)
        meta = {"backend": self.backend, "spec": self.spec.to_dict(), "classes": self.classes}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, default=_json_default))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> FittedModel:
        """Read a model written by ``save``."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise DataError(f"{directory}: not an automl model folder (no {META_FILE})")
        meta = json.loads(meta_path.read_text())
        spec = ModelSpec.from_dict(meta["spec"])
        model = get_backend(meta["backend"]).load(directory / NATIVE_DIR, spec)
        return cls(meta["backend"], spec, model, meta["classes"])


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")
