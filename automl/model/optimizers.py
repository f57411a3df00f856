"""The optimizers a space may name: their parameters, Keras' defaults and the ranges a space may ask for.

Defined once: the space schema derives what a space may contain from ``OPTIMIZERS`` and
``ALIASES``, ``OptimizerSpec`` checks its parameters against them, and both backends read their
defaults through ``OptimizerSpec.get``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hyperparameter:
    """One optimizer parameter: its default (Keras') and, for numbers, the range a space may use."""

    default: float | bool
    low: float = 0.0
    high: float = 1.0

    @property
    def is_flag(self) -> bool:
        return isinstance(self.default, bool)


BETA_1 = Hyperparameter(0.9, 0.0, 0.99999)
BETA_2 = Hyperparameter(0.999, 0.0, 0.99999)
MOMENTUM = Hyperparameter(0.0, 0.0, 0.9999)
OPTIMIZERS: dict[str, dict[str, Hyperparameter]] = {
    "sgd": {"momentum": MOMENTUM, "nesterov": Hyperparameter(False)},
    "adagrad": {"initial_accumulator_value": Hyperparameter(0.1, 0.0, 10.0)},
    "rmsprop": {"rho": Hyperparameter(0.9, 0.0, 0.99999), "momentum": MOMENTUM},
    "adam": {"beta_1": BETA_1, "beta_2": BETA_2},
    "adamw": {"weight_decay": Hyperparameter(0.004, 0.0, 1.0), "beta_1": BETA_1, "beta_2": BETA_2},
    "nadam": {"beta_1": BETA_1, "beta_2": BETA_2},
}
# Names a space may use for an optimizer with other defaults: name -> (optimizer, parameters set for it).
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {"momentum": ("sgd", {"momentum": 0.9, "nesterov": False})}
SPACE_CHOICES = ("sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw", "nadam")  # in the order errors list them
DEFAULT_LEARNING_RATE = 1e-3
LEARNING_RATE_RANGE = (1e-7, 10.0)


def resolve(choice: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The optimizer and parameters a space's choice stands for (an alias's parameters first, then the space's)."""
    name, preset = ALIASES.get(choice, (choice, {}))
    return name, {**preset, **params}
