"""Names that are schema: the keys automl writes into Optuna studies and MLflow runs, defined once.

Studies and runs outlive the code that wrote them (a study resumed by a newer automl, a run read
by ``automl show``), so these strings never change; code refers to them only through this module.
"""

from __future__ import annotations

import os


class TrialAttr:
    """User attributes of an Optuna trial."""

    CONFIG = "config"  # the sampled configuration (nested dict)
    BACKEND = "backend"  # the backend that trained it
    MLFLOW_RUN_ID = "mlflow_run_id"
    SCORE_STD = "score_std"
    FOLD_SCORES = "fold_scores"
    BEST_EPOCHS = "best_epochs"  # per fold: the epoch whose weights were kept
    DURATION_S = "duration_s"
    FAIL_REASON = "fail_reason"  # why a FAIL trial failed
    STOP_REASON = "stop_reason"  # why a PRUNED trial stopped, when not by the pruner (the time budget)
    STOPPED_BY = "stopped_by"  # what stopped a PRUNED trial: raced, chance, epochs, pruner, budget or constraint
    PROMISING = "promising"  # stopped by rung arithmetic while not behind the best trial: worth completing
    COMPLETES = "completes"  # this trial runs trial N's configuration to the end (N was promising)
    MOVED_FROM = "moved_from"  # a local move: this trial changes one parameter of trial N (the incumbent then)
    MOVE = "move"  # a local move's change, e.g. "optimizer.adam.learning_rate: 0.003 -> 0.0021"
    SURPLUS = "surplus"  # skipped before training: the budget was taken by other workers
    DUPLICATE_OF = "duplicate_of"  # skipped before training: trial N tried the same configuration
    FOLD_MODELS = "fold_models"  # True when the trial's trained fold models are kept in its MLflow run
    CV_MEANS = "cv_means"  # a completed trial's mean over its folds of every metric scored
    OUT_OF_FOLD_LOG_LOSS = "out_of_fold_log_loss"  # a completed classification trial's: breaks ties of the best
    COSTS = "costs"  # what the model costs: n_params always, model_bytes and latency_ms when a goal names them
    CONSTRAINTS = "constraints"  # per --constraint, its violation (<= 0: met), read by the sampler
    WORKER = "automl.worker"  # the worker id that ran it (w0, w1, a user's --worker-id)
    WORKER_PID = "automl.worker_pid"  # host:pid of the process that ran it (see ``host_pid``)


class StudyAttr:
    """User attributes of an Optuna study."""

    SETTINGS = "automl.settings"  # the versioned settings record a worker rebuilds the search from


class Tag:
    """MLflow tags of automl's runs (``TRIAL_NUMBER`` and ``EXPERIMENT_KIND`` are read by other tools)."""

    STATE = "automl.state"  # COMPLETE, PRUNED or FAIL, on a trial run
    BACKEND = "automl.backend"
    ENGINE = "automl.engine"  # what runs the backend's computations: tensorflow or jax (Keras), mxnet
    DEVICE = "automl.device"
    WORKER = TrialAttr.WORKER
    WORKER_DEVICE = "automl.worker_device"
    HOST_PID = "automl.host_pid"  # the process that opened the run
    TASK = "automl.task"
    STUDY = "automl.study"
    STORAGE = "automl.storage"
    MODEL_URI = "automl.model_uri"  # on a search's parent run: its refit best model
    REFIT_DEVICE = "automl.refit_device"  # on a search's parent run: where the best trial was refit (cpu, gpu:0)
    PARETO = "automl.pareto"  # "true" on the run of a trial on the Pareto front of a search of several metrics
    MOVE = "automl.move"  # on a local move's run: "from trial N: <parameter>: <old> -> <new>"
    NOTE = "automl.note"  # something a reader of the run should know (e.g. it was ended later)
    TRIAL_NUMBER = "optuna.trial_number"
    FAIL_REASON = TrialAttr.FAIL_REASON
    STOP_REASON = TrialAttr.STOP_REASON
    EXPERIMENT_KIND = "mlflow.experimentKind"  # makes the MLflow 3 UI open an experiment on its runs table


BACKEND_PARAM = "backend"  # the Optuna parameter of a search over several backends
EXPORT_MLFLOW_DIR = "mlflow_model"  # the MLflow model inside a folder automl export wrote


def this_host() -> str:
    """The name of this host, as ``host_pid`` writes it."""
    return os.uname().nodename


def host_pid(pid: int | None = None) -> str:
    """``HOST:PID`` of this process (or of ``pid`` on this host): who runs a trial or opened a run."""
    return f"{this_host()}:{os.getpid() if pid is None else pid}"


def split_host_pid(value: object) -> tuple[str, int | None]:
    """``("host", pid)`` of a ``host_pid`` value; pid None when the value is not one."""
    host, _, pid = str(value).rpartition(":")
    return host, int(pid) if pid.isdigit() else None
