"""What a search optimizes: one metric, or several (a multi-objective study), and the constraints
every kept model meets. The one place that reads a trial's values by name and picks the best trial
and the Pareto front, for single- and multi-objective studies alike.

The first metric scores predictions; it is the one racing, the refit's early stopping and ensembles
use, and "the best trial" is the best completed trial on it (a member of the front). The others are
metrics too, or model costs (``automl.trial.costs``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.names import TrialAttr
from automl.trial.costs import COSTS, Constraint, parse_constraint
from automl.trial.metrics import Metric, get_metric


@dataclass(frozen=True)
class Goals:
    """The metrics a study optimizes (``metric`` first, then ``others``) and its ``constraints``."""

    metric: Metric
    others: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    _metrics: dict[str, Metric] = field(default_factory=dict, repr=False)  # the others that are metrics

    @classmethod
    def from_settings(
        cls,
        names: list[str],
        constraints: tuple[str, ...],
        problem_type: str,
        *,
        classes: list[Any] | None = None,
        positive_label: str | None = None,
    ) -> Goals:
        """The goals of a search over a ``problem_type`` target (``names``: none means the default metric)."""

        def metric(name: str | None) -> Metric:
            return get_metric(name, problem_type, classes=classes, positive_label=positive_label)

        first = metric(names[0] if names else None)
        others = tuple(names[1:])
        metrics = {name: metric(name) for name in others if name not in COSTS}
        parsed = tuple(parse_constraint(c) for c in constraints)
        for constraint in parsed:
            if constraint.name not in COSTS:
                metric(constraint.name)  # a metric of this problem type, or one clear error
        return cls(first, others, parsed, metrics)

    @property
    def names(self) -> list[str]:
        return [self.metric.name, *self.others]

    @property
    def directions(self) -> list[str]:
        return [self.direction(name) for name in self.names]

    @property
    def multi(self) -> bool:
        return bool(self.others)

    def direction(self, name: str) -> str:
        if name in COSTS:
            return "minimize"
        return self.metric.direction if name == self.metric.name else self._metrics[name].direction

    def costs_needed(self) -> set[str]:
        """The model costs this search measures: those optimized or constrained."""
        return {n for n in self.others if n in COSTS} | {c.name for c in self.constraints if c.name in COSTS}

    def values(self, known: dict[str, float]) -> list[float]:
        """A trial's objective values in order, from its CV means and costs by name."""
        return [float(known[name]) for name in self.names]

    def violations(self, known: dict[str, float]) -> list[float]:
        """Each constraint's violation (<= 0: met); 0 for a value not known (yet)."""
        return [c.violation(known[c.name]) if c.name in known else 0.0 for c in self.constraints]

    def broken(self, known: dict[str, float]) -> list[str]:
        """The constraints ``known`` values break, in words."""
        return [
            f"{c} ({c.name} = {known[c.name]:.6g})"
            for c in self.constraints
            if c.name in known and not c.met_by(known[c.name])
        ]


class StoredConstraints:
    """Optuna's ``constraints_func``: the violations a trial stored (``TrialAttr.CONSTRAINTS``); a
    trial that stopped before measuring counts as meeting them (it is never complete anyway)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __call__(self, trial: FrozenTrial) -> list[float]:
        stored = trial.user_attrs.get(TrialAttr.CONSTRAINTS)
        return [float(v) for v in stored] if stored and len(stored) == self.count else [0.0] * self.count


def is_multi_objective(study: optuna.Study) -> bool:
    return len(study.directions) > 1


def maximizes(study: optuna.Study, index: int = 0) -> bool:
    return study.directions[index] == optuna.study.StudyDirection.MAXIMIZE


def objective_names(study: optuna.Study) -> list[str]:
    """The names of the study's objectives (``score`` for a study made before they were recorded)."""
    names = study.metric_names
    return (
        list(names)
        if names
        else ["score"]
        if len(study.directions) == 1
        else [f"value_{i}" for i in range(len(study.directions))]
    )


def trial_values(trial: FrozenTrial, names: list[str]) -> dict[str, float]:
    """A completed trial's values by objective name, with its recorded costs and metrics' CV means."""
    values = {**(trial.user_attrs.get(TrialAttr.CV_MEANS) or {}), **(trial.user_attrs.get(TrialAttr.COSTS) or {})}
    if trial.values is not None:
        values.update(zip(names, trial.values, strict=False))
    return {k: float(v) for k, v in values.items() if v is not None}


def ranked_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The completed trials, best first on the first metric.

    Ties (equal to 12 decimals: a mean of fold accuracies often ties on a small data set) go to the
    lower out-of-fold log loss of a classification trial, which tells apart how sure the two were of
    the rows they got right and wrong; then to the earlier trial.
    """
    complete = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.values and math.isfinite(t.values[0])
    ]
    sign = 1 if maximizes(study) else -1
    return sorted(
        complete,
        key=lambda t: (
            round(-sign * t.values[0], 12),
            t.user_attrs.get(TrialAttr.OUT_OF_FOLD_LOG_LOSS, math.inf),
            t.number,
        ),
    )


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best completed trial on the first metric (with one metric: ``study.best_trial``)."""
    ranked = ranked_trials(study)
    return ranked[0] if ranked else None


def pareto_front(study: optuna.Study) -> list[FrozenTrial]:
    """The completed trials no other completed trial beats on every objective (all of them meet the
    constraints: a trial that breaks one never completes); with one metric, the best trial."""
    if not is_multi_objective(study):
        best = best_trial(study)
        return [] if best is None else [best]
    return sorted(study.best_trials, key=lambda t: t.number)
