"""Refit: the best trial's configuration trained on all the data, then logged as an MLflow model."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import optuna

from automl.backends import get_backend
from automl.data import Dataset, take
from automl.model import build_spec
from automl.names import TrialAttr
from automl.refit.fitted import FittedModel
from automl.refit.pyfunc import log_pyfunc_model
from automl.trial.cv import fit_preparation

EXAMPLE_ROWS = 5  # inputs logged with the model, for its signature


def refit_best(study: optuna.Study, dataset: Dataset, seed: int) -> tuple[FittedModel, optuna.trial.FrozenTrial]:
    """Train the best trial's configuration on all the data.

    It trains for the mean epoch count the folds kept (their early-stopping best epochs).
    """
    best = study.best_trial
    backend = get_backend(best.user_attrs.get(TrialAttr.BACKEND, "keras"))
    X, y = dataset.X, dataset.y
    preprocessor, target = fit_preparation(dataset, X, y)  # the model keeps both, fitted on all rows
    if preprocessor is not None:
        X = preprocessor.transform(X)
    if target is not None:
        y = target.transform(y)
    spec = build_spec(
        best.user_attrs[TrialAttr.CONFIG],
        input_shape=X.shape[1:],
        n_outputs=dataset.n_outputs,
        problem_type=dataset.problem_type,
        vocab_size=dataset.vocab_size,
    )
    epochs = max(1, round(float(np.mean(best.user_attrs.get(TrialAttr.BEST_EPOCHS) or [spec.epochs]))))
    backend.seed(seed)
    model = backend.build(spec)
    backend.fit(model, spec, X, y, epochs=epochs)
    fitted = FittedModel(
        backend.name,
        spec.with_training(epochs=epochs),
        model,
        dataset.classes,
        preprocessor=preprocessor,
        target=target,
        task=dataset.task,
    )
    return fitted, best


def log_refit_model(fitted: FittedModel, dataset: Dataset, *, tracking_uri: str, run_id: str) -> str:
    """Log the refit model as an MLflow pyfunc model of the search's run ``run_id``; return its URI."""
    example = take(dataset.X, np.arange(min(EXAMPLE_ROWS, len(dataset.y))))
    mlflow_logger = logging.getLogger("mlflow")
    previous = mlflow_logger.level
    mlflow_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's advice on type hints and pickling, not actionable by users
            return log_pyfunc_model(fitted, example, tracking_uri=tracking_uri, run_id=run_id)
    finally:
        mlflow_logger.setLevel(previous)
