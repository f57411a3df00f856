"""The MLflow pyfunc flavour of a ``FittedModel``: same loading for every backend."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import mlflow
import numpy as np

from automl.refit.fitted import FittedEnsemble, FittedModel, load_fitted
from automl.tracking.tracker import scoped_tracking_uri

ARTIFACT_KEY = "automl_model"
# MLflow advises type hints on predict() when the class is defined, inside its own "once" warning
# filter; ours takes arrays or DataFrames of any shape, so the advice is recorded and dropped here.
with warnings.catch_warnings(record=True):

    class AutoMLPyfuncModel(mlflow.pyfunc.PythonModel):
        """``mlflow.pyfunc.load_model(uri).predict(X)`` returns labels (or values) for ``X``.

        ``X`` is an array in the model's input shape or a DataFrame of flattened features; for
        tabular and text models, raw rows (a DataFrame of the training columns, a list of texts).
        """

        def load_context(self, context: Any) -> None:
            self.model = load_fitted(Path(context.artifacts[ARTIFACT_KEY]))

        # No type hints here on purpose: MLflow reads them as an input schema and warns on Any.
        def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
            return self.model.predict(model_input)


def log_pyfunc_model(
    fitted: FittedModel | FittedEnsemble, example: Any, *, tracking_uri: str, run_id: str, name: str = "model"
) -> str:
    """Log ``fitted`` as a pyfunc model of run ``run_id``; return its model URI.

    ``example`` is a few inputs. A model with a preprocessor takes raw inputs (DataFrames with
    missing values, texts), which MLflow's input schema would reject: it gets an output schema only.
    """
    from importlib.metadata import version

    from mlflow.models import Model, infer_signature

    model_input = None if fitted.preprocessor is not None else np.asarray(example).reshape(len(example), -1)
    signature = infer_signature(model_input, fitted.predict(example))
    with tempfile.TemporaryDirectory() as tmp, scoped_tracking_uri(tracking_uri):
        fitted.save(tmp)
        info = Model.log(
            artifact_path=None,  # deprecated by MLflow 3 in favour of name, but still a required argument
            name=name,
            flavor=mlflow.pyfunc,
            run_id=run_id,
            python_model=AutoMLPyfuncModel(),
            artifacts={ARTIFACT_KEY: tmp},
            signature=signature,
            pip_requirements=[f"automl=={version('automl')}"],
        )
    return info.model_uri
