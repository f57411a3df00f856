"""K-fold cross-validation of one ``ModelSpec``: a fresh model per fold, scores aggregated.

Free of Optuna and MLflow: callers observe progress through ``on_epoch``/``on_fold`` hooks,
and either hook can stop the evaluation (pruning) by returning True.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import BaseCrossValidator, GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

from automl.backends.base import BaseBackend, FitResult
from automl.data.dataset import Dataset, Preprocessor, take
from automl.data.target import TargetScaler
from automl.errors import ConfigError
from automl.model.spec import ModelSpec
from automl.trial.metrics import Metric, all_scores

Split = tuple[np.ndarray, np.ndarray]
NATIVE_EPOCH_METRICS = ("accuracy", "mae")  # the backends log them per epoch themselves (val_accuracy, val_mae)
SpecBuilder = Callable[[tuple[int, ...]], ModelSpec]  # input shape -> the trial's ModelSpec


def make_splitter(problem_type: str, n_splits: int, seed: int, *, groups: bool = False) -> BaseCrossValidator:
    """StratifiedKFold for classification, KFold for regression; shuffled and seeded.

    With ``groups``: StratifiedGroupKFold (classification) or GroupKFold (regression), so no
    group has rows on both sides of a split.
    """
    if not isinstance(n_splits, int) or isinstance(n_splits, bool) or n_splits < 2:
        raise ConfigError(f"n_splits must be an int >= 2, got {n_splits!r}")
    if groups:
        if problem_type == "classification":
            return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return GroupKFold(n_splits=n_splits)
    cls = StratifiedKFold if problem_type == "classification" else KFold
    return cls(n_splits=n_splits, shuffle=True, random_state=seed)


def make_splits(dataset: Dataset, n_splits: int, seed: int) -> list[Split]:
    """The ``(train_idx, valid_idx)`` folds of ``dataset`` (by its groups when it has them)."""
    splitter = make_splitter(dataset.problem_type, n_splits, seed, groups=dataset.groups is not None)
    return list(splitter.split(np.zeros(len(dataset.y)), dataset.y, dataset.groups))


def fit_preparation(dataset: Dataset, X: Any, y: np.ndarray) -> tuple[Preprocessor | None, TargetScaler | None]:
    """The preprocessor and the regression target scaler fitted on training rows ``X, y``
    (None where the data needs none); shared by the folds and the refit on all the data.
    """
    preprocessor = dataset.make_preprocessor().fit(X, y) if dataset.make_preprocessor is not None else None
    target = TargetScaler.fit(y) if dataset.problem_type == "regression" else None
    return preprocessor, target


@dataclass
class FoldData:
    """One fold's model-ready arrays. Regression targets are standardised on the training rows
    (``target``); ``y_valid_raw`` keeps the validation targets in their own units for scoring.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    y_valid_raw: np.ndarray
    target: TargetScaler | None
    preprocessor: Preprocessor | None = None  # fitted on the fold's training rows


class Folds:
    """The folds of one data set, preprocessed on each fold's training rows only.

    Preprocessing depends on the data, never on the trial, so each fold's arrays are computed
    once per process and reused by every trial (the cache is not pickled).
    """

    def __init__(self, dataset: Dataset, splits: list[Split]) -> None:
        self.dataset, self.splits = dataset, splits
        self._cache: dict[int, FoldData] = {}

    def __len__(self) -> int:
        return len(self.splits)

    def __getitem__(self, fold: int) -> FoldData:
        if fold not in self._cache:
            self._cache[fold] = self._prepare(*self.splits[fold])
        return self._cache[fold]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": {}}

    def _prepare(self, train_idx: np.ndarray, valid_idx: np.ndarray) -> FoldData:
        data = self.dataset
        X_train, X_valid = take(data.X, train_idx), take(data.X, valid_idx)
        y_train, y_valid = data.y[train_idx], data.y[valid_idx]
        preprocessor, target = fit_preparation(data, X_train, y_train)
        if preprocessor is not None:
            X_train, X_valid = preprocessor.transform(X_train), preprocessor.transform(X_valid)
        if target is not None:
            y_train, y_valid_model = target.transform(y_train), target.transform(y_valid)
            return FoldData(X_train, y_train, X_valid, y_valid_model, y_valid, target, preprocessor)
        return FoldData(X_train, y_train, X_valid, y_valid, y_valid, None, preprocessor)


@dataclass
class KeptModel:
    """A fold's trained model, kept to be saved: ``model`` itself, or (when the folds share one model
    object) that model with the fold's trained ``state`` to ``restore`` into it first."""

    model: Any
    spec: ModelSpec
    state: Any = None


@dataclass
class FoldResult:
    """One fold: its score (the optimized metric), every metric, the training curves, and the
    predictions for the fold's validation rows (probabilities or values, in the target's units)."""

    fold: int
    score: float
    scores: dict[str, float]
    fit: FitResult
    seconds: float
    predictions: np.ndarray | None = None
    kept: KeptModel | None = None  # the trained model, when cross_validate was asked to keep it


@dataclass
class CVResult:
    """All folds evaluated so far; ``stopped`` is True when a hook ended the evaluation early."""

    folds: list[FoldResult] = field(default_factory=list)
    stopped: bool = False

    @property
    def scores(self) -> np.ndarray:
        return np.array([f.score for f in self.folds], dtype=float)

    @property
    def mean(self) -> float:
        return float(self.scores.mean()) if self.folds else float("nan")

    @property
    def std(self) -> float:
        return float(self.scores.std()) if self.folds else float("nan")

    @property
    def best_epochs(self) -> list[int]:
        return [f.fit.best_epoch for f in self.folds]

    def out_of_fold(self, splits: list[tuple[np.ndarray, np.ndarray]], n_rows: int) -> np.ndarray:
        """Every row's prediction by the fold model that did not train on it (all folds evaluated)."""
        first = self.folds[0].predictions
        assert first is not None and len(self.folds) == len(splits)
        out = np.full((n_rows, *first.shape[1:]), np.nan, dtype=np.float32)
        for fold, (_, valid) in zip(self.folds, splits, strict=True):
            out[valid] = fold.predictions
        return out


FoldHook = Callable[[FoldResult, "CVResult"], bool]
EpochHook = Callable[[int, int, dict[str, float]], bool]
ModelHook = Callable[[Any, ModelSpec, "FoldData"], None]


def cross_validate(
    build: SpecBuilder,
    backend: BaseBackend,
    folds: Folds,
    metric: Metric,
    *,
    seed: int = 0,
    on_epoch: EpochHook | None = None,
    on_fold: FoldHook | None = None,
    on_first_model: ModelHook | None = None,
    keep_models: bool = False,
) -> CVResult:
    """Train and score a fresh model, built by ``build(input_shape)``, on each fold of ``folds``.

    When consecutive folds give the same spec and the backend can ``snapshot`` a model, the
    fold's model is the first one put back in its untrained state rather than a new one.

    ``on_epoch(fold, epoch, logs)`` runs after every epoch and ``on_fold(fold_result, cv)``
    after every fold, including a fold cut short by ``on_epoch`` (``fit.stopped_by_callback``);
    when either returns True the evaluation stops and ``stopped`` is set. ``on_first_model(model,
    spec, fold_data)`` sees the first fold's trained model before ``on_fold`` (to measure it, outside
    the fold's ``seconds``). With ``keep_models`` each fold result keeps its trained model
    (``FoldResult.kept``). Regression models
    train on standardised targets and are scored in the target's own units.
    """
    result = CVResult()
    model, built_spec, initial_state = None, None, None
    for fold in range(len(folds)):
        start = time.perf_counter()
        data = folds[fold]
        spec = build(tuple(int(d) for d in data.X_train.shape[1:]))
        backend.seed(seed + fold)
        if initial_state is not None and spec == built_spec:
            backend.restore(model, initial_state)  # same model, fresh start: no new graph to trace
        else:
            model, built_spec = backend.build(spec), spec
            initial_state = backend.snapshot(model)
        epoch_hook = None
        if on_epoch is not None:
            score = _validation_scorer(backend, model, data, metric) if fold == 0 else None
            epoch_hook = _fold_epoch_hook(on_epoch, fold, data.target, score)
        fit = backend.fit(
            model, spec, data.X_train, data.y_train, validation=(data.X_valid, data.y_valid), on_epoch=epoch_hook
        )
        output = backend.predict(model, data.X_valid)
        if data.target is not None:
            output = data.target.inverse(output)
            fit.history = {k: [_in_units(k, v, data.target) for v in vs] for k, vs in fit.history.items()}
        scores = all_scores(data.y_valid_raw, output, metric)
        kept = None
        if keep_models:  # a shared model object is overwritten by the next fold: keep its weights
            kept = KeptModel(model, spec, backend.snapshot(model) if initial_state is not None else None)
        seconds = time.perf_counter() - start
        result.folds.append(FoldResult(fold, scores[metric.name], scores, fit, seconds, np.asarray(output), kept))
        if fold == 0 and on_first_model is not None:
            on_first_model(model, spec, data)
        stop_requested = on_fold is not None and on_fold(result.folds[-1], result)  # called for logging too
        if fit.stopped_by_callback or stop_requested:
            result.stopped = True
            break
    return result


def _fold_epoch_hook(
    on_epoch: EpochHook, fold: int, target: TargetScaler | None, score: Callable[[], float] | None
) -> Callable[..., bool]:
    def hook(epoch: int, logs: dict[str, float]) -> bool:
        logs = {name: _in_units(name, value, target) for name, value in logs.items()}
        if score is not None:
            logs.update(score())
        return on_epoch(fold, epoch, logs)

    return hook


def _validation_scorer(
    backend: BaseBackend, model: Any, data: FoldData, metric: Metric
) -> Callable[[], dict[str, float]] | None:
    """For a metric the framework does not log per epoch (all but accuracy and mae): a function
    that scores the model on the fold's validation rows as ``val_<metric>``, so that the pruner
    sees the optimized metric at every epoch of the first fold, whatever it is."""
    if metric.name in NATIVE_EPOCH_METRICS:
        return None

    def score() -> dict[str, float]:
        output = backend.predict(model, data.X_valid)
        if data.target is not None:
            output = data.target.inverse(output)
        return {f"val_{metric.name}": float(metric.fn(data.y_valid_raw, output))}

    return score


def _in_units(name: str, value: float, target: TargetScaler | None) -> float:
    """A logged metric in the target's units: mean absolute errors scale back, losses stay standardised."""
    return value * target.scale if target is not None and name.endswith("mae") else value
