"""Optuna studies: storage URLs, samplers, pruners, and creating or resuming a study."""

from __future__ import annotations

import importlib.util
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import optuna
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError

from automl.errors import ConfigError, unknown
from automl.logs import get_logger
from automl.run.settings import PRUNERS, SAMPLERS
from automl.stores import redact
from automl.trial.goals import StoredConstraints
from automl.trial.racing import FoldRacing, StepAxis

log = get_logger(__name__)

DEFAULT_HEARTBEAT_S = 10
HEARTBEAT_GRACE = 3  # heartbeat intervals without a beat before a running trial counts as lost
SCHEMA_RACE_RETRIES = 5  # attempts to open a fresh RDB storage that other processes are creating at the same time


def heartbeat_seconds() -> int:
    """Seconds between a running trial's heartbeats (``AUTOML_HEARTBEAT_S``, default 10)."""
    return int(os.environ.get("AUTOML_HEARTBEAT_S", DEFAULT_HEARTBEAT_S))


# NSGA-II's generation: Optuna's default is 50, more than most searches run in all; 10 lets it evolve
# within a few dozen trials (for long searches, the multi-objective TPE is the default anyway).
NSGA2_POPULATION = 10
# Samplers whose Optuna implementation imports an optional package when it first samples.
_SAMPLER_NEEDS = {"cmaes": "cmaes", "gp": "torch"}


def make_sampler(
    name: str, seed: int | None, *, objectives: int = 1, constraints: int = 0
) -> optuna.samplers.BaseSampler:
    """The Optuna sampler called ``name`` for a study of ``objectives`` metrics; with ``constraints``,
    it reads each trial's stored constraint violations (``StoredConstraints``) to tell feasible
    configurations from the others."""
    constraints_func = StoredConstraints(constraints) if constraints else None
    if objectives > 1 and name == "cmaes":
        raise ConfigError("the 'cmaes' sampler optimizes one metric; with several, use tpe, nsga2, random, gp or qmc")
    if constraints_func is not None and name in ("cmaes", "qmc", "random"):
        log.info("the %r sampler ignores constraints when it samples (trials that break them still end pruned)", name)
    if name == "tpe":
        # multivariate + group models the conditional branches of our spaces jointly;
        # constant_liar keeps parallel workers from sampling the same point.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed,
                multivariate=True,
                group=True,
                constant_liar=True,
                n_startup_trials=8,
                constraints_func=constraints_func,
            )
    if name == "nsga2":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.NSGAIISampler(
                seed=seed, population_size=NSGA2_POPULATION, constraints_func=constraints_func
            )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name in _SAMPLER_NEEDS and importlib.util.find_spec(_SAMPLER_NEEDS[name]) is None:
        package = _SAMPLER_NEEDS[name]
        raise ConfigError(f"the {name!r} sampler needs the {package!r} package (pip install {package}); pick another")
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.GPSampler(seed=seed, constraints_func=constraints_func)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    raise ConfigError(unknown("sampler", name, SAMPLERS))


def make_pruner(
    name: str, *, epochs_per_fold: int, n_splits: int, chance: float | None = None, objectives: int = 1
) -> optuna.pruners.BasePruner:
    """The pruner called ``name``, with resources measured on the trials' step axis (``StepAxis``):
    epoch ``e`` of the first fold is step ``e``; the end of fold ``k`` is step ``(k + 1)·E − 1``.

    ``racing`` (the default) races configurations over folds and prunes the first fold's epochs
    with Hyperband (``automl.trial.racing``); ``chance`` is the validation accuracy of a constant
    prediction (None when the reported metric is no accuracy). The others are Optuna's pruner of
    that name over the whole axis. Optuna's pruners take one value: a study of several
    ``objectives`` gets none here (its trials race through ``ParetoRacing`` instead).
    """
    if objectives > 1:
        if name not in ("racing", "none"):
            raise ConfigError(
                f"the {name!r} pruner compares one value per trial and cannot prune a search of several metrics; "
                "use racing (the default) or none"
            )
        return optuna.pruners.NopPruner()
    min_resource = max(1, epochs_per_fold // 4)
    if name == "racing":
        # brackets from one epoch up, as Hyperband is meant to hedge: the boldest ranks
        # configurations after their second epoch, the most patient not before their tenth
        first_fold = optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max(epochs_per_fold - 1, 1), reduction_factor=3
        )
        return FoldRacing(StepAxis(epochs_per_fold), epoch_pruner=first_fold, chance=chance)
    if name == "hyperband":
        max_resource = epochs_per_fold * n_splits
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=max_resource, reduction_factor=3)
    if name == "sha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=3)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=min_resource)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(unknown("pruner", name, PRUNERS))


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    failed_trial_callback: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; fails with one clear line when it cannot be reached.

    With ``heartbeat_interval`` (seconds; RDB storages only) a running trial whose worker has
    not beaten for ``HEARTBEAT_GRACE`` intervals is failed, and ``failed_trial_callback`` runs for it.
    """
    try:
        if url.startswith(("sqlite:", "postgresql", "mysql")):
            kwargs: dict[str, Any] = {}
            if heartbeat_interval:
                kwargs.update(
                    heartbeat_interval=heartbeat_interval,
                    grace_period=HEARTBEAT_GRACE * heartbeat_interval,
                    heartbeat_stale_trial_callback=failed_trial_callback,
                )
            if url.startswith("sqlite:"):
                kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
            # SQLAlchemy >= 2.1 maps a bare postgresql:// to psycopg 3; the driver we install is psycopg2
            engine_url = "postgresql+psycopg2://" + url[13:] if url.startswith("postgresql://") else url
            return _open_rdb_storage(engine_url, kwargs)
        return optuna.storages.get_storage(url)
    except Exception as exc:  # any driver error: unreachable host, bad credentials, missing file
        raise ConfigError(f"cannot open the Optuna storage {redact(url)}: {str(exc).splitlines()[0]}") from None


def _open_rdb_storage(engine_url: str, kwargs: dict[str, Any]) -> optuna.storages.RDBStorage:
    """``RDBStorage(engine_url, **kwargs)``, tolerant of other processes creating the same fresh schema.

    Optuna creates the tables and stamps the schema version on first use; two processes doing that
    at once (a search and its workers, or workers on several hosts, starting on an empty database)
    collide ("table ... already exists", a unique constraint). The loser finds the schema made when it
    tries again.
    """
    for attempt in range(1, SCHEMA_RACE_RETRIES):
        try:
            return _rdb_storage(engine_url, kwargs)
        except DBAPIError as exc:
            if not (isinstance(exc, IntegrityError) or "already exists" in str(exc)):
                raise
            time.sleep(0.2 * attempt)
    return _rdb_storage(engine_url, kwargs)


def _rdb_storage(engine_url: str, kwargs: dict[str, Any]) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats: stable for years
        storage = optuna.storages.RDBStorage(engine_url, **kwargs)
    if engine_url.startswith("sqlite:"):
        _lock_sqlite_transactions(storage.engine)
    return storage


def _lock_sqlite_transactions(engine: Engine) -> None:
    """Make each SQLite transaction take the database's write lock when it begins (``BEGIN IMMEDIATE``).

    Optuna claims a queued trial by reading that it is WAITING and then marking it RUNNING; on
    PostgreSQL the read locks the row (``FOR UPDATE``), but Python's sqlite3 runs the read outside any
    transaction, so two workers could both claim one trial and one would later fail to finish it
    ("Cannot tell a COMPLETE trial"). SQLAlchemy's recipe for serializable SQLite: the driver stops
    opening transactions itself and each one starts with the lock (other workers wait up to the timeout).
    """

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_with_the_lock(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # the connections made before the listeners reopen with them


def open_study(
    *,
    name: str,
    storage: str | optuna.storages.BaseStorage,
    direction: str | list[str],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    metric_names: list[str] | None = None,
) -> optuna.Study:
    """Create the study, or load it when it exists (resume). ``storage``: a URL or an opened storage;
    ``direction``: one, or one per metric (``metric_names``) of a multi-objective study."""
    directions = [direction] if isinstance(direction, str) else list(direction)
    study = optuna.create_study(
        study_name=name,
        storage=open_storage(storage) if isinstance(storage, str) else storage,
        directions=directions,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    had = [d.name.lower() for d in study.directions]
    if had != directions:
        raise ConfigError(
            f"study {name!r} exists and is set to {', '.join(had)}, but the metric asks to {', '.join(directions)}; "
            "use another --study name"
        )
    if metric_names:
        if study.metric_names is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(metric_names)
        elif list(study.metric_names) != metric_names:
            raise ConfigError(
                f"study {name!r} exists and optimizes {', '.join(study.metric_names)}, but this search asks for "
                f"{', '.join(metric_names)}; use another --study name"
            )
    return study
