"""Gluon blocks of the sequence (text) layer kinds of ``automl.spec``, built like their Keras twins.

Sequences stay in Keras' (batch, steps, channels) layout (Gluon's NTC); 1-D convolutions and
pooling transpose to NCW internally. Same trainable parameter count as Keras for every kind but
one: an LSTM has two bias vectors per gate here (input and recurrent, as cuDNN) where Keras has
one, so ``4 * units`` more parameters per direction (the forget-gate biases sum to Keras' 1).
GRUs match: Keras' default ``reset_after=True`` GRU has both bias vectors too.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from automl.backends.mxnet._import import import_mxnet
from automl.data.text import inverse_document_frequency
from automl.errors import TrialFailed
from automl.model.spec import Layer

mx = import_mxnet()
from mxnet import gluon  # noqa: E402 - mxnet must be imported through import_mxnet first
from mxnet.gluon import nn  # noqa: E402

EMBEDDING_INIT = 0.05  # Keras' Embedding default: uniform in [-0.05, 0.05]
LAYER_NORM_EPSILON = 1e-3  # Keras' LayerNormalization default
NORM_EPSILON = 1e-12  # a text without known tokens keeps a zero vector


class _PositionalEmbedding(nn.HybridBlock):
    """Adds a learned vector per position to a (steps, channels) sequence."""

    def __init__(self, sequence_length: int, output_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        init = mx.init.Uniform(EMBEDDING_INIT)
        self.positions = self.params.get("positions", shape=(sequence_length, output_dim), init=init)

    def hybrid_forward(self, F: Any, x: Any, positions: Any) -> Any:
        return F.broadcast_add(x, F.expand_dims(positions, axis=0))


class TfIdfDense(nn.HybridBlock):
    """A ``tf_idf`` layer and the dense layer after it as one block, equal to the Keras backend's
    ``TfIdf`` then ``Dense``: ``idf`` has no gradient (``adapt`` sets it from the rows the network is
    fitted on); ``weight`` and ``bias`` are the dense layer's, in its layout.

    The (batch, vocab_size) TF-IDF vector is never built (a one-hot sum over it is ~50x slower than
    the rest of a step in MXNet): each position's token weighs ``(1 + ln count) * idf / count / norm``
    (its count in its text), and the dense output is the sum of the weighted kernel rows of the tokens.
    """

    def __init__(self, vocab_size: int, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size, self.units = vocab_size, units
        self.idf = self.params.get("idf", shape=(vocab_size,), init=mx.init.One(), grad_req="null")
        self.weight = self.params.get("weight", shape=(units, vocab_size))  # the network's glorot init, as Dense
        self.bias = self.params.get("bias", shape=(units,), init=mx.init.Zero())

    def adapt(self, token_ids: np.ndarray) -> None:
        self.idf.set_data(mx.nd.array(inverse_document_frequency(token_ids, self.vocab_size)))

    def hybrid_forward(self, F: Any, x: Any, idf: Any, weight: Any, bias: Any) -> Any:
        counts = F.sum(F.broadcast_equal(F.expand_dims(x, 2), F.expand_dims(x, 1)), axis=2)  # (batch, steps)
        token_weights = (1.0 + F.log(counts)) * F.take(idf, x)  # padding and unknown tokens: idf 0
        norm = F.sqrt(F.sum(F.square(token_weights) / counts, axis=1, keepdims=True) + NORM_EPSILON)
        coefficients = F.broadcast_div(token_weights / counts, norm)
        rows = F.Embedding(x, F.transpose(weight), input_dim=self.vocab_size, output_dim=self.units)
        out = F.reshape(F.batch_dot(F.expand_dims(coefficients, 1), rows), shape=(0, -1))  # (batch, units)
        return F.broadcast_add(out, bias)


def tf_idf_dense(tf_idf: Layer, dense: Layer, shape: tuple[int, ...]) -> tuple[list[nn.HybridBlock], tuple[int, ...]]:
    """The block of a ``tf_idf`` layer fused with the ``dense`` layer after it, and its output shape."""
    if len(shape) != 1:
        raise TrialFailed(f"tf_idf needs token ids of shape (sequence_length,), got {shape}")
    if dense.kind != "dense":
        raise TrialFailed(f"on the MXNet backend a tf_idf layer must be followed by a dense layer, not {dense.kind!r}")
    units = int(dense.params["units"])
    return [TfIdfDense(int(tf_idf.params["vocab_size"]), units)], (units,)


def fix_loaded_idf(network: nn.Block) -> None:
    """An exported graph forgets which parameters have no gradient: mark the loaded ``TfIdfDense``
    frequencies so again (they are set from data, not trained, and not counted as trainable)."""
    for name, param in network.collect_params().items():
        if re.fullmatch(r"tfidfdense\d+_idf", name):
            param.grad_req = "null"


def adapt_to(network: nn.Block, X: np.ndarray) -> None:
    """Fit the data-dependent blocks of ``network`` (its ``TfIdfDense``) to the rows it is about to train on."""
    for child in network._children.values():
        if isinstance(child, TfIdfDense):
            child.adapt(X)
        adapt_to(child, X)


class _Conv1D(nn.HybridBlock):
    """Keras' Conv1D(padding='same') on NTC input: symmetric padding ``k // 2``, and for an even
    kernel the first output step dropped (TensorFlow pads one step more after than before).
    """

    def __init__(self, filters: int, kernel_size: int, in_channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.even = kernel_size % 2 == 0
        self.conv = nn.Conv1D(filters, kernel_size, padding=kernel_size // 2, in_channels=in_channels)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        out = self.conv(F.transpose(x, axes=(0, 2, 1)))
        if self.even:
            out = F.slice_axis(out, axis=2, begin=1, end=None)
        return F.transpose(out, axes=(0, 2, 1))


class _Pool1D(nn.HybridBlock):
    """Max or average pooling of NTC input, window = stride = ``size`` (Keras' 'valid')."""

    def __init__(self, mode: str, size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool = (nn.MaxPool1D if mode == "max" else nn.AvgPool1D)(pool_size=size, strides=size)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.transpose(self.pool(F.transpose(x, axes=(0, 2, 1))), axes=(0, 2, 1))


class _GlobalPool1D(nn.HybridBlock):
    """(batch, steps, channels) -> (batch, channels) by max or mean over the steps."""

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = mode

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.max(x, axis=1) if self.mode == "max" else F.mean(x, axis=1)


class _RNN(nn.HybridBlock):
    """LSTM/GRU over NTC input with Keras' initialisation (orthogonal recurrent kernel, forget
    bias 1). Without ``return_sequences`` it returns Keras' final output: the forward direction's
    last step, and for a bidirectional layer the backward direction's last step (time step 0).
    """

    def __init__(
        self, cell: str, units: int, bidirectional: bool, return_sequences: bool, input_size: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.units, self.bidirectional, self.return_sequences = units, bidirectional, return_sequences
        options: dict[str, Any] = {
            "layout": "NTC",
            "bidirectional": bidirectional,
            "input_size": input_size,
            "h2h_weight_initializer": mx.init.Orthogonal(rand_type="normal"),
        }
        if cell == "lstm":
            self.rnn = gluon.rnn.LSTM(units, i2h_bias_initializer=mx.init.LSTMBias(forget_bias=1.0), **options)
        else:
            self.rnn = gluon.rnn.GRU(units, **options)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        out = self.rnn(x)
        if self.return_sequences:
            return out
        last = F.squeeze(F.slice_axis(out, axis=1, begin=-1, end=None), axis=1)
        if not self.bidirectional:
            return last
        first = F.squeeze(F.slice_axis(out, axis=1, begin=0, end=1), axis=1)
        forward = F.slice_axis(last, axis=1, begin=0, end=self.units)
        backward = F.slice_axis(first, axis=1, begin=self.units, end=None)
        return F.concat(forward, backward, dim=1)


class _TransformerBlock(nn.HybridBlock):
    """Keras' MultiHeadAttention (self-attention, biases on every projection) inside an encoder
    block, pre-norm or post-norm as ``automl.backends.keras.text`` builds it (the final norm of a
    pre-norm stack included). Parameters are registered in the order of Keras' weights.
    """

    def __init__(
        self,
        width: int,
        heads: int,
        key_dim: int,
        ff_units: int,
        dropout: float,
        pre_norm: bool = False,
        final_norm: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.heads, self.scale, self.pre_norm = heads, 1.0 / math.sqrt(key_dim), pre_norm
        inner = heads * key_dim
        if pre_norm:
            self.attention_norm = nn.LayerNorm(epsilon=LAYER_NORM_EPSILON, in_channels=width)
        self.query = nn.Dense(inner, flatten=False, in_units=width)
        self.key = nn.Dense(inner, flatten=False, in_units=width)
        self.value = nn.Dense(inner, flatten=False, in_units=width)
        self.attention_output = nn.Dense(width, flatten=False, in_units=inner)
        self.attention_dropout = nn.Dropout(dropout)
        if not pre_norm:
            self.attention_norm = nn.LayerNorm(epsilon=LAYER_NORM_EPSILON, in_channels=width)
        else:
            self.output_norm = nn.LayerNorm(epsilon=LAYER_NORM_EPSILON, in_channels=width)
        self.hidden = nn.Dense(ff_units, activation="relu", flatten=False, in_units=width)
        self.output = nn.Dense(width, flatten=False, in_units=ff_units)
        self.output_dropout = nn.Dropout(dropout)
        if not pre_norm:
            self.output_norm = nn.LayerNorm(epsilon=LAYER_NORM_EPSILON, in_channels=width)
        self.final_norm = None  # a post-norm block ends with its own norm
        if pre_norm and final_norm:
            self.final_norm = nn.LayerNorm(epsilon=LAYER_NORM_EPSILON, in_channels=width)

    def _split_heads(self, F: Any, x: Any) -> Any:
        """(batch, steps, heads * key_dim) -> (batch * heads, steps, key_dim)."""
        x = F.transpose(F.reshape(x, shape=(0, 0, -4, self.heads, -1)), axes=(0, 2, 1, 3))
        return F.reshape(x, shape=(-3, 0, 0))

    def _attention(self, F: Any, x: Any) -> Any:
        query = self._split_heads(F, self.query(x)) * self.scale
        key, value = self._split_heads(F, self.key(x)), self._split_heads(F, self.value(x))
        weights = F.softmax(F.batch_dot(query, key, transpose_b=True), axis=-1)
        context = F.reshape(F.batch_dot(weights, value), shape=(-4, -1, self.heads, 0, 0))  # (b, heads, steps, k)
        context = F.reshape(F.transpose(context, axes=(0, 2, 1, 3)), shape=(0, 0, -3))  # (b, steps, heads * k)
        return self.attention_dropout(self.attention_output(context))

    def _feed_forward(self, x: Any) -> Any:
        return self.output_dropout(self.output(self.hidden(x)))

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        if not self.pre_norm:
            x = self.attention_norm(x + self._attention(F, x))
            return self.output_norm(x + self._feed_forward(x))
        x = x + self._attention(F, self.attention_norm(x))
        x = x + self._feed_forward(self.output_norm(x))
        return x if self.final_norm is None else self.final_norm(x)


def text_blocks(layer: Layer, shape: tuple[int, ...]) -> tuple[list[nn.HybridBlock], tuple[int, ...]]:
    """Blocks for one sequence layer kind and its output shape (Keras view, without the batch axis)."""
    p, kind = layer.params, layer.kind
    if kind == "embedding":
        if len(shape) != 1:
            raise TrialFailed(f"embedding needs token ids of shape (sequence_length,), got {shape}")
        embedding = nn.Embedding(
            int(p["input_dim"]), int(p["output_dim"]), weight_initializer=mx.init.Uniform(EMBEDDING_INIT)
        )
        return [embedding], (shape[0], int(p["output_dim"]))
    if len(shape) != 2:
        raise TrialFailed(f"layer {kind!r} needs a sequence of shape (steps, channels), got {shape}")
    steps, channels = shape
    if kind == "positional_embedding":
        if (int(p["sequence_length"]), int(p["output_dim"])) != shape:
            expected = (p["sequence_length"], p["output_dim"])
            raise TrialFailed(f"positional_embedding of shape {expected} does not match the sequence's shape {shape}")
        return [_PositionalEmbedding(steps, channels)], shape
    if kind == "conv1d":
        filters = int(p["filters"])
        return [_Conv1D(filters, int(p["kernel_size"]), channels)], (steps, filters)
    if kind == "pool1d":
        size = int(p["size"])
        if size > steps:
            raise TrialFailed(f"pool1d of size {size} does not fit a sequence of {steps} steps")
        return [_Pool1D(p["mode"], size)], (steps // size, channels)
    if kind == "global_pool1d":
        return [_GlobalPool1D(p["mode"])], (channels,)
    if kind == "rnn":
        units, bidirectional = int(p["units"]), bool(p.get("bidirectional", False))
        return_sequences = bool(p.get("return_sequences", False))
        block = _RNN(p["cell"], units, bidirectional, return_sequences, channels)
        width = units * (2 if bidirectional else 1)
        return [block], (steps, width) if return_sequences else (width,)
    if kind == "transformer_block":
        block = _TransformerBlock(
            channels,
            int(p["heads"]),
            int(p["key_dim"]),
            int(p["ff_units"]),
            float(p.get("dropout", 0.0)),
            pre_norm=p.get("norm", "post") == "pre",
            final_norm=bool(p.get("final_norm", False)),
        )
        return [block], shape
    raise TrialFailed(f"the MXNet backend cannot build layer kind {kind!r}")
