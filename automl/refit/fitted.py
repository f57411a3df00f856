"""A trained model with its spec, labels and input preprocessing: predict, save and load on any backend."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.backends import get_backend
from automl.data.dataset import Preprocessor
from automl.data.target import TargetScaler
from automl.errors import DataError
from automl.model.spec import ModelSpec

META_FILE = "automl.json"
NATIVE_DIR = "native"
PREPROCESSOR_FILE = "preprocessor.skops"  # skops: loading it runs no code of the file's
LEGACY_PREPROCESSOR_SUFFIX = ".pkl"  # automl 0.1 pickled it: loading that runs whatever code it holds
TRUSTED_TYPES = frozenset(
    {"automl.data.tabular.TabularPreprocessor", "automl.data.text.TextVectorizer", "numpy.dtype"}
)  # beyond scikit-learn's and numpy's own, which skops trusts
TEXT_COLUMN = "text"  # the column of texts in a DataFrame given to a text model


@dataclass
class FittedModel:
    """The refit best model of a search. ``predict`` returns the original labels (or values).

    ``preprocessor`` (tabular and text data) turns raw inputs into model inputs: a DataFrame of
    the training columns, a list or array of texts. Regression models trained on standardised
    targets keep the ``target`` scaler to return values in the target's units.
    """

    backend: str
    spec: ModelSpec
    model: Any
    classes: list[Any] | None = None
    preprocessor: Preprocessor | None = None
    target: TargetScaler | None = None
    task: str | None = None

    def _inputs(self, X: Any) -> np.ndarray:
        if self.preprocessor is not None:
            X = self.preprocessor.transform(self._raw(X))
        array = np.asarray(getattr(X, "values", X), dtype=np.float32)
        shape = self.spec.input_shape
        if array.shape[1:] != shape:
            if array.ndim >= 2 and int(np.prod(array.shape[1:])) == int(np.prod(shape)):
                array = array.reshape((len(array), *shape))  # flat rows (e.g. a DataFrame) -> model shape
            else:
                expected = ", ".join(map(str, shape))
                raise DataError(f"the model expects inputs of shape (n, {expected}), got {array.shape}")
        return array

    def _raw(self, X: Any) -> Any:
        """Raw inputs as the preprocessor takes them (texts: a 1-D object array)."""
        if self.task != "text":
            return X
        if isinstance(X, pd.DataFrame):
            if TEXT_COLUMN not in X.columns and X.shape[1] != 1:
                raise DataError(f"a text model needs a {TEXT_COLUMN!r} column (or one column); got {list(X.columns)}")
            X = X[TEXT_COLUMN] if TEXT_COLUMN in X.columns else X.iloc[:, 0]
        texts = np.asarray(X, dtype=object)
        if texts.ndim != 1:
            texts = texts.reshape(len(texts))
        return texts

    def _outputs(self, X: Any) -> np.ndarray:
        output = get_backend(self.backend).predict(self.model, self._inputs(X))
        return self.target.inverse(output) if self.target is not None else output

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (classification only)."""
        if self.classes is None:
            raise DataError("predict_proba is only defined for classification models")
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (classification) or values (regression)."""
        output = self._outputs(X)
        if self.classes is None:
            return output
        return np.asarray(self.classes)[output.argmax(axis=1)]

    def save(self, directory: str | Path) -> Path:
        """Write the native model, the preprocessor (if any; skops) and the metadata into ``directory``."""
        directory = Path(directory)
        get_backend(self.backend).save(self.model, self.spec, directory / NATIVE_DIR)
        if self.preprocessor is not None:
            import skops.io

            skops.io.dump(self.preprocessor, directory / PREPROCESSOR_FILE)
        meta = {
            "backend": self.backend,
            "spec": self.spec.to_dict(),
            "classes": self.classes,
            "task": self.task,
            "preprocessor": PREPROCESSOR_FILE if self.preprocessor is not None else None,
            "target": None if self.target is None else {"mean": self.target.mean, "scale": self.target.scale},
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, default=_json_default))
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, trust_pickle: bool = False) -> FittedModel:
        """Read a model written by ``save``. Nothing is unpickled, unless ``trust_pickle`` lets the
        pickled preprocessor of a model saved by automl 0.1 load (it runs whatever code it holds)."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise DataError(f"{directory}: not an automl model folder (no {META_FILE})")
        meta = json.loads(meta_path.read_text())
        spec = ModelSpec.from_dict(meta["spec"])
        model = get_backend(meta["backend"]).load(directory / NATIVE_DIR, spec)
        preprocessor = None
        if meta.get("preprocessor"):
            preprocessor = _load_preprocessor(directory / meta["preprocessor"], trust_pickle)
        target = TargetScaler(**meta["target"]) if meta.get("target") else None
        return cls(meta["backend"], spec, model, meta["classes"], preprocessor, target, meta.get("task"))


def _load_preprocessor(path: Path, trust_pickle: bool) -> Preprocessor:
    """A saved preprocessor: skops with automl's trusted types only, or a legacy pickle on request."""
    if path.suffix == LEGACY_PREPROCESSOR_SUFFIX:
        if not trust_pickle:
            raise DataError(
                f"{path}: a pickle written by automl 0.1, and loading a pickle runs whatever code it holds; "
                "if you trust where this folder came from, load it with --trust-pickle (API: trust_pickle=True), "
                "then save it again to get a pickle-free folder"
            )
        return pickle.loads(path.read_bytes())  # noqa: S301 - the caller vouched for this file
    if path.suffix != Path(PREPROCESSOR_FILE).suffix or not path.is_file():
        raise DataError(f"{path}: not a preprocessor automl wrote (expected {PREPROCESSOR_FILE})")
    import skops.io

    found = set(skops.io.get_untrusted_types(file=path))
    if found - TRUSTED_TYPES:
        raise DataError(
            f"{path}: holds types automl does not load ({', '.join(sorted(found - TRUSTED_TYPES))}); "
            f"a preprocessor automl wrote holds only {', '.join(sorted(TRUSTED_TYPES))}"
        )
    return skops.io.load(path, trusted=sorted(found))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


ENSEMBLE_FILE = "ensemble.json"
MEMBER_PREFIX = "member_"  # each member's folder: member_0, member_1, ...


@dataclass
class FittedEnsemble:
    """Models whose predictions are averaged with weights: refit trials chosen by ensemble selection
    (``automl.refit.ensemble``), one trial's fold models (``automl.refit.bagging``) or averaged
    refit (``--refit-models``), or trials so chosen whose models are those (members that are
    themselves ensembles).

    Classification averages the members' class probabilities; regression their values. Members
    share the task's classes and take the same raw inputs, so an ensemble takes the same inputs as
    any one of them.
    """

    members: list[FittedModel | FittedEnsemble]
    weights: list[float]
    trials: list[int]  # per member, the trial it comes from

    @property
    def spec(self) -> ModelSpec:
        return self.members[0].spec

    @property
    def preprocessor(self) -> Preprocessor | None:
        return self.members[0].preprocessor

    @property
    def classes(self) -> list[Any] | None:
        return self.members[0].classes

    @property
    def task(self) -> str | None:
        return self.members[0].task

    @property
    def backend(self) -> str:
        return "+".join(sorted({name for m in self.members for name in m.backend.split("+")}))

    def leaves(self) -> list[FittedModel]:
        """Every single model inside, members of members included."""
        return [leaf for m in self.members for leaf in (m.leaves() if isinstance(m, FittedEnsemble) else [m])]

    def _outputs(self, X: Any) -> np.ndarray:
        return sum(w * m._outputs(X) for m, w in zip(self.members, self.weights, strict=True))  # type: ignore[return-value]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted class probabilities (classification only)."""
        if self.classes is None:
            raise DataError("predict_proba is only defined for classification models")
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (classification) or values (regression)."""
        output = self._outputs(X)
        return output if self.classes is None else np.asarray(self.classes)[output.argmax(axis=1)]

    def save(self, directory: str | Path) -> Path:
        """Each member in a folder of its own, and ``ensemble.json`` with their weights."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        entries = []
        for index, (member, weight, trial) in enumerate(zip(self.members, self.weights, self.trials, strict=True)):
            member.save(directory / f"{MEMBER_PREFIX}{index}")
            entries.append({"folder": f"{MEMBER_PREFIX}{index}", "weight": weight, "trial": trial})
        (directory / ENSEMBLE_FILE).write_text(json.dumps({"members": entries}, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, trust_pickle: bool = False) -> FittedEnsemble:
        directory = Path(directory)
        entries = json.loads((directory / ENSEMBLE_FILE).read_text())["members"]
        members = [load_fitted(directory / entry["folder"], trust_pickle=trust_pickle) for entry in entries]
        return cls(members, [float(e["weight"]) for e in entries], [int(e["trial"]) for e in entries])


def load_fitted(directory: str | Path, *, trust_pickle: bool = False) -> FittedModel | FittedEnsemble:
    """The model in ``directory``: an ensemble (``ensemble.json``) or a single refit model."""
    if (Path(directory) / ENSEMBLE_FILE).is_file():
        return FittedEnsemble.load(directory, trust_pickle=trust_pickle)
    return FittedModel.load(directory, trust_pickle=trust_pickle)
