"""``search()``: one hyperparameter search from data and space to the final model (the best trial's fold
models or refit, or an ensemble)."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from rich.console import Console

from automl.backends import BaseBackend, get_backend
from automl.data import Dataset
from automl.data.arrays import write_arrays
from automl.errors import EveryTrialFails
from automl.logs import console_logging, get_logger, new_console
from automl.names import StudyAttr, Tag, TrialAttr, host_pid
from automl.refit.bagging import load_bag
from automl.refit.export import ExportedModel, export_model_uri
from automl.refit.fitted import FittedEnsemble, FittedModel
from automl.refit.refit import BagLoader, FinalModel, log_refit_model, refit_final
from automl.run.budget import (
    FINISH_S,
    BudgetedObjective,
    JobClock,
    budget_counts,
    complete_promising,
    keep_to_the_clock,
    remaining_trials,
    requeue_promising,
    stop_at_budget,
)
from automl.run.devices import say_if_gpus_unused
from automl.run.failfast import every_trial_fails, stop_when_every_trial_fails, stop_when_nothing_new_is_left
from automl.run.local_moves import queue_local_moves
from automl.run.lost import run_trials
from automl.run.pick import export_choice, refit_choice, study_dataset
from automl.run.pool import plan_workers, run_pool, wait_for_workers
from automl.run.session import SearchSession, build_search_parts, open_search
from automl.run.settings import SearchSettings, StudyRecord, options, signature
from automl.run.study import heartbeat_seconds
from automl.run.warmstart import first_configurations
from automl.stores import default_storage, default_tracking_uri, redact
from automl.tracking.leaderboard import describe_outcomes, leaderboard, leaderboard_table, outcomes, pareto_frame
from automl.tracking.registry import CHALLENGER, Version, register
from automl.tracking.report import write_report
from automl.tracking.tracker import Tracker
from automl.trial.goals import best_trial, is_multi_objective, objective_names, pareto_front, trial_values
from automl.trial.interrupts import raise_if_interrupted, stop_on_signals
from automl.trial.outcome import FINISHED
from automl.trial.progress import SearchProgress

log = get_logger(__name__)


@dataclass
class SearchResult:
    """What a search produced. ``best_model.predict(X)`` predicts with the final model."""

    study: optuna.Study
    leaderboard: pd.DataFrame
    best_params: dict[str, Any]
    best_config: dict[str, Any]
    best_score: float
    best_score_std: float
    best_model: FittedModel | FittedEnsemble | None  # the ensemble, when one beat the best trial alone
    metric: str
    storage: str
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    model_uri: str | None
    best_single_model: FittedModel | FittedEnsemble | None = None  # the best trial's model (refit or its folds)
    ensemble: dict[str, Any] | None = None  # the ensemble selection: weights and out-of-fold scores
    registered_model: str | None = None  # models:/NAME@challenger, when the model was registered
    dataset: Dataset | None = field(default=None, repr=False)  # the data searched on (for ``pick``)
    seed: int = 0
    refit_models: int = 1  # models a refit trains, averaged (``pick`` refits as the search did)

    @property
    def pareto(self) -> pd.DataFrame:
        """The leaderboard's rows of the Pareto front (one metric: the best trial's row)."""
        return pareto_frame(self.study)

    def pick(self, condition: str | None = None, *, trial: int | None = None) -> FittedModel | FittedEnsemble:
        """Refit the best completed trial meeting ``condition`` (``"accuracy>=0.98 and latency_ms<2"``;
        parsed, never evaluated), or trial number ``trial``, on the search's data."""
        _, fitted = refit_choice(
            self.study, self._searched_data(), self.seed, pick=condition, trial=trial, models=self.refit_models
        )
        return fitted

    def export(self, out: str | Path, *, pick: str | None = None, trial: int | None = None) -> ExportedModel:
        """Write the final model into folder ``out`` as ``automl export`` does (native format, MLflow
        model, ``costs.json``); with ``pick`` or ``trial``, the trial ``pick`` would refit."""
        if pick is not None or trial is not None:
            return export_choice(
                self.study,
                self._searched_data(),
                self.seed,
                Path(out),
                pick=pick,
                trial=trial,
                models=self.refit_models,
            )
        if self.model_uri is None:
            raise RuntimeError("no final model (no trial completed, or refit=False)")
        return export_model_uri(self.model_uri, Path(out), self.tracking_uri)

    def _searched_data(self) -> Dataset:
        """The data the search ran on: held since the search, or rebuilt from the study's record."""
        return self.dataset if self.dataset is not None else study_dataset(self.study)[0]

    def register(self, name: str | None = None) -> str:
        """Register the final model (as ``name``, default the study's) as the challenger; its URI."""
        if self.model_uri is None:
            raise RuntimeError("no final model (no trial completed, or refit=False)")
        version = _register(self.tracking_uri, name or self.study.study_name, self.model_uri, self, None)
        self.registered_model = f"models:/{version.name}@{CHALLENGER}"
        return self.registered_model

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the final model."""
        if self.best_model is None:
            raise RuntimeError("no final model (no trial completed, or refit=False)")
        return self.best_model.predict(X)


def search(
    task: str = "image",
    data: Any = None,
    space: Any = None,
    *,
    verbose: bool = True,
    console: Console | None = None,
    **settings: Any,
) -> SearchResult:
    import mlflow

    result = run_search(
        SearchSettings.from_arguments(task=task, data=data, space=space, **settings), verbose=verbose, console=console
    )
    mlflow.set_tracking_uri(result.tracking_uri)  # so that mlflow.pyfunc.load_model(result.model_uri) works here
    return result


search.__signature__ = signature(  # type: ignore[attr-defined] - what help() and notebooks show
    "task",
    "data",
    "space",
    extra=(
        inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, default=True),
        inspect.Parameter("console", inspect.Parameter.KEYWORD_ONLY, default=None),
    ),
)
search.__doc__ = """Search the space of ``task`` on ``data`` with cross-validation; log it all to MLflow.

``data`` is None (the task's built-in data set), ``"builtin:NAME"``, an ``(X, y)`` pair or a path.
Everything is stored under ``runs_dir`` unless ``storage``/``tracking_uri`` say otherwise; the same
call resumes the study. ``verbose=False`` prints nothing; ``console`` is the Rich console to print on.
Afterwards MLflow's tracking URI is the search's store (``result.tracking_uri``), as after
``mlflow.set_tracking_uri``, so ``mlflow.pyfunc.load_model(result.model_uri)`` loads the model.

Settings (the same as the ``automl search`` options):

""" + "\n".join(f"- ``{name}`` (default {default!r}): {option.help}" for name, default, option in options())


def run_search(
    settings: SearchSettings, *, verbose: bool = True, console: Console | None = None, log_level: int = logging.INFO
) -> SearchResult:
    """``search()`` for already checked settings; ``log_level`` DEBUG also shows the frameworks' lines."""
    # the best trial, and with an ensemble its likely members (selections chose 2.9 trials on average
    # over the 15 searches of the 5-seed sweep of a0d171a): 2 more when the members are kept fold models
    # (a further member still joins while the time left allows), 3 more when each is a refit (their
    # estimates run short by 10-40 %); none without a refit
    more = (2 if settings.bags_fold_models else 3) if settings.builds_ensemble else 0
    refits = 1 + more if settings.refit else 0
    clock = JobClock(
        time.time(),
        settings.timeout,
        settings.n_splits,
        refits=refits,
        bagged=settings.bags_fold_models,
        refit_models=settings.models_per_refit,
    )
    console = console or new_console(verbose)
    with console_logging(console, log_level), _quiet_optuna():
        return _run(settings, clock, console, verbose)


def _run(settings: SearchSettings, clock: JobClock, console: Console, verbose: bool) -> SearchResult:
    parts = build_search_parts(settings)
    settings.runs_dir.mkdir(parents=True, exist_ok=True)
    storage_url = settings.storage or default_storage(settings.runs_dir)
    tracking_uri = settings.tracking_uri or default_tracking_uri(settings.runs_dir)
    name = settings.study_name or f"{settings.task}-{parts.dataset.name}-{'+'.join(settings.backends)}"
    slots = plan_workers(settings)  # empty: trials run in this process; before a framework is imported
    backends = [get_backend(name) for name in settings.backends]  # a missing framework fails before the study
    say_if_gpus_unused(backends, sorted({slot.gpu for slot in slots if slot.gpu}, key=lambda gpu: gpu.index))
    if slots and not isinstance(settings.data, str | os.PathLike | type(None)):
        folder = write_arrays(settings.task, settings.data, settings.runs_dir / "data" / name)
        log.info("data given as arrays: written to %s for the worker processes", folder)
        settings = dataclasses.replace(settings, data=str(folder))
    tracker = Tracker(tracking_uri, name, artifact_root=settings.runs_dir / "artifacts")
    session = open_search(
        settings,
        parts,
        study_name=name,
        storage_url=storage_url,
        tracker=tracker,
        sampler_seed=settings.seed,
        heartbeat_s=heartbeat_seconds(),
        first_configurations=first_configurations,
    )
    study = session.study
    done = budget_counts(study)[0]
    log.info("study %s in %s (%d finished trial(s) so far)", name, redact(storage_url), done)
    if session.lost:
        numbers = ", ".join(map(str, session.lost))
        log.info("trial(s) %s were left running by a process that is gone: failed, queued again", numbers)
    unfinished = requeue_promising(study) if done else []
    if unfinished:
        numbers = ", ".join(map(str, unfinished))
        log.info(
            "trial(s) %s were stopped before their end while not behind the best: queued to run to the end", numbers
        )
    finished = {
        t.number: (t.state.name, t.values[0] if t.values else None)
        for t in study.get_trials(deepcopy=False, states=FINISHED)
    }
    closed = tracker.close_runs_of_finished_trials(finished) if finished else []
    if closed:
        numbers = ", ".join(map(str, closed))
        log.info("trial(s) %s finished while their MLflow runs stayed open (their process was gone): ended", numbers)
    log.info(
        "data: %s %s, space: %s, metric: %s, %d-fold CV, backend(s): %s",
        parts.dataset.name,
        parts.dataset.X.shape,
        parts.space.source,
        parts.metric.name,
        settings.n_splits,
        ", ".join(backend.describe() for backend in backends),
    )
    _start_parent_run(tracker, settings, session, name, storage_url, clock, backends)
    status = "FAILED"
    try:
        _run_trials(session, slots, storage_url, tracker, console, verbose, clock)
        result = _finish(session, tracker, console, storage_url, clock)
        failing = every_trial_fails(study)
        if failing:
            raise EveryTrialFails(failing)
        status = "FINISHED"
        return result
    except KeyboardInterrupt:
        status = "KILLED"
        board = leaderboard(study)
        if len(board):
            console.print(leaderboard_table(board, parts.metric.name))
        log.warning(
            "interrupted: %d finished trial(s) are saved in %s; run the same command again to continue the study",
            len(board),
            redact(storage_url),
        )
        raise
    finally:
        tracker.end_search(status)


def _start_parent_run(
    tracker: Tracker,
    settings: SearchSettings,
    session: SearchSession,
    name: str,
    storage_url: str,
    clock: JobClock,
    backends: list[BaseBackend],
) -> None:
    """Open the search's parent run, log its settings, data and space, and record them in the study."""
    tracker.start_search(
        f"search-{time.strftime('%Y%m%d-%H%M%S')}",
        {"search": settings.to_dict(), "study": name},
        tags={
            Tag.TASK: settings.task,
            Tag.BACKEND: ",".join(settings.backends),
            Tag.ENGINE: ",".join(backend.engine for backend in backends),
            Tag.STUDY: name,
            Tag.STORAGE: redact(storage_url),
        },
    )
    space_yaml = Path(session.parts.space.source).read_text(encoding="utf-8")
    tracker.log_dict(settings.to_dict(), "search_config.json")
    tracker.log_dict(session.parts.dataset.summary(), "data_summary.json")
    tracker.log_text(space_yaml, "search_space.yaml")
    record = StudyRecord.of(
        settings,
        space_yaml=space_yaml,
        tracking_uri=tracker.tracking_uri,
        parent_run_id=tracker.parent_id,
        heartbeat_s=heartbeat_seconds(),
        deadline=clock.trial_deadline(session.study),
    )
    session.study.set_user_attr(StudyAttr.SETTINGS, record.to_json())


def _run_trials(
    session: SearchSession,
    slots: list[Any],
    storage_url: str,
    tracker: Tracker,
    console: Console,
    verbose: bool,
    clock: JobClock,
) -> None:
    """Run the trials still missing from the budget: in worker processes (``slots``) or in this process."""
    settings, study = session.settings, session.study
    remaining = remaining_trials(study, settings.n_trials)
    if remaining == 0:
        log.info(
            "the study already has %d finished trials (n_trials=%d); raise --n-trials to continue it",
            budget_counts(study)[0],
            settings.n_trials,
        )
        return
    if settings.workers == 0:
        log.info(
            "--workers 0: no trials here; join with: automl worker --study %s --storage %s",
            study.study_name,
            redact(storage_url),
        )
        with stop_on_signals():
            wait_for_workers(study, settings.n_trials, deadline=clock.trial_deadline, metric=session.parts.metric.name)
        return
    if slots:
        with stop_on_signals():
            run_pool(study, slots, storage_url=storage_url, tracker=tracker, deadline=clock.trial_deadline)
        return
    progress = SearchProgress(
        n_trials=remaining,
        n_splits=settings.n_splits,
        metric=session.parts.metric.name,
        enabled=verbose,
        console=console,
    )
    objective = session.objective(progress, clock.trial_deadline(study))
    callbacks = [
        raise_if_interrupted,
        keep_to_the_clock(clock, objective),
        complete_promising(lambda: settings.n_trials, lambda: objective.deadline),
    ]
    if settings.local_moves:
        callbacks.append(queue_local_moves(settings.seed, lambda: settings.n_trials, lambda: objective.deadline))
    callbacks += [
        stop_at_budget(settings.n_trials),  # `automl worker`s elsewhere may share the study
        stop_when_every_trial_fails,
        stop_when_nothing_new_is_left,
    ]
    budgeted = BudgetedObjective(objective, lambda: settings.n_trials, worker_id=host_pid())
    with progress, stop_on_signals():
        # no timeout: keep_to_the_clock stops at the deadline, which moves as the refit estimate changes
        while not run_trials(study, budgeted, remaining, callbacks):  # another process failed a trial running here
            remaining = remaining_trials(study, settings.n_trials)
            deadline = objective.deadline
            if remaining == 0 or (deadline is not None and time.time() >= deadline):
                break


def _finish(
    session: SearchSession, tracker: Tracker, console: Console, storage_url: str, clock: JobClock
) -> SearchResult:
    """Log the results (leaderboard, report, best configuration), hand over the final model, say where it all is."""
    study, settings, metric = session.study, session.settings, session.parts.metric.name
    board = leaderboard(study)
    counts = board["state"].value_counts().to_dict() if len(board) else {}
    evaluated = outcomes(study)
    tracker.log_metrics({f"trials_{k.lower()}": v for k, v in counts.items()})
    tracker.log_metrics({f"trials_{k}": v for k, v in evaluated.items()})
    best = _best_trial(study)
    if is_multi_objective(study):
        _tag_pareto_front(study, tracker)
    if best is not None:
        tracker.log_dict(best, "best_config.json")
        tracker.log_metrics({f"best_{metric}": best["score"], f"best_{metric}_std": best["std"]})
    summary = {**_report_summary(session, storage_url, counts, best), "configurations": describe_outcomes(evaluated)}
    with tempfile.TemporaryDirectory() as tmp:
        board.to_csv(Path(tmp) / "leaderboard.csv", index=False)
        tracker.log_artifact(Path(tmp) / "leaderboard.csv")
        write_report(study, Path(tmp) / "report.html", summary=summary, board=board, best=best)
        tracker.log_artifact(Path(tmp) / "report.html")
    if len(board):
        console.print(leaderboard_table(board, metric))
        log.info("configurations: %s", describe_outcomes(evaluated))
    final, model_uri = None, None
    if best is not None and settings.refit:
        final = _refit(session, tracker, clock)
        model_uri = log_refit_model(
            final.model, session.parts.dataset, tracking_uri=tracker.tracking_uri, run_id=tracker.parent_id or ""
        )
        tracker.set_tags({Tag.MODEL_URI: model_uri})
    elif best is None:
        log.warning("no trial completed: no model to hand over")
    experiment_url = f"http://127.0.0.1:5000/#/experiments/{tracker.experiment_id}/runs"
    log.info(
        "\nOptuna study: %s in %s\nMLflow: %s, experiment %r, parent run %s\n%sbrowse: automl ui  ->  %s",
        study.study_name,
        redact(storage_url),
        redact(tracker.tracking_uri),
        study.study_name,
        tracker.parent_id,
        f"best model: {model_uri}\n" if model_uri else "",
        experiment_url,
    )
    result = SearchResult(
        study=study,
        leaderboard=board,
        best_params={} if best is None else study.trials[best["trial"]].params,
        best_config={} if best is None else best["config"],
        best_score=float("nan") if best is None else best["score"],
        best_score_std=float("nan") if best is None else best["std"],
        best_model=None if final is None else final.model,
        metric=metric,
        storage=redact(storage_url),
        tracking_uri=tracker.tracking_uri,
        experiment_id=tracker.experiment_id,
        parent_run_id=tracker.parent_id or "",
        model_uri=model_uri,
        best_single_model=None if final is None else final.best,
        ensemble=None if final is None else _ensemble_summary(final),
        dataset=session.parts.dataset,
        seed=settings.seed,
        refit_models=settings.models_per_refit,
    )
    if model_uri is not None and settings.register:
        name = settings.register_as or study.study_name
        version = _register(tracker.tracking_uri, name, model_uri, result, session.parts.space.source)
        result.registered_model = f"models:/{name}@{CHALLENGER}"
        log.info(
            "registered as %s (version %s): automl promote %s makes it the champion",
            result.registered_model,
            version.version,
            name,
        )
    return result


def _tag_pareto_front(study: optuna.Study, tracker: Tracker) -> None:
    """Tag every completed trial's MLflow run with whether it is on the Pareto front."""
    front = {t.number for t in pareto_front(study)}
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        run_id = trial.user_attrs.get(TrialAttr.MLFLOW_RUN_ID)
        if run_id:
            try:
                tracker.set_tags({Tag.PARETO: str(trial.number in front).lower()}, run_id=run_id)
            except Exception:  # noqa: BLE001 - a tag lost is no reason to lose the search's results
                log.warning("could not tag trial %d's run with %s", trial.number, Tag.PARETO)
    numbers = ", ".join(str(n) for n in sorted(front)) or "none"
    log.info("Pareto front (%s): trial(s) %s", ", ".join(objective_names(study)), numbers)


def _register(tracking_uri: str, name: str, model_uri: str, result: SearchResult, space: str | None) -> Version:
    """Register the search's model with what a reviewer compares: study, model, CV score, data."""
    chosen = (result.ensemble or {}).get("chosen", "")
    leader = best_trial(result.study)
    model = chosen if chosen.startswith("an ensemble") else f"trial {leader.number if leader else '?'}"
    tags = {
        "study": result.study.study_name,
        "model": model,
        "metric": result.metric,
        "score": result.best_score,
        "score_std": result.best_score_std,
        "search_run_id": result.parent_run_id,
    }
    description = Path(space).read_text(encoding="utf-8") if space and Path(space).is_file() else ""
    return register(
        tracking_uri, name, model_uri, run_id=result.parent_run_id or None, tags=tags, description=description
    )


def _refit(session: SearchSession, tracker: Tracker, clock: JobClock) -> FinalModel:
    """Refit the best trial (and the ensemble's members) within what is left of the time budget."""
    settings, dataset = session.settings, session.parts.dataset
    leader = best_trial(session.study)
    assert leader is not None  # a refit follows a completed trial
    if settings.bags_fold_models and leader.user_attrs.get(TrialAttr.FOLD_MODELS):
        log.info("final model of trial %d: its fold models, averaged ...", leader.number)
    else:
        log.info("refitting trial %d on all %d examples ...", leader.number, len(dataset.X))
    ensemble_size = settings.ensemble_size if settings.builds_ensemble else 0
    if settings.ensemble_size > 1 and not ensemble_size:
        log.info(
            "no ensemble: its members' costs add up, and a search of several metrics or with constraints weighs them"
        )
    final = refit_final(
        session.study,
        dataset,
        session.parts.metric,
        seed=settings.seed,
        ensemble_size=ensemble_size,
        load_out_of_fold=tracker.load_out_of_fold,
        seconds_left=lambda: None if clock.end is None else clock.end - time.time() - FINISH_S,
        load_bag=_bag_loader(tracker) if settings.bags_fold_models else None,
        refit_models=settings.models_per_refit,
    )
    if final.refit_device is not None:
        tracker.set_tags({Tag.REFIT_DEVICE: final.refit_device})
    summary = _ensemble_summary(final)
    if summary is not None:
        tracker.log_dict(summary, "ensemble.json")
        tracker.log_metrics({k: v for k, v in summary.items() if isinstance(v, float)})
        log.info(
            "ensemble: %s; out-of-fold %s %.4f vs %.4f for the best trial alone (bootstrap-corrected: %.4f vs %.4f; "
            "the ensemble better in %.0f%% of the rounds)",
            final.note,
            session.parts.metric.name,
            summary["ensemble_oof_score"],
            summary["best_single_oof_score"],
            summary["ensemble_corrected_score"],
            summary["best_single_corrected_score"],
            100 * summary["ensemble_wins"],
        )
    return final


def _bag_loader(tracker: Tracker) -> BagLoader:
    """A trial's fold models, from its MLflow run, averaged (None when they cannot be loaded)."""

    def load(trial: optuna.trial.FrozenTrial) -> FittedEnsemble | None:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            folder = tracker.download_fold_models(trial.user_attrs.get(TrialAttr.MLFLOW_RUN_ID, ""), Path(tmp))
            try:
                if folder is None:
                    raise FileNotFoundError("its run holds no fold_models folder")
                bag = load_bag(folder, trial.number)
            except Exception as exc:  # noqa: BLE001 - a lost or damaged artifact: the trial is refit instead
                log.warning("could not load the fold models of trial %d (%s): refitting it", trial.number, exc)
                return None
        seconds = time.perf_counter() - started
        log.info("trial %d: its %d fold models loaded, averaged (%.1f s)", trial.number, len(bag.members), seconds)
        return bag

    return load


def _ensemble_summary(final: FinalModel) -> dict[str, Any] | None:
    choice = final.choice
    if choice is None:
        return None
    # the best trial alone may itself be several models (an averaged refit, or its fold models)
    of_trials = final.model is not final.best and isinstance(final.model, FittedEnsemble)
    used = final.model.weights if of_trials else [1.0]
    trials = final.model.trials if of_trials else [choice.best_single]
    return {
        "chosen": final.note,
        "members": {str(t): round(w, 4) for t, w in zip(trials, used, strict=True)},
        "selection": {str(t): round(w, 4) for t, w in choice.weights.items()},
        "ensemble_oof_score": choice.score,
        "best_single_oof_score": choice.best_single_score,
        "ensemble_corrected_score": choice.corrected_score,
        "best_single_corrected_score": choice.corrected_single_score,
        "ensemble_wins": choice.wins,
    }


def _best_trial(study: optuna.Study) -> dict[str, Any] | None:
    """The best completed trial's number, score ± std (the first metric), every objective's value and
    costs, fold scores, backend and configuration."""
    trial = best_trial(study)
    if trial is None:
        return None
    return {
        "trial": trial.number,
        "score": float(trial.values[0]),
        "values": trial_values(trial, objective_names(study)),
        "std": float(trial.user_attrs.get(TrialAttr.SCORE_STD, float("nan"))),
        "fold_scores": trial.user_attrs.get(TrialAttr.FOLD_SCORES),
        "backend": trial.user_attrs.get(TrialAttr.BACKEND),
        "config": trial.user_attrs[TrialAttr.CONFIG],
    }


def _report_summary(
    session: SearchSession, storage_url: str, counts: dict[str, int], best: dict[str, Any] | None
) -> dict[str, str]:
    settings, metric, goals = session.settings, session.parts.metric.name, session.parts.goals
    return {
        "study": session.study.study_name,
        "storage": redact(storage_url),
        "data": json.dumps(session.parts.dataset.summary(), default=str),
        "metric": ", ".join(f"{n} ({d})" for n, d in zip(goals.names, goals.directions, strict=True))
        + "".join(f"; constraint {c}" for c in goals.constraints),
        "cross-validation": f"{settings.n_splits} folds",
        "backends": ", ".join(settings.backends),
        "sampler / pruner": f"{settings.sampler}{' + local moves' * settings.local_moves} / {settings.pruner}",
        "finished trials": ", ".join(f"{n} {state.lower()}" for state, n in counts.items()) or "none",
        f"best {metric}": "-" if best is None else f"{best['score']:.4f} ± {best['std']:.4f} (trial {best['trial']})",
    }


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Our own lines report the study and its trials: silence Optuna's log lines meanwhile."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)
