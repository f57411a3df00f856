"""Keras' optimizers on MXNet: where MXNet 1.9's built-in optimizers differ from Keras' (AdamW does not
exist, Nadam's schedule, RMSprop's momentum, Adagrad's initial accumulator), small
``mx.optimizer.Optimizer`` subclasses implement Keras' update rules, step for step.
"""

from __future__ import annotations

from typing import Any

from automl.backends.mxnet._import import import_mxnet
from automl.errors import TrialFailed
from automl.model.spec import OptimizerSpec

mx = import_mxnet()
from mxnet import nd  # noqa: E402 - mxnet must be imported through import_mxnet first

KERAS_EPSILON = 1e-7  # epsilon of every Keras optimizer


class _KerasAdagrad(mx.optimizer.AdaGrad):
    """Keras Adagrad: MXNet's update, with the accumulator starting at ``initial_accumulator_value``."""

    def __init__(self, initial_accumulator_value: float, **kwargs: Any) -> None:
        super().__init__(eps=KERAS_EPSILON, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value

    def create_state(self, index: Any, weight: Any) -> Any:
        return nd.full(weight.shape, self.initial_accumulator_value, ctx=weight.context, dtype=weight.dtype)


class _KerasRMSprop(mx.optimizer.Optimizer):
    """Keras RMSprop (not centered): MXNet applies ``momentum`` only to its centered variant."""

    def __init__(self, rho: float, momentum: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rho, self.momentum = rho, momentum

    def create_state(self, index: Any, weight: Any) -> Any:
        velocity = nd.zeros(weight.shape, weight.context, dtype=weight.dtype)
        momentum = nd.zeros(weight.shape, weight.context, dtype=weight.dtype) if self.momentum > 0 else None
        return velocity, momentum

    def update(self, index: Any, weight: Any, grad: Any, state: Any) -> None:
        self._update_count(index)
        lr, grad = self._get_lr(index), grad * self.rescale_grad
        velocity, momentum = state
        velocity[:] = self.rho * velocity + (1 - self.rho) * nd.square(grad)
        increment = lr * grad / nd.sqrt(velocity + KERAS_EPSILON)
        if momentum is None:
            weight[:] = weight - increment
        else:
            momentum[:] = self.momentum * momentum + increment
            weight[:] = weight - momentum


class _KerasAdamW(mx.optimizer.Adam):
    """Keras AdamW: decoupled weight decay ``w -= lr * weight_decay * w`` (on every trainable
    weight, biases and batch-norm scales included, as Keras does by default), then an Adam step.

    MXNet 1.9 has no AdamW; its ``wd`` would add ``wd * w`` to the gradient (L2), which is not
    the same optimizer, so the decay is applied to the weights here instead.
    """

    def __init__(self, weight_decay: float, **kwargs: Any) -> None:
        super().__init__(epsilon=KERAS_EPSILON, **kwargs)
        self.decoupled_weight_decay = weight_decay

    def update(self, index: Any, weight: Any, grad: Any, state: Any) -> None:
        weight[:] = weight - weight * (self._get_lr(index) * self.decoupled_weight_decay)
        super().update(index, weight, grad, state)


class _KerasNadam(mx.optimizer.Optimizer):
    """Keras Nadam (momentum schedule ``beta_1 * (1 - 0.5 * 0.96**t)``).

    MXNet's Nadam uses a different schedule decay and multiplies its schedule product once per
    parameter instead of once per step; this keeps one product per parameter, advanced per step.
    """

    def __init__(self, beta_1: float, beta_2: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2
        self._u_product: dict[Any, float] = {}

    def create_state(self, index: Any, weight: Any) -> Any:
        return (
            nd.zeros(weight.shape, weight.context, dtype=weight.dtype),
            nd.zeros(weight.shape, weight.context, dtype=weight.dtype),
        )

    def update(self, index: Any, weight: Any, grad: Any, state: Any) -> None:
        self._update_count(index)
        t = self._index_update_count[index]
        lr, grad = self._get_lr(index), grad * self.rescale_grad
        b1, b2 = self.beta_1, self.beta_2
        u_t, u_next = b1 * (1 - 0.5 * 0.96**t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product = self._u_product[index] = self._u_product.get(index, 1.0) * u_t
        m, v = state
        m[:] = b1 * m + (1 - b1) * grad
        v[:] = b2 * v + (1 - b2) * nd.square(grad)
        m_hat = (u_next / (1 - u_product * u_next)) * m + ((1 - u_t) / (1 - u_product)) * grad
        v_hat = v / (1 - b2**t)
        weight[:] = weight - lr * m_hat / (nd.sqrt(v_hat) + KERAS_EPSILON)


def keras_optimizer(spec: OptimizerSpec) -> mx.optimizer.Optimizer:
    """The MXNet optimizer of ``spec`` with Keras' update rule (defaults: ``OptimizerSpec.get``)."""
    lr, name = spec.learning_rate, spec.name
    if name == "sgd":
        momentum = float(spec.get("momentum"))
        if spec.get("nesterov"):
            return mx.optimizer.NAG(learning_rate=lr, momentum=momentum)
        return mx.optimizer.SGD(learning_rate=lr, momentum=momentum)
    if name == "adagrad":
        return _KerasAdagrad(float(spec.get("initial_accumulator_value")), learning_rate=lr)
    if name == "rmsprop":
        return _KerasRMSprop(float(spec.get("rho")), float(spec.get("momentum")), learning_rate=lr)
    beta_1, beta_2 = float(spec.get("beta_1")), float(spec.get("beta_2"))
    if name == "adam":
        return mx.optimizer.Adam(learning_rate=lr, beta1=beta_1, beta2=beta_2, epsilon=KERAS_EPSILON)
    if name == "adamw":
        return _KerasAdamW(float(spec.get("weight_decay")), learning_rate=lr, beta1=beta_1, beta2=beta_2)
    if name == "nadam":
        return _KerasNadam(beta_1, beta_2, learning_rate=lr)
    raise TrialFailed(f"the MXNet backend has no optimizer {name!r}")
