"""What a model costs, besides how well it predicts, and the conditions a kept model must meet.

- ``n_params``: trainable parameters, counted from the spec before training (``automl.model.params``);
- ``model_bytes``: the size of the model saved in the framework's own format;
- ``latency_ms``: the median milliseconds to predict one example (batch of one), after warm-up
  calls, in the trial's own process (its worker's threads), timed on the first fold's model
  outside the training time; measured again by ``automl export``.

A constraint such as ``n_params<=100000`` is parsed, never evaluated as Python.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import ConfigError

COSTS = {
    "n_params": "trainable parameters",
    "model_bytes": "bytes of the saved model",
    "latency_ms": "median milliseconds to predict one example",
}
LATENCY_WARMUP, LATENCY_CALLS = 5, 30
_CONDITION = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*([-+0-9.eE_]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``name op bound``: ``violation(value)`` is <= 0 when the value meets it (Optuna's convention)."""

    name: str
    op: str
    bound: float

    def violation(self, value: float) -> float:
        return value - self.bound if self.op in ("<=", "<") else self.bound - value

    def met_by(self, value: float) -> bool:
        return {"<=": value <= self.bound, "<": value < self.bound, ">=": value >= self.bound}.get(
            self.op, value > self.bound
        )

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.bound:g}"


def parse_constraint(text: str, names: tuple[str, ...] | None = None) -> Constraint:
    """``"n_params<=100000"`` as a ``Constraint`` on one of ``names`` (default: every cost and
    metric); a clear error for anything else."""
    from automl.trial.metrics import METRICS

    allowed = names or (*COSTS, *METRICS)
    match = _CONDITION.match(str(text))
    if not match:
        raise ConfigError(
            f"constraint {text!r} is not of the form NAME<=NUMBER (or <, >=, >), e.g. n_params<=100000 or latency_ms<5"
        )
    name, op, number = match.groups()
    if name not in allowed:
        raise ConfigError(f"constraint {text!r}: unknown name {name!r}; one of: {', '.join(allowed)}")
    try:
        bound = float(number.replace("_", ""))
    except ValueError:
        raise ConfigError(f"constraint {text!r}: {number!r} is not a number") from None
    return Constraint(name, op, bound)


def parse_conditions(text: str, names: tuple[str, ...]) -> tuple[Constraint, ...]:
    """``"accuracy>=0.98 and latency_ms<2"`` as constraints on ``names`` (parsed, never evaluated)."""
    parts = [p for p in re.split(r"\s+and\s+", str(text).strip(), flags=re.IGNORECASE) if p.strip()]
    if not parts:
        raise ConfigError(f"pick {text!r}: expected conditions such as 'accuracy>=0.98 and latency_ms<2'")
    return tuple(parse_constraint(p, names) for p in parts)


def model_bytes(backend: Any, model: Any, spec: Any) -> int:
    """The size of ``model`` saved by ``backend`` in the framework's own format."""
    with tempfile.TemporaryDirectory() as tmp:
        backend.save(model, spec, Path(tmp))
        return sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())


def latency_ms(backend: Any, model: Any, example: np.ndarray) -> float:
    """Median milliseconds of ``backend.predict_one`` on one example, after warm-up calls."""
    one = np.asarray(example)[:1]
    for _ in range(LATENCY_WARMUP):
        backend.predict_one(model, one)
    times = []
    for _ in range(LATENCY_CALLS):
        start = time.perf_counter()
        backend.predict_one(model, one)
        times.append((time.perf_counter() - start) * 1000)
    return float(statistics.median(times))
