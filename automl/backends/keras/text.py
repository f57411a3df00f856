"""Keras builders of the sequence (text) layer kinds of ``automl.spec``.

Inputs are float32 token ids of shape (sequence_length,); ``Embedding`` casts them to int.
Sequences are (steps, channels) maps. Dense and convolution kernels (the attention projections
and feed-forward layers of a transformer block included) take the model's kernel regularizer;
embeddings and recurrent weights do not, as on the MXNet backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from automl.data.text import inverse_document_frequency
from automl.model.spec import Layer

EMBEDDING_INIT = 0.05  # Keras' Embedding default: uniform in [-0.05, 0.05]
LAYER_NORM_EPSILON = 1e-3  # Keras' LayerNormalization default
NORM_EPSILON = 1e-12  # a text without known tokens keeps a zero vector


@keras.saving.register_keras_serializable(package="automl")
class PositionalEmbedding(keras.layers.Layer):
    """Adds a learned vector per position to a (steps, channels) sequence."""

    def __init__(self, sequence_length: int, output_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sequence_length, self.output_dim = sequence_length, output_dim

    def build(self, input_shape: Any) -> None:
        self.positions = self.add_weight(
            shape=(self.sequence_length, self.output_dim),
            initializer=keras.initializers.RandomUniform(-EMBEDDING_INIT, EMBEDDING_INIT),
            name="positions",
        )

    def call(self, inputs: Any) -> Any:
        return inputs + self.positions

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sequence_length": self.sequence_length, "output_dim": self.output_dim}


@keras.saving.register_keras_serializable(package="automl")
class TfIdf(keras.layers.Layer):
    """Token ids -> their L2-normalised TF-IDF vector, ``(1 + ln count) * idf`` per token id.

    ``idf`` is a non-trainable weight: ``adapt`` sets it from the rows a model is fitted on (the
    backend's ``fit`` does, each fold and each refit), and it is saved with the model.
    """

    def __init__(self, vocab_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.counts = keras.layers.CategoryEncoding(vocab_size, output_mode="count")

    def build(self, input_shape: Any) -> None:
        self.idf = self.add_weight(shape=(self.vocab_size,), initializer="ones", trainable=False, name="idf")

    def adapt(self, token_ids: np.ndarray) -> None:
        self.idf.assign(inverse_document_frequency(token_ids, self.vocab_size))

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        counts = self.counts(ops.cast(inputs, "int32"))
        weights = ops.where(counts > 0, 1.0 + ops.log(ops.maximum(counts, 1.0)), 0.0) * self.idf
        return weights / ops.sqrt(ops.sum(ops.square(weights), axis=-1, keepdims=True) + NORM_EPSILON)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
        return (input_shape[0], self.vocab_size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size}


def adapt_to(model: keras.Model, X: np.ndarray) -> None:
    """Fit the data-dependent layers of ``model`` (its ``TfIdf``) to the rows it is about to train on."""
    for layer in model.layers:
        if isinstance(layer, TfIdf):
            layer.adapt(X)


def text_layer(layer: Layer, regularizer: Any) -> Callable[[Any], Any]:
    """The Keras layer (or functional block) of one sequence layer kind."""
    p, kind = layer.params, layer.kind
    if kind == "embedding":
        return keras.layers.Embedding(int(p["input_dim"]), int(p["output_dim"]))
    if kind == "positional_embedding":
        return PositionalEmbedding(int(p["sequence_length"]), int(p["output_dim"]))
    if kind == "conv1d":
        return keras.layers.Conv1D(
            int(p["filters"]), int(p["kernel_size"]), padding="same", kernel_regularizer=regularizer
        )
    if kind == "pool1d":
        pool = keras.layers.MaxPooling1D if p["mode"] == "max" else keras.layers.AveragePooling1D
        return pool(pool_size=int(p["size"]))
    if kind == "global_pool1d":
        return keras.layers.GlobalMaxPooling1D() if p["mode"] == "max" else keras.layers.GlobalAveragePooling1D()
    if kind == "rnn":
        cell = keras.layers.LSTM if p["cell"] == "lstm" else keras.layers.GRU
        rnn = cell(int(p["units"]), return_sequences=bool(p.get("return_sequences", False)))
        return keras.layers.Bidirectional(rnn) if p.get("bidirectional") else rnn
    if kind == "transformer_block":
        return _transformer_block(p, regularizer)
    if kind == "tf_idf":
        return TfIdf(int(p["vocab_size"]))
    raise ValueError(f"the Keras backend cannot build layer kind {kind!r}")


def _transformer_block(p: dict[str, Any], regularizer: Any) -> Callable[[Any], Any]:
    """Encoder block. Pre-norm (``norm: pre``): x = x + drop(attention(norm(x))); x = x + drop(ff(norm(x))),
    then norm(x) when ``final_norm`` (the last block of a stack). Post-norm (``post``, the default of a
    spec without ``norm``): x = norm(x + drop(attention(x))); x = norm(x + drop(ff(x)))."""
    rate, pre_norm = float(p.get("dropout", 0.0)), p.get("norm", "post") == "pre"

    def norm(x: Any) -> Any:
        return keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON)(x)

    def residual(x: Any, branch: Callable[[Any], Any]) -> Any:
        if pre_norm:
            return keras.layers.Add()([x, keras.layers.Dropout(rate)(branch(norm(x)))])
        return norm(keras.layers.Add()([x, keras.layers.Dropout(rate)(branch(x))]))

    def apply(x: Any) -> Any:
        heads, key_dim, width = int(p["heads"]), int(p["key_dim"]), int(x.shape[-1])
        attention = keras.layers.MultiHeadAttention(heads, key_dim, kernel_regularizer=regularizer)
        x = residual(x, lambda h: attention(h, h))
        hidden = keras.layers.Dense(int(p["ff_units"]), activation="relu", kernel_regularizer=regularizer)
        output = keras.layers.Dense(width, kernel_regularizer=regularizer)
        x = residual(x, lambda h: output(hidden(h)))
        return norm(x) if pre_norm and p.get("final_norm") else x

    return apply
