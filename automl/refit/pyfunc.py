"""The MLflow pyfunc flavour of a ``FittedModel`` or ``FittedEnsemble``: same loading for every backend.

A logged model is MLflow *models from code*: ``pyfunc_entry.py`` creates the wrapper when the model
is loaded, so nothing is unpickled; the model folder carries the automl package it needs
(``code_paths``), its framework requirements, a signature and an input example.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from automl.refit.fitted import FittedEnsemble, FittedModel, load_fitted
from automl.tracking.tracker import scoped_tracking_uri

ARTIFACT_KEY = "automl_model"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the automl package folder
# MLflow advises type hints on predict() when the class is defined, inside its own "once" warning
# filter; ours takes arrays or DataFrames of any shape, so the advice is recorded and dropped here.
with warnings.catch_warnings(record=True):

    class AutoMLPyfuncModel(mlflow.pyfunc.PythonModel):
        """``mlflow.pyfunc.load_model(uri).predict(X)`` returns labels (or values) for ``X``.

        ``X`` is an array in the model's input shape or a DataFrame of flattened features; for
        tabular and text models, raw rows (a DataFrame of the training columns, a list of texts).
        """

        def load_context(self, context: Any) -> None:
            # Loading an MLflow model runs the model's own code (this wrapper came from its code
            # file, or from the pickle of a model logged by automl 0.1, which MLflow has already
            # unpickled): its 0.1 preprocessor pickle adds no risk beyond that.
            self.model = load_fitted(Path(context.artifacts[ARTIFACT_KEY]), trust_pickle=True)

        # No type hints here on purpose: MLflow reads them as an input schema and warns on Any.
        def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
            return self.model.predict(model_input)


def log_pyfunc_model(
    fitted: FittedModel | FittedEnsemble, example: Any, *, tracking_uri: str, run_id: str, name: str = "model"
) -> str:
    """Log ``fitted`` as a pyfunc model of run ``run_id`` (models from code); return its model URI.

    ``example`` is a few inputs, logged as the input example. A model with a preprocessor takes raw
    inputs (DataFrames with missing values, texts), which MLflow's input schema would reject: it
    gets an output schema only.
    """
    from mlflow.models import Model

    with tempfile.TemporaryDirectory() as tmp, scoped_tracking_uri(tracking_uri):
        fitted.save(tmp)
        info = Model.log(
            artifact_path=None,  # deprecated by MLflow 3 in favour of name, but still a required argument
            name=name,
            flavor=mlflow.pyfunc,
            run_id=run_id,
            **_model_arguments(fitted, example, tmp),
        )
    return info.model_uri


def save_pyfunc_model(fitted: FittedModel | FittedEnsemble, example: Any, path: Path) -> None:
    """Write ``fitted`` as a pyfunc model folder ``path`` (models from code), as ``log_pyfunc_model`` logs it."""
    with tempfile.TemporaryDirectory() as tmp:
        fitted.save(tmp)
        mlflow.pyfunc.save_model(str(path), **_model_arguments(fitted, example, tmp))


def _model_arguments(fitted: FittedModel | FittedEnsemble, example: Any, saved: str) -> dict[str, Any]:
    """The pyfunc model of ``fitted`` (saved in folder ``saved``): code, artifacts, signature, example."""
    from mlflow.models import infer_signature

    model_input = None if fitted.preprocessor is not None else _flat(example)
    return {
        "python_model": str(Path(__file__).with_name("pyfunc_entry.py")),
        "code_paths": [str(PACKAGE_DIR)],  # the automl package travels with the model
        "artifacts": {ARTIFACT_KEY: saved},
        "signature": infer_signature(model_input, _one_model(fitted).predict(example)),
        "input_example": _input_example(fitted, example),
        "pip_requirements": requirements(fitted),
    }


def _one_model(fitted: FittedModel | FittedEnsemble) -> FittedModel:
    """A single model inside ``fitted``: its predictions have the ensemble's shape and type, at the
    cost of one model's first call (each model traces its graph once)."""
    return fitted.leaves()[0] if isinstance(fitted, FittedEnsemble) else fitted


def requirements(fitted: FittedModel | FittedEnsemble) -> list[str]:
    """What loading the model needs besides the automl package it carries: automl's own pinned
    requirements of the libraries a model uses, and its backends' frameworks."""
    from importlib.metadata import requires

    backends = set(fitted.backend.split("+"))
    needed = set(MODEL_LIBRARIES) | {lib for backend in backends for lib in BACKEND_LIBRARIES.get(backend, ())}
    pinned = [r for r in requires("automl") or [] if "extra ==" not in r]
    return sorted(r.split(";")[0].strip() for r in pinned if _name(r) in needed)


MODEL_LIBRARIES = ("numpy", "pandas", "scikit-learn", "skops", "mlflow", "pillow", "pydantic", "pyyaml", "rich")
BACKEND_LIBRARIES = {"keras": ("tensorflow", "keras"), "mxnet": ("mxnet",)}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].strip().lower()


def _flat(example: Any) -> np.ndarray:
    return np.asarray(example).reshape(len(example), -1)


def _input_example(fitted: FittedModel | FittedEnsemble, example: Any) -> Any:
    """The inputs the model takes: raw rows (a DataFrame, texts) or flat feature rows."""
    if fitted.preprocessor is None:
        return _flat(example)
    if isinstance(example, pd.DataFrame):
        return example
    return pd.DataFrame({"text": list(example)}) if getattr(fitted, "task", None) == "text" else example
