"""Space health: do a space's random draws train? Each draw is trained on one fold of the data.

A draw "ends at chance" when its fold score is below ``chance + ½·(default − chance)``: chance is
what a constant prediction scores (the majority class's rate for accuracy, 0 for R²) and
default is the fold score of the space's default configuration. A healthy space has few such
draws: every one of them is search time spent on nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from sklearn.model_selection import train_test_split

from automl.backends import get_backend
from automl.data import take
from automl.errors import ConfigError
from automl.model import build_spec_for
from automl.run.session import SearchParts, build_search_parts
from automl.run.settings import SearchSettings
from automl.trial.cv import Folds, cross_validate, make_splits
from automl.trial.metrics import Metric, get_metric

HEALTH_METRIC = {"classification": "accuracy", "regression": "r2"}
MAX_AT_CHANCE = 0.1  # a healthy space: at most this fraction of its random draws end at chance


@dataclass
class Draw:
    """One configuration trained on the first fold."""

    number: int
    config: dict[str, Any]
    score: float  # the chance score when training failed
    seconds: float
    failed: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the Optuna parameters that drew it
    curve: list[float] = field(default_factory=list)  # the fold's validation score after each epoch
    epoch_ends: list[float] = field(default_factory=list)  # seconds from the draw's start to each epoch's end


@dataclass
class HealthReport:
    """The draws of a space and how many of them ended at chance."""

    space: str
    metric: str
    chance: float
    default_score: float
    draws: list[Draw] = field(default_factory=list)

    @property
    def threshold(self) -> float:
        """Below this fold score a draw ended at chance."""
        return self.chance + 0.5 * (self.default_score - self.chance)

    def at_chance(self, draw: Draw) -> bool:
        return draw.failed is not None or draw.score < self.threshold

    @property
    def fraction_at_chance(self) -> float:
        return float(np.mean([self.at_chance(d) for d in self.draws])) if self.draws else 0.0

    @property
    def time_fraction_at_chance(self) -> float:
        total = sum(d.seconds for d in self.draws)
        return sum(d.seconds for d in self.draws if self.at_chance(d)) / total if total else 0.0


def check_space_health(
    settings: SearchSettings,
    *,
    draws: int = 20,
    backend: str = "keras",
    seed: int = 0,
    max_rows: int | None = None,
    max_epochs: int | None = None,
) -> HealthReport:
    """Train the default configuration and ``draws`` random draws of the space on the first fold
    (of a stratified sample of ``max_rows`` rows of the data, and for at most ``max_epochs``
    epochs, when given: a quicker, stricter check). Keras runs on ``settings.keras_backend``."""
    parts = build_search_parts(settings)
    if max_rows is not None and len(parts.dataset.y) > max_rows:
        parts = _sample_rows(parts, settings, max_rows, seed)
    metric = get_metric(HEALTH_METRIC[parts.dataset.problem_type], parts.dataset.problem_type)
    folds = Folds(parts.dataset, parts.splits[:1])
    chance = _chance(parts, metric)
    train = functools.partial(_train, parts, folds, metric, backend, seed=seed, max_epochs=max_epochs)
    default = train(optuna.trial.FixedTrial(parts.space.defaults()), 0)
    if default.failed:
        raise ConfigError(f"{parts.space.source}: the space's default configuration does not train: {default.failed}")
    report = HealthReport(parts.space.source, metric.name, chance, default.score)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for number in range(draws):
        report.draws.append(train(sampler.ask(), number + 1))
    return report


def _sample_rows(parts: SearchParts, settings: SearchSettings, rows: int, seed: int) -> SearchParts:
    """The parts of a search on ``rows`` rows of its data (stratified for classification), re-split."""
    dataset = parts.dataset
    stratify = dataset.y if dataset.problem_type == "classification" else None
    keep, _ = train_test_split(np.arange(len(dataset.y)), train_size=rows, stratify=stratify, random_state=seed)
    keep = np.sort(keep)
    smaller = dataclasses.replace(
        dataset,
        X=take(dataset.X, keep),
        y=dataset.y[keep],
        groups=None if dataset.groups is None else dataset.groups[keep],
    )
    return dataclasses.replace(parts, dataset=smaller, splits=make_splits(smaller, settings.n_splits, settings.seed))


def _chance(parts: SearchParts, metric: Metric) -> float:
    if metric.name == "r2":
        return 0.0
    valid = parts.splits[0][1]
    return float(np.bincount(parts.dataset.y[valid]).max() / len(valid))


def _train(
    parts: SearchParts,
    folds: Folds,
    metric: Metric,
    backend_name: str,
    trial: Any,
    number: int,
    *,
    seed: int,
    max_epochs: int | None,
) -> Draw:
    backend = get_backend(backend_name)
    start = time.perf_counter()
    config: dict[str, Any] = {}
    curve: list[float] = []
    epoch_ends: list[float] = []

    key = f"val_{metric.name}"

    def on_epoch(fold: int, epoch: int, logs: dict[str, float]) -> bool:
        if key in logs:
            curve.append(float(logs[key]))
            epoch_ends.append(time.perf_counter() - start)
        return False

    try:
        config = parts.space.sample(trial)

        def spec(shape: tuple[int, ...]) -> Any:
            built = build_spec_for(config, parts.dataset, shape)
            return built if max_epochs is None else built.with_training(epochs=min(built.epochs, max_epochs))

        result = cross_validate(spec, backend, folds, metric, seed=seed + number, on_epoch=on_epoch)
        score = result.mean if np.isfinite(result.mean) else None
        failed = None if score is not None else "the score is not finite"
    except Exception as exc:  # a draw that cannot train ends at chance, like a failed trial
        score, failed = None, f"{type(exc).__name__}: {exc}"
    finally:
        backend.release()
    chance = _chance(parts, metric)
    seconds = time.perf_counter() - start
    score = chance if score is None else float(score)
    return Draw(number, config, score, seconds, failed, dict(trial.params), curve, epoch_ends)
