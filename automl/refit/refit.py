"""Refit: the best trial's configuration trained on all the data, then logged as an MLflow model."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna

from automl.backends import get_backend
from automl.data import Dataset, take
from automl.logs import get_logger
from automl.model import build_spec_for
from automl.names import TrialAttr
from automl.refit.ensemble import CANDIDATES, EnsembleChoice, choose_ensemble
from automl.refit.fitted import FittedEnsemble, FittedModel
from automl.refit.pyfunc import log_pyfunc_model
from automl.trial.cv import fit_preparation
from automl.trial.goals import best_trial, ranked_trials
from automl.trial.metrics import Metric

log = get_logger(__name__)

EXAMPLE_ROWS = 5  # inputs logged with the model, for its signature
DEFAULT_FOLDS = 5  # a refit holds out 1/k of the rows to stop on: k of a trial without fold scores
MIN_ROWS_TO_HOLD_OUT = 50


def refit_trial(
    best: optuna.trial.FrozenTrial,
    dataset: Dataset,
    seed: int,
    hold_out: float | None = None,
    *,
    models: int = 1,
) -> FittedModel | FittedEnsemble:
    """Train a trial's configuration on all the data; with ``models`` > 1, that many times, averaged.

    Image and tabular models with early stopping in their configuration train like one more fold
    model: a stratified ``1/k`` of the rows (``k`` the trial's folds) is held out to stop on and
    the best epoch's weights are kept, so the trial's CV score estimates the refit model. A fixed
    epoch count (the folds' mean best epoch) on every row lands on whatever the last epoch gives:
    measured on a digits CNN with batch norm and augmentation, its test accuracy was 0.914–0.969
    over 4 seeds (mean 0.940), against 0.961–0.997 (mean 0.980) holding out a fifth (0.980 with a
    tenth). Text models, and models without early stopping, train on every row for the folds'
    mean best epoch count: an embedding learns a word only from the texts that contain it, and a
    held-out fifth took its words' texts away (README "How a trial is scored" has the figures).

    ``models`` > 1 (``--refit-models``): model ``i`` starts from other initial weights (seed
    ``seed + i``) and holds out other rows to stop on; their outputs are averaged (README "The
    refit: several models, averaged" has the figures).

    ``hold_out`` (for ``benchmarks/refit_strategy.py``): the share held out to stop on (None: the
    rule above); 0 trains on every row for the folds' mean best epoch count.
    """
    backend = get_backend(best.user_attrs.get(TrialAttr.BACKEND, "keras"))
    X, y = dataset.X, dataset.y
    preprocessor, target = fit_preparation(dataset, X, y)  # the model keeps both, fitted on all rows
    if preprocessor is not None:
        X = preprocessor.transform(X)
    if target is not None:
        y = target.transform(y)
    spec = build_spec_for(best.user_attrs[TrialAttr.CONFIG], dataset, X.shape[1:])
    share = refit_hold_out(best, dataset) if hold_out is None else hold_out
    fitted = []
    for index in range(models):
        backend.seed(seed + index)
        model = backend.build(spec)
        held_out = _stopping_rows(dataset, share, seed + index) if spec.early_stopping_patience and share else None
        if held_out is None:
            epochs = max(1, round(float(np.mean(best.user_attrs.get(TrialAttr.BEST_EPOCHS) or [spec.epochs]))))
            backend.fit(model, spec, X, y, epochs=epochs)
        else:
            train, valid = held_out
            epochs = backend.fit(model, spec, X[train], y[train], validation=(X[valid], y[valid])).best_epoch
        fitted.append(
            FittedModel(
                backend.name,
                spec.with_training(epochs=epochs),
                model,
                dataset.classes,
                preprocessor=preprocessor,
                target=target,
                task=dataset.task,
            )
        )
    if len(fitted) == 1:
        return fitted[0]
    return FittedEnsemble(fitted, [1 / len(fitted)] * len(fitted), [best.number] * len(fitted))


def refit_hold_out(trial: optuna.trial.FrozenTrial, dataset: Dataset) -> float:
    """The share of rows a refit holds out to stop on: ``1/k`` (``k`` the trial's folds), 0 for text."""
    if dataset.task == "text":
        return 0.0
    folds = len(trial.user_attrs.get(TrialAttr.FOLD_SCORES) or []) or DEFAULT_FOLDS
    return 1 / max(folds, 2)


def _stopping_rows(dataset: Dataset, share: float, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Row indices (train, held out) for a refit's early stopping: a stratified ``share`` (random for
    regression; by group with groups), or None when the data are too small to spare it."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    rows = np.arange(len(dataset.y))
    if len(rows) < MIN_ROWS_TO_HOLD_OUT:
        return None
    if dataset.groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
        return next(splitter.split(rows, groups=dataset.groups))
    stratify = dataset.y if dataset.problem_type == "classification" else None
    try:
        return tuple(train_test_split(rows, test_size=share, stratify=stratify, random_state=seed))
    except ValueError:  # a class too small to stratify: a plain random tenth
        return tuple(train_test_split(rows, test_size=share, random_state=seed))


def log_refit_model(fitted: FittedModel | FittedEnsemble, dataset: Dataset, *, tracking_uri: str, run_id: str) -> str:
    """Log the refit model as an MLflow pyfunc model of the search's run ``run_id``; return its URI."""
    example = take(dataset.X, np.arange(min(EXAMPLE_ROWS, len(dataset.y))))
    mlflow_logger = logging.getLogger("mlflow")
    previous = mlflow_logger.level
    mlflow_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's advice on type hints and pickling, not actionable by users
            return log_pyfunc_model(fitted, example, tracking_uri=tracking_uri, run_id=run_id)
    finally:
        mlflow_logger.setLevel(previous)


@dataclass
class FinalModel:
    """The model a search hands over: the best trial (refit, or its fold models averaged), or an
    ensemble of such trials."""

    model: FittedModel | FittedEnsemble
    best: FittedModel | FittedEnsemble  # the best trial's model (a member of the ensemble, if there is one)
    choice: EnsembleChoice | None  # what the ensemble selection chose and its scores (None: no ensemble tried)
    note: str  # one line on what was chosen and why
    refit_device: str | None = None  # where the best trial was refit (cpu, gpu:0); None: its fold models


BagLoader = Callable[[optuna.trial.FrozenTrial], FittedEnsemble | None]  # a trial's kept fold models, averaged


def refit_final(
    study: optuna.Study,
    dataset: Dataset,
    metric: Metric,
    *,
    seed: int,
    ensemble_size: int,
    load_out_of_fold: Callable[[str], np.ndarray | None],
    seconds_left: Callable[[], float | None],
    load_bag: BagLoader | None = None,
    refit_models: int = 1,
) -> FinalModel:
    """Refit the best trial; with ``ensemble_size`` > 1, choose an ensemble on the completed trials'
    out-of-fold predictions and refit its other members while ``seconds_left()`` allows.

    With ``load_bag`` (``--final-model folds``) a trial's model is its kept fold models averaged
    instead of a refit, and the ensemble chooses among the trials that kept theirs; a trial whose
    fold models cannot be loaded is refit. The ensemble replaces the best trial when its
    bootstrap-corrected score beats choosing the best single trial the same way and it beats it
    in most of the bootstrap rounds (``automl.refit.ensemble``). A refit trains ``refit_models``
    models, averaged (``refit_trial``).
    """
    leader = best_trial(study)
    assert leader is not None, "refit_final needs a completed trial"

    def bag_of(trial: optuna.trial.FrozenTrial) -> FittedEnsemble | None:
        return load_bag(trial) if load_bag is not None and trial.user_attrs.get(TrialAttr.FOLD_MODELS) else None

    def final_of(trial: optuna.trial.FrozenTrial) -> FittedModel | FittedEnsemble:
        bag = bag_of(trial)
        return bag if bag is not None else _timed_refit(trial, dataset, seed, refit_models)

    leader_bag = bag_of(leader)
    best = leader_bag if leader_bag is not None else _timed_refit(leader, dataset, seed, refit_models)
    device = None if leader_bag is not None else refit_device(leader)

    def handed(model: FittedModel | FittedEnsemble, choice: EnsembleChoice | None, note: str) -> FinalModel:
        return FinalModel(model, best, choice, note, device)

    if ensemble_size <= 1:
        return handed(best, None, "ensembles off")
    started = time.perf_counter()
    kept = (lambda t: bool(t.user_attrs.get(TrialAttr.FOLD_MODELS))) if load_bag is not None else None
    predictions = _out_of_fold_predictions(study, dataset, load_out_of_fold, kept)
    if len(predictions) < 2:
        return handed(best, None, "fewer than two completed trials with out-of-fold predictions")
    choice = choose_ensemble(predictions, dataset.y, metric, ensemble_size, seed)
    log.info(
        "ensemble selection over %d trials' out-of-fold predictions: %.1f s",
        len(predictions),
        time.perf_counter() - started,
    )
    if len(choice.counts) < 2 or not _better(choice.corrected_score, choice.corrected_single_score, metric):
        return handed(best, choice, "the best trial alone scores as well as an ensemble")
    if not choice.wins_most_rounds:
        note = f"the best trial alone: an ensemble beat it in only {choice.wins:.0%} of the bootstrap rounds"
        return handed(best, choice, note)
    members, weights, trials = [], [], []
    trials_by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    for number, weight in choice.weights.items():
        trial = trials_by_number[number]
        left, needed = seconds_left(), final_estimate(trial, bagged=load_bag is not None, refit_models=refit_models)
        if number != leader.number and left is not None and left < needed:
            log.info("no time for trial %d's final model (about %.0f s, %.0f s left)", number, needed, left)
            continue  # the ensemble goes on without this member
        members.append(best if number == leader.number else final_of(trial))
        weights.append(weight)
        trials.append(number)
    if len(members) < 2:
        return handed(best, choice, "no time left to refit a second member")
    total = sum(weights)
    ensemble = FittedEnsemble(members, [w / total for w in weights], trials)
    return handed(ensemble, choice, f"an ensemble of trials {', '.join(map(str, trials))}")


def _out_of_fold_predictions(
    study: optuna.Study,
    dataset: Dataset,
    load: Callable[[str], np.ndarray | None],
    eligible: Callable[[optuna.trial.FrozenTrial], bool] | None = None,
) -> dict[int, np.ndarray]:
    """The out-of-fold predictions of the best (``eligible``) completed trials (at most ``CANDIDATES``)."""
    found = {}
    ranked = [t for t in ranked_trials(study) if eligible is None or eligible(t)]
    for trial in ranked[:CANDIDATES]:
        run_id = trial.user_attrs.get(TrialAttr.MLFLOW_RUN_ID)
        predictions = load(run_id) if run_id else None
        if predictions is not None and len(predictions) == len(dataset.y) and np.isfinite(predictions).all():
            found[trial.number] = predictions
    return found


def _timed_refit(
    trial: optuna.trial.FrozenTrial, dataset: Dataset, seed: int, models: int
) -> FittedModel | FittedEnsemble:
    started = time.perf_counter()
    fitted = refit_trial(trial, dataset, seed, models=models)
    log.info(
        "refit of trial %d (%d model%s) on %s: %.1f s (estimated %.1f s)",
        trial.number,
        models,
        "" if models == 1 else "s, averaged",
        refit_device(trial),
        time.perf_counter() - started,
        refit_estimate(trial, models),
    )
    return fitted


def refit_device(trial: optuna.trial.FrozenTrial) -> str:
    """Where this process trains ``trial``'s configuration: ``cpu`` or ``gpu:0`` (the first visible GPU)."""
    return get_backend(trial.user_attrs.get(TrialAttr.BACKEND, "keras")).device()


def refit_estimate(trial: optuna.trial.FrozenTrial, models: int = 1) -> float:
    """A refit trains ``models`` models like one of the trial's fold models: each about its time per fold."""
    folds = trial.user_attrs.get(TrialAttr.FOLD_SCORES) or [0]
    return models * float(trial.user_attrs.get(TrialAttr.DURATION_S, 0.0)) / len(folds)


# logging one model as part of the final MLflow model: saving it, and MLflow loading it back to
# predict the input example (a Keras model on 2 cores: 6.8 s for 10 fold models, 2026-12-05)
LOG_MODEL_S = 0.7
LOAD_MODEL_S = 0.3  # loading one kept fold model back from its trial's run (a Keras model on 2 cores: 0.1-0.3 s)
BAG_LOAD_S = LOAD_MODEL_S + LOG_MODEL_S  # a kept fold model in the final model: loaded, then logged


def final_estimate(trial: optuna.trial.FrozenTrial, *, bagged: bool, refit_models: int = 1) -> float:
    """Seconds to make ``trial``'s final model and log it: load its kept fold models, or refit it."""
    if bagged and trial.user_attrs.get(TrialAttr.FOLD_MODELS):
        return BAG_LOAD_S * len(trial.user_attrs.get(TrialAttr.FOLD_SCORES) or [0])
    return refit_estimate(trial, refit_models) + refit_models * LOG_MODEL_S


def _better(value: float, than: float, metric: Metric) -> bool:
    return value > than if metric.direction == "maximize" else value < than
