"""The training losses of ``ModelSpec.loss`` as Keras losses, on the model's outputs (softmax
probabilities, or values). ``automl.backends.mxnet.losses`` computes the same values from logits.

Keras reduces a batch as ``sum(sample_weight * loss) / batch`` (``class_weight`` becomes the sample
weights). The two losses Keras lacks are registered, so saved models load without custom objects.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from automl.model.spec import FOCAL_GAMMA, HUBER_DELTA


def _true_class(y_true: Any, y_pred: Any) -> Any:
    """The one-hot targets of class indices ``y_true`` (shape (n,) or (n, 1)), as wide as ``y_pred``."""
    return ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), y_pred.shape[-1], dtype=y_pred.dtype)


@keras.saving.register_keras_serializable(package="automl")
class ProbabilitySquaredError(keras.losses.Loss):
    """Per sample: the mean over the classes of (probability - one-hot target)**2."""

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return ops.mean(ops.square(y_pred - _true_class(y_true, y_pred)), axis=-1)


@keras.saving.register_keras_serializable(package="automl")
class FocalCrossEntropy(keras.losses.Loss):
    """Per sample: ``-(1 - p_t)**FOCAL_GAMMA * log(p_t)``, ``p_t`` the true class's probability."""

    def call(self, y_true: Any, y_pred: Any) -> Any:
        p_true = ops.sum(y_pred * _true_class(y_true, y_pred), axis=-1)
        p_true = ops.clip(p_true, keras.config.epsilon(), 1.0)  # as Keras' cross-entropy clips probabilities
        return -ops.power(1.0 - p_true, FOCAL_GAMMA) * ops.log(p_true)


def keras_loss(name: str, problem_type: str) -> keras.losses.Loss:
    """The Keras loss called ``name`` (a ``ModelSpec.training_loss``) for ``problem_type``."""
    if problem_type == "classification":
        if name == "cross_entropy":
            return keras.losses.SparseCategoricalCrossentropy()
        if name == "mse":
            return ProbabilitySquaredError(name="mse")
        if name == "focal":
            return FocalCrossEntropy(name="focal")
    elif name == "mse":
        return keras.losses.MeanSquaredError()
    elif name == "mae":
        return keras.losses.MeanAbsoluteError()
    elif name == "huber":
        return keras.losses.Huber(delta=HUBER_DELTA)
    raise ValueError(f"the Keras backend has no {problem_type} loss {name!r}")
