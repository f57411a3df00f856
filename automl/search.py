"""``search()``: one hyperparameter search from data and space to the refit best model."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from rich.console import Console

from automl.architectures import build_spec
from automl.backends import get_backend
from automl.config import SearchConfig
from automl.cv import make_splitter
from automl.data import Dataset, load_dataset
from automl.leaderboard import leaderboard, leaderboard_table
from automl.metrics import get_metric
from automl.model import FittedModel
from automl.objective import BACKEND_PARAM, Objective
from automl.progress import SearchProgress
from automl.report import write_plots
from automl.spaces import SearchSpace, load_space
from automl.storage import default_storage, make_pruner, make_sampler, open_study, redact
from automl.tracking import Tracker, default_tracking_uri

MODEL_URI_TAG = "automl.model_uri"  # on the parent run: where its refit best model is
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


@dataclass
class SearchResult:
    """What a search produced. ``best_model.predict(X)`` predicts with the refit best model."""

    study: optuna.Study
    leaderboard: pd.DataFrame
    best_params: dict[str, Any]
    best_config: dict[str, Any]
    best_score: float
    best_score_std: float
    best_model: FittedModel | None
    metric: str
    storage: str
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    model_uri: str | None

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the refit best model."""
        if self.best_model is None:
            raise RuntimeError("no model was refit (no trial completed, or refit=False)")
        return self.best_model.predict(X)


def search(
    task: str = "image",
    data: Any = None,
    space: str | Path | None = None,
    *,
    backend: str | list[str] = "keras",
    n_trials: int | None = None,
    timeout: float | None = None,
    n_splits: int = 5,
    sampler: str = "tpe",
    pruner: str = "hyperband",
    metric: str | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    tracking_uri: str | None = None,
    runs_dir: str | Path = "runs",
    seed: int = 0,
    refit: bool = True,
    verbose: bool = True,
    console: Console | None = None,
) -> SearchResult:
    """Search the space of ``task`` on ``data`` with cross-validation; log it all to MLflow.

    ``data`` is None (the task's built-in data set), an ``(X, y)`` pair or a path. ``space``
    is a YAML file or a shipped space name (default: the task's). Everything is stored under
    ``runs_dir`` unless ``storage``/``tracking_uri`` say otherwise; the same call resumes.
    """
    config = SearchConfig(
        task=task,
        data=data,
        space=space,
        backend=backend,
        n_trials=n_trials,
        timeout=timeout,
        n_splits=n_splits,
        sampler=sampler,
        pruner=pruner,
        metric=metric,
        storage=storage,
        study_name=study_name,
        tracking_uri=tracking_uri,
        runs_dir=Path(runs_dir),
        seed=seed,
        refit=refit,
    )
    return run_search(config, verbose=verbose, console=console)


def run_search(config: SearchConfig, *, verbose: bool = True, console: Console | None = None) -> SearchResult:
    """``search()`` for an already validated ``SearchConfig``."""
    console = console or _console(verbose)
    _quiet_libraries()
    space = load_space(config.space or config.task)
    dataset = load_dataset(config.task, config.data, n_splits=config.n_splits)
    metric = get_metric(config.metric, dataset.objective)
    config.runs_dir.mkdir(parents=True, exist_ok=True)
    storage_url = config.storage or default_storage(config.runs_dir)
    tracking_uri = config.tracking_uri or default_tracking_uri(config.runs_dir)
    name = config.study_name or f"{config.task}-{dataset.name}-{'+'.join(config.backends)}"
    epochs_per_fold = int(space.upper_bound("training.epochs") or 10)
    for backend_name in config.backends:
        get_backend(backend_name)  # import frameworks now: a missing one fails before the study starts

    study = open_study(
        name=name,
        storage=storage_url,
        direction=metric.direction,
        sampler=make_sampler(config.sampler, config.seed),
        pruner=make_pruner(config.pruner, epochs_per_fold=epochs_per_fold, n_splits=config.n_splits),
    )
    done = len(study.get_trials(deepcopy=False, states=FINISHED))
    remaining = None if config.n_trials is None else max(0, config.n_trials - done)
    if done == 0 and not study.get_trials(deepcopy=False):
        _enqueue_defaults(study, space, config.backends)
    console.print(f"study [bold]{name}[/] in {redact(storage_url)} ({done} finished trial(s) so far)")
    console.print(
        f"data: {dataset.name} {dataset.X.shape}, space: {space.source}, metric: {metric.name}, "
        f"{config.n_splits}-fold CV, backend(s): {', '.join(config.backends)}"
    )

    tracker = Tracker(tracking_uri, name, artifact_root=config.runs_dir / "artifacts")
    tracker.start_search(
        f"search-{time.strftime('%Y%m%d-%H%M%S')}",
        {"search": config.to_dict(), "study": name},
        tags={
            "automl.task": config.task,
            "automl.backend": ",".join(config.backends),
            "automl.study": name,
            "automl.storage": redact(storage_url),
        },
    )
    tracker.log_dict(config.to_dict(), "search_config.json")
    tracker.log_dict(dataset.summary(), "data_summary.json")
    tracker.log_text(Path(space.source).read_text(encoding="utf-8"), "search_space.yaml")

    splitter = make_splitter(dataset.objective, config.n_splits, config.seed)
    objective = Objective(
        space=space,
        dataset=dataset,
        backends=config.backends,
        splits=list(splitter.split(dataset.X, dataset.y)),
        metric=metric,
        tracker=tracker,
        epochs_per_fold=epochs_per_fold,
        seed=config.seed,
        progress=SearchProgress(
            n_trials=remaining, n_splits=config.n_splits, metric=metric.name, enabled=verbose, console=console
        ),
    )
    status = "FAILED"
    try:
        if remaining != 0:
            with objective.progress, _quiet_optuna(), _stop_on_signals():
                study.optimize(
                    objective, n_trials=remaining, timeout=config.timeout, catch=(Exception,), gc_after_trial=True
                )
        else:
            console.print(
                f"the study already has {done} finished trials (n_trials={config.n_trials}); "
                "raise --n-trials to continue it"
            )
        result = _finish(study, dataset, metric.name, config, tracker, console, storage_url)
        status = "FINISHED"
        return result
    except KeyboardInterrupt:
        status = "KILLED"
        board = leaderboard(study)
        if len(board):
            console.print(leaderboard_table(board, metric.name))
        console.print(
            f"[yellow]interrupted[/]: {len(board)} finished trial(s) are saved in {redact(storage_url)}; "
            "run the same command again to continue the study"
        )
        raise
    finally:
        tracker.end_search(status)


def _console(verbose: bool) -> Console:
    console = Console(stderr=True, quiet=not verbose)
    if not console.is_terminal:  # a log file: wide lines instead of Rich's 80-column default
        console = Console(stderr=True, quiet=not verbose, width=160)
    return console


def _enqueue_defaults(study: optuna.Study, space: SearchSpace, backends: list[str]) -> None:
    """Start a new study from the space's default configuration (a known-good point)."""
    params = space.defaults()
    if params:
        if len(backends) > 1:
            params[BACKEND_PARAM] = backends[0]
        study.enqueue_trial(params, skip_if_exists=True)


@contextlib.contextmanager
def _quiet_optuna() -> Any:
    """Our progress display reports trials; silence Optuna's own per-trial log lines."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


@contextlib.contextmanager
def _stop_on_signals() -> Any:
    """Turn SIGTERM, like Ctrl-C, into a clean stop; a second signal exits at once.

    The clean stop raises KeyboardInterrupt in the main thread: Optuna marks the running
    trial failed, the trial's MLflow run is ended, and the search prints what it has.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal received
        received += 1
        if received > 1:
            os._exit(130)  # the user insists: no more clean-up
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _logger_level(name: str, level: int) -> Any:
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _quiet_libraries() -> None:
    """Keep the frameworks' informational logging (retracing notes, table creation) off the console."""
    for name, level in (("tensorflow", logging.ERROR), ("absl", logging.ERROR), ("mlflow", logging.WARNING)):
        logging.getLogger(name).setLevel(level)
    optuna.logging.set_verbosity(logging.WARNING)  # "A new study created ..." is said by our own lines


def refit_best(study: optuna.Study, dataset: Dataset, seed: int) -> tuple[FittedModel, optuna.trial.FrozenTrial]:
    """Train the best trial's configuration on all the data.

    It trains for the mean epoch count the folds kept (their early-stopping best epochs).
    """
    best = study.best_trial
    backend = get_backend(best.user_attrs.get("backend", "keras"))
    spec = build_spec(
        best.user_attrs["config"],
        input_shape=dataset.input_shape,
        n_outputs=dataset.n_outputs,
        objective=dataset.objective,
    )
    epochs = max(1, round(float(np.mean(best.user_attrs.get("best_epochs") or [spec.epochs]))))
    backend.seed(seed)
    model = backend.build(spec)
    backend.fit(model, spec, dataset.X, dataset.y, epochs=epochs)
    return FittedModel(backend.name, spec.with_training(epochs=epochs), model, dataset.classes), best


def _finish(
    study: optuna.Study,
    dataset: Dataset,
    metric: str,
    config: SearchConfig,
    tracker: Tracker,
    console: Console,
    storage_url: str,
) -> SearchResult:
    board = leaderboard(study)
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    with tempfile.TemporaryDirectory() as tmp:
        board.to_csv(Path(tmp) / "leaderboard.csv", index=False)
        tracker.log_artifact(Path(tmp) / "leaderboard.csv")
        skipped = write_plots(study, Path(tmp) / "optuna_plots.html")
        tracker.log_artifact(Path(tmp) / "optuna_plots.html")
    if skipped:
        tracker.log_text("\n".join(skipped), "plots_skipped.txt")
    if len(board):
        console.print(leaderboard_table(board, metric))
    counts = board["state"].value_counts().to_dict() if len(board) else {}
    tracker.log_metrics({f"trials_{k.lower()}": v for k, v in counts.items()})

    fitted, model_uri, best_config, best_params = None, None, {}, {}
    best_score = best_std = float("nan")
    if completed:
        best_trial = study.best_trial
        best_params, best_config = best_trial.params, best_trial.user_attrs["config"]
        best_score, best_std = float(best_trial.value), float(best_trial.user_attrs.get("score_std", float("nan")))
        tracker.log_dict(
            {
                "trial": best_trial.number,
                "score": best_score,
                "std": best_std,
                "backend": best_trial.user_attrs.get("backend"),
                "config": best_config,
            },
            "best_config.json",
        )
        tracker.log_metrics({f"best_{metric}": best_score, f"best_{metric}_std": best_std})
        if config.refit:
            console.print(f"refitting trial {best_trial.number} on all {len(dataset.X)} examples ...")
            fitted, _ = refit_best(study, dataset, config.seed)
            model_uri = _log_model(fitted, dataset, tracker)
            tracker.set_tags({MODEL_URI_TAG: model_uri})
    else:
        console.print("[yellow]no trial completed: nothing to refit[/]")
    experiment_url = f"http://127.0.0.1:5000/#/experiments/{tracker.experiment_id}/runs"
    console.print(
        f"\nOptuna study: {study.study_name} in {redact(storage_url)}\n"
        f"MLflow: {redact(tracker.tracking_uri)}, experiment {study.study_name!r}, parent run {tracker.parent_id}\n"
        + (f"best model: {model_uri}\n" if model_uri else "")
        + f"browse: automl ui  ->  {experiment_url}"
    )
    return SearchResult(
        study=study,
        leaderboard=board,
        best_params=best_params,
        best_config=best_config,
        best_score=best_score,
        best_score_std=best_std,
        best_model=fitted,
        metric=metric,
        storage=redact(storage_url),
        tracking_uri=tracker.tracking_uri,
        experiment_id=tracker.experiment_id,
        parent_run_id=tracker.parent_id or "",
        model_uri=model_uri,
    )


def _log_model(fitted: FittedModel, dataset: Dataset, tracker: Tracker) -> str:
    import mlflow

    mlflow.set_tracking_uri(tracker.tracking_uri)
    with warnings.catch_warnings(), _logger_level("mlflow", logging.ERROR):
        warnings.simplefilter("ignore")  # MLflow's advice on type hints and pickling, not actionable by users
        from automl.pyfunc import log_pyfunc_model

        with mlflow.start_run(run_id=tracker.parent_id):
            return log_pyfunc_model(fitted, dataset.X[:5])
