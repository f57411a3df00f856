"""Local moves: between the sampler's proposals, the search tries a small change of its best configuration.

A short search evaluates a handful of configurations; drawn at random (or by a sampler still in
its random start-up) from a whole space, few of them beat a good first configuration. So the
search interleaves the sampler with local search, as SMAC does (Hutter, Hoos & Leyton-Brown,
"Sequential Model-Based Optimization for General Algorithm Configuration", LION 2011): after each
trial the sampler proposed, one *neighbour* of the incumbent is queued. The incumbent is the best
completed trial (with several metrics, a member of the Pareto front picked at random). A neighbour
changes one parameter (SMAC's one-exchange neighbourhood): a number moves by a Gaussian step of
0.2 of its range (on the log scale for log ranges), a choice becomes another choice. Parameters
the change brings in (a new architecture family's) are drawn by the sampler.

The queued trial is an ordinary trial of the study (Optuna's ``enqueue_trial``), marked with the
trial it moved from and the change (``TrialAttr.MOVED_FROM``, ``TrialAttr.MOVE``); it races and
counts toward the budget like any other.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from automl.names import TrialAttr
from automl.run.budget import budget_counts
from automl.trial.goals import pareto_front

STEP = 0.2  # SMAC's standard deviation of a numeric move, as a share of the (log) range
ATTEMPTS = 50  # draws of a neighbour before giving up (every neighbour tried already)
FIXED_PARAMS = "fixed_params"  # Optuna's system attribute on a queued trial: the parameters it was given


def proposed_by_sampler(trial: FrozenTrial) -> bool:
    """The sampler drew this trial's parameters: it was not queued (the defaults, a portfolio or warm
    start, a local move, the completion of a promising trial, the retry of a lost one)."""
    return FIXED_PARAMS not in trial.system_attrs


def neighbour(
    params: dict[str, Any],
    distributions: dict[str, BaseDistribution],
    rng: random.Random,
    tried: Sequence[dict[str, Any]] = (),
) -> tuple[dict[str, Any], str] | None:
    """``params`` with one parameter changed, and the change as text; None when every move drawn
    gave a configuration in ``tried`` (or nothing can move)."""
    movable = sorted(name for name, distribution in distributions.items() if not distribution.single())
    for _ in range(ATTEMPTS if movable else 0):
        name = rng.choice(movable)
        value = move(distributions[name], params[name], rng)
        if value == params[name]:
            continue
        moved = {**params, name: value}
        if moved not in tried:
            return moved, f"{name}: {params[name]} -> {value}"
    return None


def move(distribution: BaseDistribution, value: Any, rng: random.Random) -> Any:
    """A value near ``value`` in ``distribution``: another choice, or a Gaussian step on the range."""
    if isinstance(distribution, CategoricalDistribution):
        return rng.choice([choice for choice in distribution.choices if choice != value])
    low, high, log = distribution.low, distribution.high, distribution.log  # type: ignore[attr-defined]
    scale = (lambda x: math.log(x)) if log else (lambda x: x)
    width = scale(high) - scale(low)
    unit = min(max((scale(value) - scale(low)) / width, 0.0), 1.0)
    step = rng.gauss(0.0, STEP)
    while not 0.0 <= unit + step <= 1.0:  # redrawn inside the range, as SMAC does
        step = rng.gauss(0.0, STEP)
    new = scale(low) + (unit + step) * width
    new = math.exp(new) if log else new
    grid = getattr(distribution, "step", None)
    if grid is not None:
        new = low + round((new - low) / grid) * grid
    new = min(max(new, low), high)
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return int(round(new))
    return float(round(new, 12))


def incumbent(study: optuna.Study, rng: random.Random) -> FrozenTrial | None:
    """The best completed trial (several metrics: a Pareto-front member at random), or None."""
    front = pareto_front(study)
    return rng.choice(front) if front else None


def queue_local_moves(
    seed: int, n_trials: Callable[[], int | None], deadline: Callable[[], float | None]
) -> Callable[[optuna.Study, FrozenTrial], None]:
    """An ``optimize`` callback: after each trial the sampler proposed, queue a neighbour of the
    incumbent, while the budget allows (a trial of it is left, the deadline has not passed) and no
    other trial is waiting to run."""
    rng = random.Random(seed)

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        if not proposed_by_sampler(trial):
            return
        end = deadline()
        if end is not None and time.time() >= end:
            return
        done, running, waiting = budget_counts(study)
        budget = n_trials()
        if waiting or (budget is not None and done + running >= budget):
            return
        best = incumbent(study, rng)
        if best is None:
            return
        tried = [t.params for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
        found = neighbour(best.params, best.distributions, rng, tried)
        if found is not None:
            params, change = found
            study.enqueue_trial(
                params, user_attrs={TrialAttr.MOVED_FROM: best.number, TrialAttr.MOVE: change}, skip_if_exists=False
            )

    return callback
