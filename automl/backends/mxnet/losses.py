"""The training losses of ``ModelSpec.loss`` per sample, from the network body's outputs (logits, or
values): the values ``automl.backends.keras.losses`` computes from the probabilities."""

from __future__ import annotations

from typing import Any

from automl.backends.mxnet._import import import_mxnet
from automl.model.spec import FOCAL_GAMMA, HUBER_DELTA

import_mxnet()
from mxnet import nd  # noqa: E402 - mxnet must be imported through import_mxnet first


def sample_losses(name: str, problem_type: str, out: Any, y: Any, weights: Any = None) -> Any:
    """The loss ``name`` (a ``ModelSpec.training_loss``) of each sample, times its class weight
    when ``weights`` (one per sample) are given; its batch mean is Keras' batch loss."""
    if problem_type == "classification":
        log_p = nd.log_softmax(out, axis=-1)
        log_p_true = nd.pick(log_p, y, axis=-1)
        if name == "cross_entropy":
            losses = -log_p_true
        elif name == "mse":
            losses = nd.mean(nd.square(nd.exp(log_p) - nd.one_hot(y, depth=out.shape[-1])), axis=-1)
        elif name == "focal":
            losses = -((1.0 - nd.exp(log_p_true)) ** FOCAL_GAMMA) * log_p_true
        else:
            raise ValueError(f"the MXNet backend has no classification loss {name!r}")
    else:
        error = out.reshape((-1,)) - y
        if name == "mse":
            losses = nd.square(error)
        elif name == "mae":
            losses = nd.abs(error)
        elif name == "huber":
            size = nd.abs(error)
            losses = nd.where(size <= HUBER_DELTA, 0.5 * nd.square(error), HUBER_DELTA * (size - 0.5 * HUBER_DELTA))
        else:
            raise ValueError(f"the MXNet backend has no regression loss {name!r}")
    return losses if weights is None else losses * weights
