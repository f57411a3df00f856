"""``search()``: one hyperparameter search from data and space to the refit best model."""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
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
from automl.cv import fit_preparation, make_splits
from automl.data import Dataset, load_dataset, take
from automl.failfast import EveryTrialFails, every_trial_fails, stop_when_every_trial_fails
from automl.interrupts import raise_if_interrupted, stop_on_signals
from automl.leaderboard import leaderboard, leaderboard_table
from automl.metrics import Metric, get_metric
from automl.model import FittedModel
from automl.objective import BACKEND_PARAM, Objective
from automl.pool import plan_workers, run_pool
from automl.progress import SearchProgress
from automl.report import write_report
from automl.spaces import SearchSpace, load_space
from automl.storage import default_storage, make_pruner, make_sampler, open_storage, open_study, redact
from automl.tracking import Tracker, default_tracking_uri
from automl.workers import (
    BudgetedObjective,
    LostTrialHandler,
    budget_reached,
    fail_trials_of_dead_local_processes,
    heartbeat_seconds,
    save_settings,
    stop_at_budget,
    worker_pid,
)

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
    target: str | None = None,
    text_column: str | None = None,
    objective: str | None = None,
    groups: str | None = None,
    image_size: int | str | tuple[int, int] | None = None,
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
    workers: int | None = None,
    gpus: str = "all",
    trials_per_gpu: int = 1,
    verbose: bool = True,
    console: Console | None = None,
) -> SearchResult:
    """Search the space of ``task`` on ``data`` with cross-validation; log it all to MLflow.

    ``data`` is None (the task's built-in data set), ``"builtin:NAME"``, an ``(X, y)`` pair or a
    path: an image folder (one sub-folder per class; ``image_size`` N or "WxH"), an .npz, a CSV
    (``target`` column; ``groups`` column for GroupKFold; ``text_column`` for text). ``objective``
    forces classification or regression. ``space``
    is a YAML file or a shipped space name (default: the task's). Everything is stored under
    ``runs_dir`` unless ``storage``/``tracking_uri`` say otherwise; the same call resumes.
    ``timeout`` (seconds) is the time budget: no trial starts after it, and a trial still
    training then is stopped (pruned) once the study has a completed trial.
    ``gpus`` (``"all"``, ``"none"``, ``"0,2"``), ``trials_per_gpu`` and ``workers`` choose the
    worker processes (see ``automl.devices``); one CPU worker runs in this process.
    """
    config = SearchConfig(
        task=task,
        data=data,
        target=target,
        text_column=text_column,
        objective=objective,
        groups=groups,
        image_size=image_size,
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
        workers=workers,
        gpus=gpus,
        trials_per_gpu=trials_per_gpu,
    )
    return run_search(config, verbose=verbose, console=console)


@dataclass
class SearchParts:
    """What every process of a search rebuilds from its ``SearchConfig``: space, data, metric, folds."""

    space: SearchSpace
    dataset: Dataset
    metric: Metric
    splits: list[tuple[np.ndarray, np.ndarray]]
    epochs_per_fold: int


def build_search_parts(config: SearchConfig, space: str | Path | None = None) -> SearchParts:
    """Load the space (``space`` overrides the config's), the data, the metric and the CV folds."""
    loaded = load_space(space or config.space or config.task)
    dataset = load_dataset(config.task, config.data, n_splits=config.n_splits, **config.data_options())
    return SearchParts(
        space=loaded,
        dataset=dataset,
        metric=get_metric(config.metric, dataset.objective),
        splits=make_splits(dataset, config.n_splits, config.seed),
        epochs_per_fold=int(loaded.upper_bound("training.epochs") or 10),
    )


def run_search(config: SearchConfig, *, verbose: bool = True, console: Console | None = None) -> SearchResult:
    """``search()`` for an already validated ``SearchConfig``."""
    console = console or _console(verbose)
    _quiet_libraries()
    parts = build_search_parts(config)
    space, dataset, metric = parts.space, parts.dataset, parts.metric
    config.runs_dir.mkdir(parents=True, exist_ok=True)
    storage_url = config.storage or default_storage(config.runs_dir)
    tracking_uri = config.tracking_uri or default_tracking_uri(config.runs_dir)
    name = config.study_name or f"{config.task}-{dataset.name}-{'+'.join(config.backends)}"
    epochs_per_fold = parts.epochs_per_fold
    for backend_name in config.backends:
        get_backend(backend_name)  # import frameworks now: a missing one fails before the study starts
    slots = plan_workers(config, console)  # empty: trials run in this process

    tracker = Tracker(tracking_uri, name, artifact_root=config.runs_dir / "artifacts")
    on_lost = LostTrialHandler(tracker)
    study = open_study(
        name=name,
        # heartbeats let this host's lost trials be found (here, or by workers on other hosts)
        storage=open_storage(storage_url, heartbeat_interval=heartbeat_seconds(), failed_trial_callback=on_lost),
        direction=metric.direction,
        sampler=make_sampler(config.sampler, config.seed),
        pruner=make_pruner(config.pruner, epochs_per_fold=epochs_per_fold, n_splits=config.n_splits),
    )
    done = len(study.get_trials(deepcopy=False, states=FINISHED))
    remaining = None if config.n_trials is None else max(0, config.n_trials - done)
    if done == 0 and not study.get_trials(deepcopy=False):
        _enqueue_defaults(study, space, config.backends)
    console.print(f"study [bold]{name}[/] in {redact(storage_url)} ({done} finished trial(s) so far)")
    lost = fail_trials_of_dead_local_processes(study, on_lost)
    if lost:
        numbers = ", ".join(map(str, lost))
        console.print(f"trial(s) {numbers} were left running by a process that is gone: failed, queued again")
    console.print(
        f"data: {dataset.name} {dataset.X.shape}, space: {space.source}, metric: {metric.name}, "
        f"{config.n_splits}-fold CV, backend(s): {', '.join(config.backends)}"
    )

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
    save_settings(
        study,
        config,
        space_yaml=Path(space.source).read_text(encoding="utf-8"),
        tracking_uri=redact(tracking_uri),
        parent_run_id=tracker.parent_id,
    )

    objective = Objective(
        space=space,
        dataset=dataset,
        backends=config.backends,
        splits=parts.splits,
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
        if slots and not budget_reached(study, config.n_trials):
            with _quiet_optuna(), stop_on_signals():
                run_pool(study, slots, storage_url=storage_url, tracker=tracker, console=console)
        elif remaining != 0 and not slots:
            objective.deadline = None if config.timeout is None else time.time() + config.timeout
            with objective.progress, _quiet_optuna(), stop_on_signals():
                study.optimize(
                    BudgetedObjective(objective, lambda: config.n_trials, worker_pid()),
                    n_trials=remaining,
                    timeout=config.timeout,
                    catch=(Exception,),
                    gc_after_trial=True,
                    # `automl worker`s elsewhere may share the study
                    callbacks=[raise_if_interrupted, stop_at_budget(config.n_trials), stop_when_every_trial_fails],
                )
        else:
            console.print(
                f"the study already has {done} finished trials (n_trials={config.n_trials}); "
                "raise --n-trials to continue it"
            )
        result = _finish(study, dataset, metric.name, config, tracker, console, storage_url)
        failing = every_trial_fails(study)
        if failing:
            raise EveryTrialFails(failing)
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
    X, y = dataset.X, dataset.y
    preprocessor, target = fit_preparation(dataset, X, y)  # the model keeps both, fitted on all rows
    if preprocessor is not None:
        X = preprocessor.transform(X)
    if target is not None:
        y = target.transform(y)
    spec = build_spec(
        best.user_attrs["config"],
        input_shape=X.shape[1:],
        n_outputs=dataset.n_outputs,
        objective=dataset.objective,
        vocab_size=dataset.vocab_size,
    )
    epochs = max(1, round(float(np.mean(best.user_attrs.get("best_epochs") or [spec.epochs]))))
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
    counts = board["state"].value_counts().to_dict() if len(board) else {}
    tracker.log_metrics({f"trials_{k.lower()}": v for k, v in counts.items()})
    fitted, model_uri, best_config, best_params, best = None, None, {}, {}, None
    best_score = best_std = float("nan")
    if completed:
        best_trial = study.best_trial
        best_params, best_config = best_trial.params, best_trial.user_attrs["config"]
        best_score, best_std = float(best_trial.value), float(best_trial.user_attrs.get("score_std", float("nan")))
        best = {
            "trial": best_trial.number,
            "score": best_score,
            "std": best_std,
            "fold_scores": best_trial.user_attrs.get("fold_scores"),
            "backend": best_trial.user_attrs.get("backend"),
            "config": best_config,
        }
        tracker.log_dict(best, "best_config.json")
        tracker.log_metrics({f"best_{metric}": best_score, f"best_{metric}_std": best_std})
    summary = {
        "study": study.study_name,
        "storage": redact(storage_url),
        "data": json.dumps(dataset.summary(), default=str),
        "metric": f"{metric} ({study.direction.name.lower()})",
        "cross-validation": f"{config.n_splits} folds",
        "backends": ", ".join(config.backends),
        "sampler / pruner": f"{config.sampler} / {config.pruner}",
        "finished trials": ", ".join(f"{n} {state.lower()}" for state, n in counts.items()) or "none",
        f"best {metric}": "-" if best is None else f"{best_score:.4f} ± {best_std:.4f} (trial {best['trial']})",
    }
    with tempfile.TemporaryDirectory() as tmp:
        board.to_csv(Path(tmp) / "leaderboard.csv", index=False)
        tracker.log_artifact(Path(tmp) / "leaderboard.csv")
        write_report(study, Path(tmp) / "report.html", summary=summary, board=board, best=best)
        tracker.log_artifact(Path(tmp) / "report.html")
    if len(board):
        console.print(leaderboard_table(board, metric))
    if completed and config.refit:
        console.print(f"refitting trial {best_trial.number} on all {len(dataset.X)} examples ...")
        fitted, _ = refit_best(study, dataset, config.seed)
        model_uri = _log_model(fitted, dataset, tracker)
        tracker.set_tags({MODEL_URI_TAG: model_uri})
    elif not completed:
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
            return log_pyfunc_model(fitted, take(dataset.X, np.arange(min(5, len(dataset.y)))))
