"""Ensembles of a search's best trials, chosen on their out-of-fold predictions.

Every completed trial keeps its out-of-fold predictions: each row predicted by the fold model
that did not train on it. ``select_ensemble`` is Caruana, Niculescu-Mizil, Crew & Ksikes'
ensemble selection (ICML 2004): start from the best trial, then repeatedly add the trial, again
if it helps, whose predictions most improve the averaged prediction's score; a trial's weight is
how often it was added. Trials of both backends mix freely: only their predictions matter.

The ensemble's out-of-fold score is optimistic, since the ensemble was chosen to maximise it on
those very predictions (so is the best trial's CV score, chosen as the maximum of many).
``bootstrap_corrected`` estimates what the choice is worth on rows it did not see (BBC-CV,
Tsamardinos, Greasidou & Borboudakis, Machine Learning 2018): each round draws the rows with
replacement, makes the choice on the rows drawn and scores it on the rows not drawn. The same
rounds count how often the ensemble chosen in-bag beat the best single trial chosen in-bag on the
rows not drawn (``wins``): the search hands over an ensemble only when it wins a majority of them.
On small data the mean gain is often carried by a few rounds while most rounds tie (the extra
members change no prediction that matters), and then the best trial alone is handed over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from automl.trial.metrics import Metric

CANDIDATES = 15  # the best completed trials the selection chooses from
BOOTSTRAP_ROUNDS = 50

Selection = Counter  # trial number -> how many times the greedy selection added it


@dataclass
class EnsembleChoice:
    """What the selection chose and what it is worth (scores on out-of-fold predictions)."""

    counts: Selection
    score: float  # the ensemble's out-of-fold score (optimistic: chosen on these predictions)
    best_single: int  # the trial with the best out-of-fold score
    best_single_score: float  # its out-of-fold score
    corrected_score: float  # BBC-CV estimate of choosing an ensemble this way
    corrected_single_score: float  # BBC-CV estimate of choosing the best single trial
    wins: float  # share of the bootstrap rounds in which the ensemble beat the best single trial out of bag

    @property
    def wins_most_rounds(self) -> bool:
        """Does the ensemble beat the best single trial out of bag in more than half the rounds?"""
        return self.wins > 0.5

    @property
    def weights(self) -> dict[int, float]:
        total = sum(self.counts.values())
        return {number: count / total for number, count in self.counts.most_common()}


def choose_ensemble(
    predictions: dict[int, np.ndarray], y: np.ndarray, metric: Metric, size: int, seed: int = 0
) -> EnsembleChoice:
    """Select an ensemble of ``size`` picks among ``predictions`` (trial -> out-of-fold predictions)."""
    numbers = list(predictions)
    stack = np.stack([predictions[n] for n in numbers]).astype(np.float64)
    scores = _scores(metric, y, stack)
    best = int(_best_index(scores, metric))
    picks = _greedy(stack, y, metric, size)
    counts = Counter(numbers[i] for i in picks)
    ensemble_score = _scores(metric, y, stack[picks].mean(axis=0, keepdims=True))[0]
    corrected, corrected_single, wins = _bootstrap(stack, y, metric, size, seed)
    return EnsembleChoice(
        counts, float(ensemble_score), numbers[best], float(scores[best]), corrected, corrected_single, wins
    )


def _greedy(stack: np.ndarray, y: np.ndarray, metric: Metric, size: int, rows: np.ndarray | None = None) -> list[int]:
    """Indices into ``stack`` picked by forward selection with replacement (on ``rows`` only, if given)."""
    part = stack if rows is None else stack[:, rows]
    target = y if rows is None else y[rows]
    picks = [int(_best_index(_scores(metric, target, part), metric))]
    total = part[picks[0]].copy()
    for k in range(1, size):
        candidates = (total[None] + part) / (k + 1)
        index = int(_best_index(_scores(metric, target, candidates), metric))
        picks.append(index)
        total += part[index]
    return picks


def _bootstrap(stack: np.ndarray, y: np.ndarray, metric: Metric, size: int, seed: int) -> tuple[float, float, float]:
    """BBC-CV: the mean out-of-bag score of the ensemble and of the single best trial, chosen in-bag,
    and the share of rounds in which the ensemble scored better (ties count as not better)."""
    rng = np.random.default_rng(seed)
    ensemble, single = [], []
    n = len(y)
    for _ in range(BOOTSTRAP_ROUNDS):
        in_bag = rng.integers(0, n, n)
        out_of_bag = np.setdiff1d(np.arange(n), in_bag)
        if len(out_of_bag) == 0 or (metric.problem_type == "classification" and len(np.unique(y[in_bag])) < 2):
            continue
        picks = _greedy(stack, y, metric, size, rows=in_bag)
        ensemble.append(_scores(metric, y[out_of_bag], stack[picks][:, out_of_bag].mean(axis=0, keepdims=True))[0])
        single.append(_scores(metric, y[out_of_bag], stack[picks[0]][None, out_of_bag])[0])
    sign = 1.0 if metric.direction == "maximize" else -1.0
    wins = float(np.mean(sign * (np.array(ensemble) - np.array(single)) > 0))
    return float(np.mean(ensemble)), float(np.mean(single)), wins


def _best_index(scores: np.ndarray, metric: Metric) -> int:
    return int(np.nanargmax(scores) if metric.direction == "maximize" else np.nanargmin(scores))


def _scores(metric: Metric, y: np.ndarray, stack: np.ndarray) -> np.ndarray:
    """``metric`` of each prediction in ``stack`` (m, n, ...) against ``y``; vectorised where it is cheap."""
    fast = _VECTORISED.get(metric.name)
    if fast is not None:
        return fast(y, stack)
    return np.array([metric.fn(y, predictions) for predictions in stack], dtype=np.float64)


def _accuracy(y: np.ndarray, stack: np.ndarray) -> np.ndarray:
    return (stack.argmax(axis=-1) == y[None]).mean(axis=1)


def _rmse(y: np.ndarray, stack: np.ndarray) -> np.ndarray:
    return np.sqrt(((stack.reshape(len(stack), -1) - y[None]) ** 2).mean(axis=1))


def _mae(y: np.ndarray, stack: np.ndarray) -> np.ndarray:
    return np.abs(stack.reshape(len(stack), -1) - y[None]).mean(axis=1)


_VECTORISED: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "accuracy": _accuracy,
    "rmse": _rmse,
    "mae": _mae,
}
