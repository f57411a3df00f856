"""The one set-up of a search's trials, shared by ``automl search`` and ``automl worker``.

Both rebuild the same parts from the settings (space, data, metric, folds), open the study with
heartbeats, sampler and pruner, fail the trials that processes gone from this host left running,
and make the objective the same way. Only the seed of the sampler and where the settings come
from (the arguments, or the study's record) differ.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from automl.backends.keras.engine import choose_engine
from automl.data import Dataset, load_dataset
from automl.errors import ConfigError
from automl.names import BACKEND_PARAM, TrialAttr
from automl.refit.bagging import save_fold_models
from automl.run.lost import LostTrialHandler, fail_trials_of_dead_local_processes
from automl.run.settings import SearchSettings
from automl.run.study import make_pruner, make_sampler, open_storage, open_study
from automl.space import SearchSpace, load_space
from automl.trial.cv import CVResult, Folds, make_splits
from automl.trial.goals import Goals
from automl.trial.metrics import Metric
from automl.trial.objective import FoldModelSink, Objective, TrialTracker
from automl.trial.progress import SearchProgress
from automl.trial.racing import ParetoRacing

DEFAULT_EPOCHS_PER_FOLD = 10
FirstConfigurations = Callable[
    [SearchSettings, SearchSpace, str], list[dict[str, Any]]
]  # the pruner's step axis when a space does not bound training.epochs


@dataclass
class SearchParts:
    """What every process of a search rebuilds from its settings: space, data, goals, folds."""

    space: SearchSpace
    dataset: Dataset
    goals: Goals
    splits: list[tuple[np.ndarray, np.ndarray]]
    epochs_per_fold: int

    @property
    def metric(self) -> Metric:
        """The first metric (the only one, unless the search is multi-objective)."""
        return self.goals.metric

    @property
    def chance(self) -> float | None:
        """The validation accuracy of a constant prediction, when the first metric is accuracy."""
        return self.dataset.majority_rate if self.metric.name == "accuracy" else None


def build_search_parts(settings: SearchSettings, *, space_yaml: str | None = None) -> SearchParts:
    """Load the space (``space_yaml``: its text as a study recorded it), the data, the metric and the folds;
    choose the engine Keras will run on (``settings.keras_backend``) before any backend is imported."""
    choose_engine(settings.keras_backend)
    if space_yaml is None:
        space = load_space(settings.space or settings.task)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "search_space.yaml"
            path.write_text(space_yaml, encoding="utf-8")
            space = load_space(path)
    dataset = load_dataset(settings.task, settings.data, n_splits=settings.n_splits, **settings.data_options())
    return SearchParts(
        space=space,
        dataset=dataset,
        goals=Goals.from_settings(
            settings.metrics,
            settings.constraints,
            dataset.problem_type,
            classes=dataset.classes,
            positive_label=settings.positive_label,
        ),
        splits=make_splits(dataset, settings.n_splits, settings.seed),
        epochs_per_fold=int(space.upper_bound("training.epochs") or DEFAULT_EPOCHS_PER_FOLD),
    )


@dataclass
class SearchSession:
    """An opened search: its study, its parts, and the trials found lost when it opened."""

    settings: SearchSettings
    parts: SearchParts
    study: optuna.Study
    tracker: TrialTracker
    on_lost: LostTrialHandler
    lost: list[int]  # trials that processes gone from this host left running: failed and queued again

    def objective(self, progress: SearchProgress, deadline: float | None = None) -> Objective:
        """The Optuna objective of this search (``deadline``: ``time.time()`` at which trials stop)."""
        parts = self.parts
        return Objective(
            space=parts.space,
            dataset=parts.dataset,
            backends=self.settings.backends,
            splits=parts.splits,
            goals=parts.goals,
            tracker=self.tracker,
            epochs_per_fold=parts.epochs_per_fold,
            seed=self.settings.seed,
            progress=progress,
            deadline=deadline,
            racing=ParetoRacing(parts.goals, chance=parts.chance)
            if self.settings.pruner == "racing" and parts.goals.multi
            else None,
            keep_fold_models=self._fold_model_sink() if self.settings.bags_fold_models else None,
        )

    def _fold_model_sink(self) -> FoldModelSink:
        """Save a trial's fold models and log them to its MLflow run (``--final-model folds``)."""
        tracker, dataset = self.tracker, self.parts.dataset

        def keep(run_id: str, backend: Any, cv: CVResult, folds: Folds) -> None:
            with tempfile.TemporaryDirectory() as tmp:
                save_fold_models(backend, cv, folds, dataset, Path(tmp))
                tracker.log_fold_models(run_id, tmp)

        return keep


def open_search(
    settings: SearchSettings,
    parts: SearchParts,
    *,
    study_name: str,
    storage_url: str,
    tracker: TrialTracker,
    sampler_seed: int,
    heartbeat_s: int,
    first_configurations: FirstConfigurations | None = None,
) -> SearchSession:
    """Create or resume the study of a search and make it ready to run trials.

    Heartbeats (RDB storages) let any process find trials whose worker stopped beating; trials of
    processes of this host that no longer exist are failed at once. Both end the lost trial's
    MLflow run and queue its configuration again. A new study (made by a search, which passes
    ``first_configurations``) starts from the space's defaults, then those configurations; a study
    that has trials gets a sampler seed of its own (``resumed_seed``).
    """
    on_lost = LostTrialHandler(tracker)
    goals = parts.goals
    shape = {"objectives": len(goals.names), "constraints": len(goals.constraints)}
    study = open_study(
        name=study_name,
        storage=open_storage(storage_url, heartbeat_interval=heartbeat_s, failed_trial_callback=on_lost),
        direction=goals.directions,
        metric_names=goals.names,
        sampler=make_sampler(settings.sampler, sampler_seed, **shape),
        pruner=make_pruner(
            settings.pruner,
            epochs_per_fold=parts.epochs_per_fold,
            n_splits=len(parts.splits),
            chance=parts.chance,
            objectives=len(goals.names),
        ),
    )
    _check_folds(study, len(parts.splits))
    existing = len(study.get_trials(deepcopy=False))
    if existing:  # a resumed study, or a worker joining: a seed of its own, so no earlier draw is replayed
        study.sampler = make_sampler(settings.sampler, resumed_seed(sampler_seed, existing), **shape)
    elif first_configurations is not None:
        _enqueue_defaults(study, parts.space, settings.backends)
        for params in first_configurations(settings, parts.space, storage_url):
            study.enqueue_trial(params, skip_if_exists=True)
    lost = fail_trials_of_dead_local_processes(study, on_lost)
    return SearchSession(settings, parts, study, tracker, on_lost, lost)


def _check_folds(study: optuna.Study, folds: int) -> None:
    """Refuse to resume a study whose trials were cross-validated over another number of folds: their
    scores, racing and fold models would not be comparable with this search's."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        scores = trial.user_attrs.get(TrialAttr.FOLD_SCORES)
        if scores and len(scores) != folds:
            raise ConfigError(
                f"study {study.study_name!r} cross-validated its trials over {len(scores)} folds, this search over "
                f"{folds}; resume it with --n-splits {len(scores)} (n_splits={len(scores)}), or start a new study "
                "(--study NAME)"
            )


def resumed_seed(seed: int, trials: int) -> int:
    """The sampler seed of a process that opens a study holding ``trials`` trials.

    A fresh study keeps ``seed`` (a one-worker search with --seed repeats). A resumed study, a
    restarted worker or a worker that joins gets another seed, derived from ``seed`` and the
    number of trials already there: its sampler does not replay the draws of the ones before.
    """
    return (seed + zlib.crc32(f"resume-{trials}".encode())) % 2**31


def _enqueue_defaults(study: optuna.Study, space: SearchSpace, backends: list[str]) -> None:
    """Start a new study from the space's default configuration (a known-good point)."""
    params = space.defaults()
    if params:
        if len(backends) > 1:
            params[BACKEND_PARAM] = backends[0]
        study.enqueue_trial(params, skip_if_exists=True)
