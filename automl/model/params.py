"""Trainable parameters of a ``ModelSpec``, counted analytically: no framework, nothing built.

``count_params(spec, backend)`` walks the layers with the backends' shape inference and adds up
what each layer kind builds there, output head included, so a search can reject a configuration
over a size limit (``n_params<=100000``) before building or training it. It equals the backend's
own ``count_params`` of the built model:

- dense and convolutions (conv1d, conv2d, the residual block's, the transformer's projections)
  have a kernel and a bias, also when batch norm follows; the output head is a dense layer of
  ``n_outputs`` units (1 for regression);
- batch norm trains gamma and beta per channel (its moving mean and variance are not
  trainable); a transformer block's two layer norms likewise;
- a residual block has two convolutions, a strided 1x1 projection when the stride or the width
  changes, and batch norm after each of them when its own ``batch_norm`` is set;
- embeddings have a vector per token id, positional embeddings one per position; a TF-IDF layer's
  inverse document frequencies are set from the data, not trained;
- pooling, flatten, dropout, activations and augmentation have none; ``l1``/``l2`` change nothing.

The backends differ in one layer, the LSTM: Keras' has one bias vector per gate, MXNet's two
(input-to-hidden and hidden-to-hidden, as cuDNN), so ``backend="mxnet"`` counts ``4 * units``
more per LSTM direction than ``backend="keras"``: each count is what that backend trains. GRUs
have both bias vectors on both backends (Keras' default ``reset_after=True``), so they count alike.
"""

from __future__ import annotations

import math
from typing import Any

from automl.errors import ConfigError, TrialFailed, unknown
from automl.model.spec import Layer, ModelSpec

Shape = tuple[int, ...]
LSTM_BIAS_VECTORS = {"keras": 1, "mxnet": 2}  # bias vectors per LSTM gate on each backend
GRU_BIAS_VECTORS = 2  # on both backends
_SEQUENCE_KINDS = ("positional_embedding", "conv1d", "pool1d", "global_pool1d", "rnn", "transformer_block")
_IMAGE_KINDS = ("conv2d", "pool2d", "global_pool2d", "residual_block", "augment")
# The input rank (without the batch axis) a layer kind needs; other kinds take any rank.
INPUT_RANK = {"embedding": 1, "tf_idf": 1, **dict.fromkeys(_SEQUENCE_KINDS, 2), **dict.fromkeys(_IMAGE_KINDS, 3)}


def count_params(spec: ModelSpec, backend: str = "keras") -> int:
    """The trainable parameters of ``spec`` as ``backend`` ('keras' or 'mxnet') builds it.

    Raises ``TrialFailed`` for a layer whose input shape it cannot take (a conv2d on flat input,
    a pooling window larger than the map), ``ConfigError`` for an unknown backend.
    """
    if backend not in LSTM_BIAS_VECTORS:
        raise ConfigError(unknown("backend", backend, tuple(LSTM_BIAS_VECTORS)))
    shape: Shape = tuple(int(d) for d in spec.input_shape)
    total = 0
    for layer in spec.layers:
        params, shape = _layer(layer, shape, LSTM_BIAS_VECTORS[backend])
        total += params
    head_units = spec.n_outputs if spec.problem_type == "classification" else 1
    return total + _dense(shape[-1], head_units)


def _dense(inputs: int, units: int) -> int:
    """A kernel and a bias: also a convolution, with ``inputs`` its window size times channels."""
    return (inputs + 1) * units


def _layer(layer: Layer, shape: Shape, lstm_bias_vectors: int) -> tuple[int, Shape]:
    """The parameters of one layer on input ``shape`` (channels last, no batch axis) and its output shape."""
    p, kind = layer.params, layer.kind
    rank = INPUT_RANK.get(kind)
    if rank is not None and len(shape) != rank:
        raise TrialFailed(f"layer {kind!r} needs input of rank {rank}, got shape {shape}")
    if kind == "dense":  # on the last axis, as Keras' Dense
        units = int(p["units"])
        return _dense(shape[-1], units), (*shape[:-1], units)
    if kind in ("conv1d", "conv2d"):  # stride 1, 'same' padding
        filters, window = int(p["filters"]), int(p["kernel_size"]) ** (len(shape) - 1)
        return _dense(window * shape[-1], filters), (*shape[:-1], filters)
    if kind in ("pool1d", "pool2d"):  # window = stride = size, 'valid' padding
        size = int(p["size"])
        if size > min(shape[:-1]):
            raise TrialFailed(f"{kind} of size {size} does not fit input of shape {shape}")
        return 0, (*(n // size for n in shape[:-1]), shape[-1])
    if kind in ("global_pool1d", "global_pool2d"):
        return 0, shape[-1:]
    if kind == "flatten":
        return 0, (math.prod(shape),)
    if kind == "batch_norm":  # gamma and beta per channel
        return 2 * shape[-1], shape
    if kind in ("dropout", "activation", "augment"):
        return 0, shape
    if kind == "embedding":
        output_dim = int(p["output_dim"])
        return int(p["input_dim"]) * output_dim, (shape[0], output_dim)
    if kind == "positional_embedding":
        return int(p["sequence_length"]) * int(p["output_dim"]), shape
    if kind == "tf_idf":
        return 0, (int(p["vocab_size"]),)
    if kind == "rnn":
        return _rnn(p, shape, lstm_bias_vectors)
    if kind == "transformer_block":
        return _transformer_block(p, shape[-1]), shape
    if kind == "residual_block":
        return _residual_block(p, shape)
    raise ValueError(f"count_params cannot count layer kind {kind!r}")


def _rnn(p: dict[str, Any], shape: Shape, lstm_bias_vectors: int) -> tuple[int, Shape]:
    """Per direction and gate: an input kernel, a recurrent kernel and the bias vectors."""
    units, directions = int(p["units"]), 2 if p.get("bidirectional") else 1
    gates, biases = (4, lstm_bias_vectors) if p["cell"] == "lstm" else (3, GRU_BIAS_VECTORS)
    params = directions * gates * units * (shape[-1] + units + biases)
    width = directions * units
    return params, (shape[0], width) if p.get("return_sequences") else (width,)


def _transformer_block(p: dict[str, Any], width: int) -> int:
    """Query, key and value projections to ``heads * key_dim`` and the output projection back, all with
    biases; the feed-forward layers; gamma and beta of the two layer norms (three with ``final_norm``)."""
    inner, ff_units = int(p["heads"]) * int(p["key_dim"]), int(p["ff_units"])
    attention = 3 * _dense(width, inner) + _dense(inner, width)
    feed_forward = _dense(width, ff_units) + _dense(ff_units, width)
    norms = 3 if p.get("norm") == "pre" and p.get("final_norm") else 2
    return attention + feed_forward + norms * 2 * width


def _residual_block(p: dict[str, Any], shape: Shape) -> tuple[int, Shape]:
    """Two convolutions (the first strided), the 1x1 projection when the stride or the width changes,
    batch norm after each when set; 'same' padding makes the map ``ceil(n / stride)``."""
    filters, kernel_size, stride = int(p["filters"]), int(p["kernel_size"]), int(p.get("stride", 1))
    norm = 2 * filters if p.get("batch_norm") else 0
    window = kernel_size * kernel_size
    params = _dense(window * shape[2], filters) + _dense(window * filters, filters) + 2 * norm
    if stride != 1 or shape[2] != filters:
        params += _dense(shape[2], filters) + norm
    return params, (*(-(-n // stride) for n in shape[:2]), filters)
