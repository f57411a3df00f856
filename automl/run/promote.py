"""``automl promote``: compare the challenger with the champion, then make the challenger the champion."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl.data import load_dataset
from automl.tracking.registry import CHALLENGER, CHAMPION, Version, aliased, promote
from automl.tracking.tracker import scoped_tracking_uri


def comparison(tracking_uri: str, name: str) -> tuple[Version | None, Version | None]:
    """(challenger, champion) of registered model ``name``."""
    return aliased(tracking_uri, name, CHALLENGER), aliased(tracking_uri, name, CHAMPION)


def score_on(tracking_uri: str, version: Version, task: str, data: Path, target: str | None) -> tuple[str, float]:
    """The version's score on the user's data: accuracy for labels, RMSE for values."""
    import mlflow

    dataset = load_dataset(task, str(data), n_splits=2, target=target)
    with scoped_tracking_uri(tracking_uri):
        model = mlflow.pyfunc.load_model(version.uri)
    inputs = dataset.X if dataset.make_preprocessor is not None else np.asarray(dataset.X).reshape(len(dataset.X), -1)
    predicted = np.asarray(model.predict(inputs))
    if dataset.classes is None:
        return "rmse", float(np.sqrt(np.mean((predicted.astype(float) - dataset.y) ** 2)))
    truth = np.asarray(dataset.classes, dtype=object)[dataset.y]
    return "accuracy", float(np.mean(predicted.astype(object) == truth))


def promote_challenger(tracking_uri: str, name: str) -> Version:
    """Point ``champion`` at the challenger."""
    return promote(tracking_uri, name)
