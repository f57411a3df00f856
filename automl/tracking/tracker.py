"""MLflow logging: one experiment per study, a parent run per search, a nested run per trial.

Everything goes through ``MlflowClient`` with explicit run ids (no global active run), so
logging is safe from any process and a trial's run is always ended, whatever its outcome.
MLflow's model logging alone reads the tracking URI from its global setting: ``scoped_tracking_uri``
sets it for that call and puts the previous one back.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from automl.errors import ConfigError
from automl.names import Tag, host_pid
from automl.stores import redact
from automl.trial.cv import FoldResult

MAX_PARAM_LENGTH = 6000
OUT_OF_FOLD_FILE = "out_of_fold.npy"
FOLD_MODELS_DIR = "fold_models"  # a trial run's artifacts: its trained fold models (--final-model folds)
RUN_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}


@contextlib.contextmanager
def scoped_tracking_uri(tracking_uri: str) -> Iterator[None]:
    """MLflow's global tracking URI is ``tracking_uri`` within this block, and what it was after it."""
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{'a': {'b': 1}, 'c': [{'d': 2}]}`` -> ``{'a.b': 1, 'c.0.d': 2}``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                out.update(flatten(item, f"{name}.{i}."))
        else:
            out[name] = value
    return out


def check_reachable(tracking_uri: str, timeout: float = 5.0) -> None:
    """Fail fast with one line when an MLflow tracking server does not answer.

    MLflow's own client retries an unreachable server for minutes before it gives up.
    """
    if not tracking_uri.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.get(tracking_uri.rstrip("/") + "/health", timeout=timeout).raise_for_status()
    except requests.RequestException as exc:
        reason = type(exc).__name__ if isinstance(exc, requests.ConnectionError) else str(exc).splitlines()[0]
        raise ConfigError(
            f"cannot reach the MLflow tracking server {redact(tracking_uri)} ({reason}); start it "
            "('mlflow server --host 127.0.0.1 --port 5000') or pass another --tracking-uri"
        ) from None


class Tracker:
    """Writes a search's runs to one MLflow experiment (created on first use)."""

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        artifact_root: Path | None = None,
        *,
        trial_tags: dict[str, str] | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.trial_tags = dict(trial_tags or {})  # e.g. the worker id, on every trial run this tracker opens
        check_reachable(tracking_uri)
        try:
            self.client = MlflowClient(tracking_uri)
            existing = self.client.get_experiment_by_name(experiment)
        except Exception as exc:  # a store MLflow cannot open: bad path, wrong scheme, broken database
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"cannot open the MLflow tracking store {redact(tracking_uri)}: {message}") from None
        if existing is not None:
            self.experiment_id = existing.experiment_id
        else:
            location = None if artifact_root is None else (artifact_root / experiment).resolve().as_uri()
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=location, tags={Tag.EXPERIMENT_KIND: "custom_model_development"}
            )
        self.parent_id: str | None = None

    # ------------------------------------------------------------------ parent run
    def start_search(self, name: str, params: dict[str, Any], tags: dict[str, str]) -> str:
        """Open the parent run of a search and log its settings."""
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        self.parent_id = run.info.run_id
        self._log_params(self.parent_id, params)
        return self.parent_id

    def end_search(self, status: str = "FINISHED") -> None:
        """End the parent run, and any trial run this process opened but could not end (a signal
        between opening a trial's run and its first line of work) as FAILED.
        """
        if self.parent_id is None:
            return
        left_open = self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self.parent_id}' and attributes.status = 'RUNNING' "
                f"and tags.`{Tag.HOST_PID}` = '{host_pid()}'"
            ),
        )
        for run in left_open:
            self.client.set_terminated(run.info.run_id, "FAILED")
        self.client.set_terminated(self.parent_id, status)

    def close_runs_of_finished_trials(self, finished: dict[int, tuple[str, float | None]]) -> list[int]:
        """End the trial runs left RUNNING whose trials the study has finished (their search process was
        gone before it could log the end): ``finished`` maps trial numbers to (state, value).
        Returns the trial numbers whose runs were ended."""
        left_open = self.client.search_runs(
            [self.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=5000
        )
        closed = []
        for run in left_open:
            number = run.data.tags.get(Tag.TRIAL_NUMBER)
            if number is None or int(number) not in finished:
                continue
            state, value = finished[int(number)]
            metrics = [] if value is None else [Metric("score", float(value), int(time.time() * 1000), 0)]
            tags = [
                RunTag(Tag.STATE, state),
                RunTag(Tag.NOTE, "ended later: its process was gone before it logged the end"),
            ]
            self.client.log_batch(run.info.run_id, metrics=metrics, tags=tags)
            self.client.set_terminated(run.info.run_id, RUN_STATUS.get(state, "FAILED"))
            closed.append(int(number))
        return sorted(closed)

    def log_dict(self, data: Any, artifact_file: str, run_id: str | None = None) -> None:
        self.client.log_dict(run_id or self.parent_id, data, artifact_file)

    def log_text(self, text: str, artifact_file: str, run_id: str | None = None) -> None:
        self.client.log_text(run_id or self.parent_id, text, artifact_file)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.parent_id, str(path), artifact_path)

    def log_metrics(self, metrics: dict[str, float], run_id: str | None = None) -> None:
        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id or self.parent_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()]
        )

    def set_tags(self, tags: dict[str, Any], run_id: str | None = None) -> None:
        self.client.log_batch(run_id or self.parent_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    # ------------------------------------------------------------------ trial runs
    def start_trial(self, number: int, params: dict[str, Any], tags: dict[str, str]) -> str:
        """Open the nested run of trial ``number`` under the search's parent run."""
        run_tags = {
            MLFLOW_RUN_NAME: f"trial-{number}",
            Tag.TRIAL_NUMBER: str(number),
            Tag.HOST_PID: host_pid(),
            **self.trial_tags,
            **tags,
        }
        if self.parent_id is not None:
            run_tags[MLFLOW_PARENT_RUN_ID] = self.parent_id
        run = self.client.create_run(self.experiment_id, run_name=f"trial-{number}", tags=run_tags)
        self._log_params(run.info.run_id, params)
        return run.info.run_id

    def log_fold(self, run_id: str, fold: FoldResult) -> None:
        """Per-fold scores (``fold_<k>.<metric>``) and curves (``fold_<k>.<curve>``, step = epoch)."""
        now = int(time.time() * 1000)
        metrics = [Metric(f"fold_{fold.fold}.{k}", v, now, 0) for k, v in fold.scores.items()]
        metrics.append(Metric(f"fold_{fold.fold}.best_epoch", fold.fit.best_epoch, now, 0))
        metrics.append(Metric(f"fold_{fold.fold}.seconds", fold.seconds, now, 0))
        metrics.append(Metric("fold_score", fold.score, now, fold.fold))
        for curve, values in fold.fit.history.items():
            metrics += [Metric(f"fold_{fold.fold}.{curve}", v, now, epoch) for epoch, v in enumerate(values, 1)]
        for start in range(0, len(metrics), 900):  # MLflow accepts at most 1000 metrics per batch
            self.client.log_batch(run_id, metrics=metrics[start : start + 900])

    def end_trial(self, run_id: str, state: str, metrics: dict[str, float], tags: dict[str, Any]) -> None:
        """Log the trial's outcome and close its run (FINISHED, or FAILED for a failed trial)."""
        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
            tags=[RunTag(Tag.STATE, state), *(RunTag(k, str(v)[:5000]) for k, v in tags.items())],
        )
        self.client.set_terminated(run_id, RUN_STATUS.get(state, "FAILED"))

    def log_out_of_fold(self, run_id: str, predictions: np.ndarray) -> None:
        """Keep a completed trial's out-of-fold predictions (``out_of_fold.npy``) for ensembles."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / OUT_OF_FOLD_FILE
            np.save(path, np.asarray(predictions, dtype=np.float32), allow_pickle=False)
            self.client.log_artifact(run_id, str(path))

    def load_out_of_fold(self, run_id: str) -> np.ndarray | None:
        """The out-of-fold predictions a trial run kept, or None when it has none."""
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = self.client.download_artifacts(run_id, OUT_OF_FOLD_FILE, tmp)
            except Exception:  # noqa: BLE001 - a run logged before ensembles, or whose upload failed
                return None
            return np.load(path, allow_pickle=False)

    def log_fold_models(self, run_id: str, directory: str) -> None:
        """Keep the fold models saved in ``directory`` (``automl.refit.bagging``) in the trial's run."""
        self.client.log_artifacts(run_id, directory, FOLD_MODELS_DIR)

    def download_fold_models(self, run_id: str, into: Path) -> Path | None:
        """Fetch a trial run's fold models into ``into``; None when it kept none."""
        try:
            return Path(self.client.download_artifacts(run_id, FOLD_MODELS_DIR, str(into)))
        except Exception:  # noqa: BLE001 - the run kept none, or its upload failed
            return None

    def fail_run(self, run_id: str, reason: str) -> None:
        """End a trial run left RUNNING by a worker that died, as FAILED with ``reason``."""
        if self.client.get_run(run_id).info.status == "RUNNING":
            self.client.log_batch(run_id, tags=[RunTag(Tag.STATE, "FAIL"), RunTag(Tag.FAIL_REASON, reason[:5000])])
            self.client.set_terminated(run_id, "FAILED")

    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        items = [Param(k, _param_value(v)) for k, v in flatten(params).items()]
        for start in range(0, len(items), 90):  # MLflow accepts at most 100 params per batch
            self.client.log_batch(run_id, params=items[start : start + 90])


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:MAX_PARAM_LENGTH]
