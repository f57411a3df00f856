"""``automl promote`` / ``automl.promote``: compare the challenger with the champion, then make the
challenger the champion."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from automl.data import load_dataset
from automl.logs import quiet_frameworks
from automl.stores import default_tracking_uri
from automl.tracking.registry import CHALLENGER, CHAMPION, Version, aliased
from automl.tracking.registry import promote as point_champion_at_challenger
from automl.tracking.tracker import scoped_tracking_uri


@dataclass
class Promotion:
    """What ``promote`` compared and did: the versions before, their scores on your data, the new champion."""

    challenger: Version | None
    champion: Version | None
    data: str | None = None  # the user's data both were scored on
    holdout: dict[str, tuple[str, float]] = field(default_factory=dict)  # role -> (metric, score) on data
    promoted: Version | None = None

    def lines(self) -> list[str]:
        """The comparison (and the promotion) as ``automl promote`` prints them."""
        versions = {CHALLENGER: self.challenger, CHAMPION: self.champion}
        out = [f"{role + ':':<12}" + (v.describe() if v else "none yet") for role, v in versions.items()]
        for role, (metric, score) in self.holdout.items():
            out.append(f"{role + ':':<12}{metric} {score:.4f} on {self.data}")
        if self.promoted is not None:
            out.append(f"champion is now version {self.promoted.version}: models:/{self.promoted.name}@{CHAMPION}")
        return out


def score_on(tracking_uri: str, version: Version, task: str, data: Path, target: str | None) -> tuple[str, float]:
    """The version's score on the user's data: accuracy for labels, RMSE for values."""
    import mlflow

    dataset = load_dataset(task, str(data), n_splits=2, target=target)
    quiet_frameworks()  # no progress bar per downloaded file
    with scoped_tracking_uri(tracking_uri):
        model = mlflow.pyfunc.load_model(version.uri)
    inputs = dataset.X if dataset.make_preprocessor is not None else np.asarray(dataset.X).reshape(len(dataset.X), -1)
    predicted = np.asarray(model.predict(inputs))
    if dataset.classes is None:
        return "rmse", float(np.sqrt(np.mean((predicted.astype(float) - dataset.y) ** 2)))
    truth = np.asarray(dataset.classes, dtype=object)[dataset.y]
    return "accuracy", float(np.mean(predicted.astype(object) == truth))


def compare(
    name: str,
    *,
    tracking_uri: str | None = None,
    runs_dir: str | Path = "runs",
    data: str | Path | None = None,
    task: str = "image",
    target: str | None = None,
) -> Promotion:
    """The challenger and champion of registered model ``name``, scored on ``data`` when given."""
    uri = tracking_uri or default_tracking_uri(Path(runs_dir))
    promotion = Promotion(aliased(uri, name, CHALLENGER), aliased(uri, name, CHAMPION))
    if data is not None:
        promotion.data = str(data)
        for role, version in ((CHALLENGER, promotion.challenger), (CHAMPION, promotion.champion)):
            if version is not None:
                promotion.holdout[role] = score_on(uri, version, task, Path(data), target)
    return promotion


def promote(
    name: str,
    *,
    tracking_uri: str | None = None,
    runs_dir: str | Path = "runs",
    data: str | Path | None = None,
    task: str = "image",
    target: str | None = None,
) -> Promotion:
    """Compare the challenger of registered model ``name`` with its champion (CV scores; scores on
    ``data`` when given), then make the challenger the champion (``models:/NAME@champion``)."""
    promotion = compare(name, tracking_uri=tracking_uri, runs_dir=runs_dir, data=data, task=task, target=target)
    uri = tracking_uri or default_tracking_uri(Path(runs_dir))
    promotion.promoted = point_champion_at_challenger(uri, name)
    return promotion
