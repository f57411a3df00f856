"""Getting a search's best model out of MLflow, and predicting with it from files."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.backends import get_backend
from automl.errors import ConfigError, DataError
from automl.logs import quiet_frameworks
from automl.names import EXPORT_MLFLOW_DIR, Tag
from automl.refit.fitted import (
    ENSEMBLE_FILE,
    MEMBER_PREFIX,
    META_FILE,
    NATIVE_DIR,
    PREPROCESSOR_FILE,
    FittedEnsemble,
    FittedModel,
    load_fitted,
)
from automl.refit.pyfunc import save_pyfunc_model
from automl.tracking.tracker import scoped_tracking_uri
from automl.trial.costs import latency_ms, model_bytes

COSTS_FILE = "costs.json"


@dataclass
class ExportedModel:
    """Where an exported model came from, and what it costs (measured at export)."""

    model_uri: str
    backend: str
    out: Path  # the export folder
    costs: dict[str, float] = field(default_factory=dict)

    def layout(self) -> str:
        """What the export folder holds, in words."""
        if (self.out / ENSEMBLE_FILE).is_file():
            members = len(json.loads((self.out / ENSEMBLE_FILE).read_text())["members"])
            native = f"{members} members in {self.out / MEMBER_PREFIX}* (weights in {self.out / ENSEMBLE_FILE})"
        else:
            native = f"native model in {self.out / NATIVE_DIR}"
        return f"{native}, MLflow model in {self.out / EXPORT_MLFLOW_DIR}"


def measure_fitted(fitted: FittedModel | FittedEnsemble) -> dict[str, float]:
    """``n_params``, ``model_bytes`` and ``latency_ms`` of a refit model (an ensemble: its members' sums)."""
    members = fitted.leaves() if isinstance(fitted, FittedEnsemble) else [fitted]
    total = {"n_params": 0.0, "model_bytes": 0.0, "latency_ms": 0.0}
    for member in members:
        backend = get_backend(member.backend)
        example = np.zeros((1, *member.spec.input_shape), dtype=np.float32)
        total["n_params"] += backend.count_params(member.model)
        total["model_bytes"] += model_bytes(backend, member.model, member.spec)
        total["latency_ms"] += latency_ms(backend, member.model, example)
    return total


def _write_costs(out: Path, fitted: FittedModel | FittedEnsemble) -> dict[str, float]:
    costs = measure_fitted(fitted)
    (out / COSTS_FILE).write_text(json.dumps(costs, indent=2))
    return costs


def export_best_model(study: str, out: Path, tracking_uri: str) -> ExportedModel:
    """Write the latest refit best model of ``study`` into ``out``.

    ``out`` gets the model as ``FittedModel.save`` writes it (``automl.json`` + ``native/``,
    the framework's own format; several models, such as an averaged refit or an ensemble, as
    ``FittedEnsemble.save`` does: ``ensemble.json`` and a folder per model) and the MLflow model
    in ``mlflow_model/``.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        names = [e.name for e in client.search_experiments()]
        raise ConfigError(f"no study {study!r} in the MLflow store; studies there: {', '.join(names) or 'none'}")
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{Tag.MODEL_URI}` != ''",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise ConfigError(f"study {study!r} has no refit best model yet (no trial completed, or --no-refit)")
    return export_model_uri(runs[0].data.tags[Tag.MODEL_URI], out, tracking_uri)


def export_model_uri(model_uri: str, out: Path, tracking_uri: str) -> ExportedModel:
    """Write the automl model logged at ``model_uri`` into ``out`` as ``export_best_model`` does."""
    import mlflow

    quiet_frameworks()  # no progress bar per downloaded file
    _clear_earlier_export(out)
    with scoped_tracking_uri(tracking_uri):  # a models:/ URI is resolved through the global tracking URI
        mlflow.artifacts.download_artifacts(model_uri, dst_path=str(out / EXPORT_MLFLOW_DIR))
    fitted = mlflow.pyfunc.load_model(str(out / EXPORT_MLFLOW_DIR)).unwrap_python_model().model
    fitted.save(out)
    return ExportedModel(model_uri, fitted.backend, out, _write_costs(out, fitted))


def export_fitted(fitted: FittedModel | FittedEnsemble, example: Any, out: Path, source: str) -> ExportedModel:
    """Write a refit model into ``out`` as ``export_best_model`` does (``source``: where it came from)."""
    _clear_earlier_export(out)
    save_pyfunc_model(fitted, example, out / EXPORT_MLFLOW_DIR)
    fitted.save(out)
    return ExportedModel(source, fitted.backend, out, _write_costs(out, fitted))


def _clear_earlier_export(out: Path) -> None:
    """Make ``out`` (created if missing) hold no earlier export, so that a single model written
    over an ensemble is not read back as the ensemble; other files, and a folder that holds no
    export, are left alone."""
    out.mkdir(parents=True, exist_ok=True)
    if not any((out / marker).exists() for marker in (META_FILE, ENSEMBLE_FILE, EXPORT_MLFLOW_DIR)):
        return
    for name in (EXPORT_MLFLOW_DIR, NATIVE_DIR, META_FILE, PREPROCESSOR_FILE, ENSEMBLE_FILE, COSTS_FILE):
        _remove(out / name)
    for member in out.glob(f"{MEMBER_PREFIX}*"):
        _remove(member)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def read_inputs(path: Path) -> np.ndarray:
    """Model inputs from an ``.npz`` (array ``x``), an ``.npy`` or a CSV of flattened features."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if "x" not in archive.files:
                raise DataError(f"{path}: an .npz needs an array 'x'; found {archive.files}")
            return archive["x"]
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".csv":
        return pd.read_csv(path).to_numpy(dtype=np.float32)
    raise DataError(f"{path}: unsupported input file; expected .npz (array x), .npy or .csv")


def read_raw_rows(path: Path) -> pd.DataFrame:
    """Raw rows for a model with a preprocessor: a CSV of tabular columns or of texts."""
    if path.suffix != ".csv" or not path.is_file():
        raise DataError(f"{path}: this model predicts from a CSV file of raw rows (the training columns, or texts)")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({str(exc).strip()})") from None


def load_model(directory: str | Path, *, trust_pickle: bool = False) -> FittedModel | FittedEnsemble:
    """The model in a folder written by ``automl export`` or ``SearchResult.export``:
    ``.predict(X)`` takes what the search's data held (arrays, raw rows, texts)."""
    return load_fitted(directory, trust_pickle=trust_pickle)


def predict_file(model_dir: Path, data: Path, *, trust_pickle: bool = False) -> pd.DataFrame:
    """Predictions of the model in ``model_dir`` for the inputs in ``data``, one row each.

    ``data`` is a folder of images (any sub-folders; a ``file`` column names each image), a CSV
    of raw rows for tabular and text models, or arrays (.npz, .npy, CSV of flattened features).
    ``trust_pickle`` lets a folder saved by automl 0.1 (a pickled preprocessor) load.
    """
    model = load_model(model_dir, trust_pickle=trust_pickle)
    if data.is_dir():
        from automl.data.images import read_image_folder

        images, files = read_image_folder(data, model.spec.input_shape)
        return pd.DataFrame({"file": [str(f.relative_to(data)) for f in files], "prediction": model.predict(images)})
    inputs = read_raw_rows(data) if model.preprocessor is not None else read_inputs(data)
    return pd.DataFrame({"prediction": model.predict(inputs)})
