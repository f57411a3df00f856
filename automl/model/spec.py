"""``ModelSpec``: a backend-neutral, serialisable description of one model and its training.

Backends (``automl.backends``) compile a ``ModelSpec`` into a framework model. Nothing here
imports a framework; a spec round-trips through ``to_dict``/``from_dict`` (JSON-safe).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from automl.data.dataset import ProblemType
from automl.errors import ConfigError
from automl.model.optimizers import OPTIMIZERS

ACTIVATIONS = ("relu", "elu", "selu", "gelu", "swish", "tanh", "leaky_relu")
LEAKY_RELU_SLOPE = 0.2  # negative slope of leaky_relu on every backend
# Momentum of batch norm's running statistics on every backend. Keras' default 0.99 lags far behind
# the weights on small data sets (a few hundred steps): measured on digits, a CNN with batch norm
# validated at 0.60 accuracy (0.95 with 0.9) and a residual CNN at 0.22 (0.95 with 0.9).
BATCH_NORM_MOMENTUM = 0.9
TEXT_LAYER_KINDS = (
    # Sequences (text): (sequence_length, channels) maps; token ids come in as float32 (sequence_length,)
    "embedding",  # {input_dim, output_dim}: token ids -> vectors (no masking: padding id 0 gets a vector too)
    "positional_embedding",  # {sequence_length, output_dim}: adds a learned vector per position
    "conv1d",  # {filters, kernel_size}   (stride 1, 'same' padding)
    "pool1d",  # {mode: max|avg, size}  (stride = size)
    "global_pool1d",  # {mode: max|avg}: (steps, channels) -> (channels,)
    "rnn",  # {cell: lstm|gru, units, bidirectional, return_sequences}
    # {heads, key_dim, ff_units, dropout, norm: pre|post (post when absent), final_norm}: self-attention +
    # feed-forward; a pre-norm stack's last block sets final_norm (a layer norm on its output)
    "transformer_block",
    # {vocab_size}: token ids -> their TF-IDF vector (vocab_size,): sub-linear counts 1 + ln(count) times
    # the inverse document frequency of the rows it is fitted on (padding and unknown tokens weigh 0),
    # L2-normalised, as scikit-learn's TfidfVectorizer(sublinear_tf=True)
    "tf_idf",
)
LAYER_KINDS = (
    "flatten",  # {}
    "dense",  # {units}
    "conv2d",  # {filters, kernel_size}   (stride 1, 'same' padding)
    "pool2d",  # {mode: max|avg, size}  (stride = size)
    "global_pool2d",  # {mode: max|avg}
    "dropout",  # {rate}
    "batch_norm",  # {}
    "activation",  # {name}
    *TEXT_LAYER_KINDS,
    "residual_block",  # {filters, kernel_size, stride, batch_norm, activation}: two convs + shortcut, then add
    "augment",  # {flip: none|horizontal|vertical|both, shift, rotation}: random image changes, training only
)
FLIPS = ("none", "horizontal", "vertical", "both")
CLASS_WEIGHTS = (None, "balanced")
# The training losses of each problem type, the default first. Classification: cross-entropy;
# mse, the mean over the classes of (softmax probability - one-hot target)**2; focal,
# -(1 - p_t)**FOCAL_GAMMA * log(p_t) of the true class's probability p_t (no alpha). Regression
# (on the standardised targets): squared error, absolute error, and huber with HUBER_DELTA.
LOSSES: dict[str, tuple[str, ...]] = {
    "classification": ("cross_entropy", "mse", "focal"),
    "regression": ("mse", "mae", "huber"),
}
LOSS_NAMES = tuple(dict.fromkeys(name for names in LOSSES.values() for name in names))
FOCAL_GAMMA = 2.0
HUBER_DELTA = 1.0


def check_loss(loss: str | None, problem_type: str, key: str = "loss") -> None:
    """Raise ``ConfigError`` when ``loss`` (None: the default) is no loss of ``problem_type``."""
    if loss is None or loss in LOSSES[problem_type]:
        return
    owner = next((f"is for {other}" for other, names in LOSSES.items() if loss in names), "is unknown")
    raise ConfigError(f"{key} {loss!r} {owner}; for {problem_type}: {', '.join(LOSSES[problem_type])}")


@dataclass(frozen=True)
class Layer:
    """One layer: a kind from ``LAYER_KINDS`` and its parameters."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"unknown layer kind {self.kind!r}; expected one of {LAYER_KINDS}")


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer by name with its learning rate and its own parameters."""

    name: str
    learning_rate: float
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.name!r}; expected one of {tuple(OPTIMIZERS)}")
        unknown = set(self.params) - set(OPTIMIZERS[self.name])
        if unknown:
            raise ValueError(f"optimizer {self.name!r} takes no parameter(s) {sorted(unknown)}")

    def get(self, name: str) -> Any:
        """The value of parameter ``name``: the spec's own, else the optimizer's default (Keras')."""
        return self.params.get(name, OPTIMIZERS[self.name][name].default)


@dataclass(frozen=True)
class ModelSpec:
    """A whole model: input, layers, output head, optimizer, regularization and training."""

    input_shape: tuple[int, ...]
    n_outputs: int
    problem_type: ProblemType
    layers: tuple[Layer, ...]
    optimizer: OptimizerSpec
    l2: float = 0.0
    l1: float = 0.0
    class_weight: str | None = None  # None or "balanced"; classification only (regression ignores it)
    batch_size: int = 32
    epochs: int = 10
    early_stopping_patience: int | None = None
    loss: str | None = None  # a name from LOSSES[problem_type]; None: the problem type's default

    def __post_init__(self) -> None:
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"unknown class_weight {self.class_weight!r}; expected one of {CLASS_WEIGHTS}")
        check_loss(self.loss, self.problem_type)

    @property
    def training_loss(self) -> str:
        """The loss the model trains on: ``loss``, or the problem type's default."""
        return self.loss or LOSSES[self.problem_type][0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; ``ModelSpec.from_dict`` reverses it."""
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        data["layers"] = [asdict(layer) for layer in self.layers]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        data = dict(data)
        if "objective" in data:  # the name of problem_type in models saved before 0.2
            data["problem_type"] = data.pop("objective")
        data["input_shape"] = tuple(data["input_shape"])
        data["layers"] = tuple(Layer(**layer) for layer in data["layers"])
        data["optimizer"] = OptimizerSpec(**data["optimizer"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def with_training(self, **changes: Any) -> ModelSpec:
        """A copy with training settings changed (e.g. ``epochs`` for a refit)."""
        data = self.to_dict()
        data.update(changes)
        return ModelSpec.from_dict(data)
