"""Turn a sampled configuration (nested dict from a search space) into a ``ModelSpec``.

Each architecture family is one function from its configuration to a list of layers; the
families, activations and optimizers accepted here are the ones ``space_schema`` allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automl.data.dataset import Dataset, ProblemType
from automl.errors import TrialFailed
from automl.model.optimizers import DEFAULT_LEARNING_RATE, resolve
from automl.model.spec import Layer, ModelSpec, OptimizerSpec, check_loss

FamilyBuilder = Callable[[dict[str, Any], tuple[int, ...], "_Blocks"], list[Layer]]


class _Blocks:
    """Shared pieces every family uses: activation, batch norm and dropout after a layer, and the
    vocabulary size of text input (None for other data)."""

    def __init__(self, activation: str, batch_norm: bool, dropout: float, vocab_size: int | None = None) -> None:
        self.activation, self.batch_norm, self.dropout = activation, batch_norm, dropout
        self.vocab_size = vocab_size

    def post(self, *, drop: bool = True) -> list[Layer]:
        layers = [Layer("batch_norm")] if self.batch_norm else []
        layers.append(Layer("activation", {"name": self.activation}))
        if drop and self.dropout > 0:
            layers.append(Layer("dropout", {"rate": self.dropout}))
        return layers


def _mlp(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    """Dense layers; on text, over the mean of the token embeddings (a fastText-like model)."""
    if blocks.vocab_size is not None:
        layers = [*_embedding(arch, input_shape, blocks, "mlp"), Layer("global_pool1d", {"mode": "avg"})]
    else:
        layers = [Layer("flatten")] if len(input_shape) > 1 else []
    return layers + _dense_layers(arch, blocks, units=128)


def _cnn(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    if len(input_shape) != 3:
        raise TrialFailed(
            f"the 'cnn' family needs image input of shape (height, width, channels); this data has shape {input_shape}"
        )
    height, width = input_shape[0], input_shape[1]
    pooling = arch.get("pooling", "max")
    layers: list[Layer] = []
    for block in arch.get("block") or [{"filters": 32}]:
        for _ in range(int(block.get("convs", 1))):
            layers += [
                Layer("conv2d", {"filters": int(block["filters"]), "kernel_size": int(block.get("kernel_size", 3))}),
                *blocks.post(drop=False),
            ]
        if pooling != "none" and min(height, width) >= 2:  # never pool a 1-pixel map away
            layers.append(Layer("pool2d", {"mode": pooling, "size": 2}))
            height, width = height // 2, width // 2
        if blocks.dropout > 0:
            layers.append(Layer("dropout", {"rate": blocks.dropout}))
    head = arch.get("head", "flatten")
    pooled = Layer("global_pool2d", {"mode": head.removeprefix("global_")})
    layers.append(Layer("flatten") if head == "flatten" else pooled)
    dense_units = int(arch.get("dense_units", 0))
    if dense_units > 0:
        layers += [Layer("dense", {"units": dense_units}), *blocks.post()]
    return layers


def _resnet(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    """A stem convolution, then stages of residual blocks (each stage after the first halves the
    map with a strided first block while it is at least 2 pixels), a global pooling head and an
    optional dense layer."""
    if len(input_shape) != 3:
        raise TrialFailed(
            f"the 'resnet' family needs image input of shape (height, width, channels); this data has shape "
            f"{input_shape}"
        )
    size = min(input_shape[0], input_shape[1])
    kernel_size = int(arch.get("kernel_size", 3))
    stem = Layer("conv2d", {"filters": int(arch.get("stem_filters", 16)), "kernel_size": 3})
    layers = [stem, *blocks.post(drop=False)]
    for index, stage in enumerate(arch.get("stage") or [{"filters": 16}]):
        for block in range(int(stage.get("blocks", 1))):
            stride = 2 if index > 0 and block == 0 and size >= 2 else 1
            size = -(-size // stride)
            params = {"filters": int(stage["filters"]), "kernel_size": kernel_size, "stride": stride}
            layers.append(
                Layer("residual_block", {**params, "batch_norm": blocks.batch_norm, "activation": blocks.activation})
            )
    layers.append(Layer("global_pool2d", {"mode": arch.get("head", "global_avg").removeprefix("global_")}))
    if blocks.dropout > 0:
        layers.append(Layer("dropout", {"rate": blocks.dropout}))
    dense_units = int(arch.get("dense_units", 0))
    if dense_units > 0:
        layers += [Layer("dense", {"units": dense_units}), *blocks.post()]
    return layers


def _augmentation(settings: dict[str, Any] | None, input_shape: tuple[int, ...]) -> list[Layer]:
    """The leading ``augment`` layer asked for by ``regularization.augmentation`` (none if it changes nothing)."""
    params = {"flip": "none", "shift": 0.0, "rotation": 0.0, **(settings or {})}
    params["shift"], params["rotation"] = float(params["shift"]), float(params["rotation"])
    if params["flip"] == "none" and params["shift"] == 0 and params["rotation"] == 0:
        return []
    if len(input_shape) != 3:
        raise TrialFailed(f"data augmentation needs image input (height, width, channels); this data has {input_shape}")
    return [Layer("augment", params)]


def _embedding(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks, family: str) -> list[Layer]:
    """The token embedding every text family starts with (``arch.embedding_dim`` wide)."""
    if blocks.vocab_size is None or len(input_shape) != 1:
        raise TrialFailed(
            f"the {family!r} family needs text input (token ids of shape (sequence_length,) and a vocabulary "
            f"size); this data has shape {input_shape} and vocab_size {blocks.vocab_size}"
        )
    return [Layer("embedding", {"input_dim": blocks.vocab_size, "output_dim": int(arch.get("embedding_dim", 64))})]


def _bag_of_words(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    """The text's TF-IDF vector (word order dropped; idf from the training rows), then dense layers:
    the classic strong baseline on small corpora, and fast."""
    if blocks.vocab_size is None or len(input_shape) != 1:
        raise TrialFailed(
            "the 'bag_of_words' family needs text input (token ids of shape (sequence_length,) and a vocabulary "
            f"size); this data has shape {input_shape} and vocab_size {blocks.vocab_size}"
        )
    return [Layer("tf_idf", {"vocab_size": blocks.vocab_size}), *_dense_layers(arch, blocks, units=64)]


def _dense_layers(arch: dict[str, Any], blocks: _Blocks, units: int) -> list[Layer]:
    """The hidden dense layers of ``arch["layer"]``, each followed by the shared blocks; none when it
    is empty (``n_layers: 0``: a linear model, the output head right on the features); without a
    ``layer`` group, ``n_layers`` (default 1) layers of ``units``."""
    stack = arch["layer"] if "layer" in arch else [{"units": units}] * int(arch.get("n_layers", 1))
    layers: list[Layer] = []
    for layer in stack:
        layers += [Layer("dense", {"units": int(layer["units"])}), *blocks.post()]
    return layers


def _sequence_head(arch: dict[str, Any], blocks: _Blocks, default: str = "global_max") -> list[Layer]:
    """Global pooling over the steps (unless ``head`` is 'last'), then an optional dense layer."""
    head = arch.get("head", default)
    layers = [] if head == "last" else [Layer("global_pool1d", {"mode": head.removeprefix("global_")})]
    dense_units = int(arch.get("dense_units", 0))
    if dense_units > 0:
        layers += [Layer("dense", {"units": dense_units}), *blocks.post()]
    return layers


def _text_cnn(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    """Embedding, blocks of 1-D convolutions (each halving the sequence when pooling), global pooling."""
    layers = _embedding(arch, input_shape, blocks, "text_cnn")
    steps, pooling = input_shape[0], arch.get("pooling", "max")
    for block in arch.get("block") or [{"filters": 64}]:
        conv = {"filters": int(block["filters"]), "kernel_size": int(block.get("kernel_size", 3))}
        layers += [Layer("conv1d", conv), *blocks.post(drop=False)]
        if pooling != "none" and steps >= 2:  # never pool a 1-step sequence away
            layers.append(Layer("pool1d", {"mode": pooling, "size": 2}))
            steps //= 2
        if blocks.dropout > 0:
            layers.append(Layer("dropout", {"rate": blocks.dropout}))
    return layers + _sequence_head(arch, blocks)


def _rnn(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    """Embedding, stacked LSTM/GRU layers (optionally bidirectional), then the last output or pooling."""
    layers = _embedding(arch, input_shape, blocks, "rnn")
    head = arch.get("head", "last")
    stack = arch.get("layer") or [{"units": 64}]
    for index, layer in enumerate(stack):
        params = {
            "cell": arch.get("cell", "lstm"),
            "units": int(layer["units"]),
            "bidirectional": bool(arch.get("bidirectional", False)),
            "return_sequences": index < len(stack) - 1 or head != "last",
        }
        layers.append(Layer("rnn", params))
        if blocks.dropout > 0:
            layers.append(Layer("dropout", {"rate": blocks.dropout}))
    return layers + _sequence_head(arch, blocks, default="last")


def _transformer(arch: dict[str, Any], input_shape: tuple[int, ...], blocks: _Blocks) -> list[Layer]:
    """Embedding (+ learned positions), self-attention encoder blocks (post-norm, or pre-norm with a
    final norm after the last block with ``norm: pre``), global pooling."""
    layers = _embedding(arch, input_shape, blocks, "transformer")
    if arch.get("positional_embedding", True):
        positions = {"sequence_length": input_shape[0], "output_dim": layers[0].params["output_dim"]}
        layers.append(Layer("positional_embedding", positions))
    block = {
        "heads": int(arch.get("heads", 2)),
        "key_dim": int(arch.get("key_dim", 16)),
        "ff_units": int(arch.get("ff_units", 64)),
        "dropout": blocks.dropout,
        "norm": arch.get("norm", "post"),
    }
    n_blocks = int(arch.get("n_blocks", 1))
    final_norm = block["norm"] == "pre"  # a pre-norm stack ends with a layer norm
    layers += [
        Layer("transformer_block", {**block, "final_norm": final_norm and index == n_blocks - 1})
        for index in range(n_blocks)
    ]
    return layers + _sequence_head(arch, blocks, default="global_avg")


FAMILIES: dict[str, FamilyBuilder] = {
    "mlp": _mlp,
    "cnn": _cnn,
    "resnet": _resnet,
    "text_cnn": _text_cnn,
    "bag_of_words": _bag_of_words,
    "rnn": _rnn,
    "transformer": _transformer,
}


def optimizer_spec(config: dict[str, Any]) -> OptimizerSpec:
    """The ``OptimizerSpec`` of a sampled ``optimizer`` group."""
    values = dict(config)
    choice = values.pop("name")
    learning_rate = float(values.pop("learning_rate", DEFAULT_LEARNING_RATE))
    name, params = resolve(choice, values)
    return OptimizerSpec(name, learning_rate, params)


def build_spec_for(config: dict[str, Any], dataset: Dataset, input_shape: tuple[int, ...]) -> ModelSpec:
    """``build_spec`` for ``dataset``: its number of outputs, problem type and vocabulary size."""
    return build_spec(
        config,
        input_shape=input_shape,
        n_outputs=dataset.n_outputs,
        problem_type=dataset.problem_type,
        vocab_size=dataset.vocab_size,
    )


def build_spec(
    config: dict[str, Any],
    *,
    input_shape: tuple[int, ...],
    n_outputs: int,
    problem_type: ProblemType,
    vocab_size: int | None = None,
) -> ModelSpec:
    """Build the ``ModelSpec`` for one sampled configuration and the data's shape (``vocab_size``:
    the number of token ids of text input, which the text families need)."""
    arch = config["architecture"]
    regularization = config.get("regularization", {})
    training = config.get("training", {})
    blocks = _Blocks(
        activation=config.get("activation", "relu"),
        # a family's own batch_norm (e.g. set by its head) wins over the regularization group's
        batch_norm=bool(arch.get("batch_norm", regularization.get("batch_norm", False))),
        dropout=float(regularization.get("dropout", 0.0)),
        vocab_size=vocab_size,
    )
    patience = training.get("early_stopping_patience")
    check_loss(training.get("loss"), problem_type, "training.loss")
    return ModelSpec(
        input_shape=tuple(int(d) for d in input_shape),
        n_outputs=n_outputs,
        problem_type=problem_type,
        layers=tuple(
            _augmentation(regularization.get("augmentation"), tuple(input_shape))
            + FAMILIES[arch["family"]](arch, tuple(input_shape), blocks)
        ),
        optimizer=optimizer_spec(config["optimizer"]),
        l2=float(regularization.get("l2", 0.0)),
        l1=float(regularization.get("l1", 0.0)),
        class_weight=None if training.get("class_weight", "none") == "none" else training["class_weight"],
        batch_size=int(training.get("batch_size", 32)),
        epochs=int(training.get("epochs", 10)),
        early_stopping_patience=None if patience is None else int(patience),
        loss=training.get("loss"),
    )
