"""MXNet 1.9 (Gluon) compiler of ``ModelSpec`` that behaves like the Keras backend.

Parity with ``automl.backends.keras`` is the design goal: for the same spec both backends build
the same architecture (same trainable parameter count, same initialisation scheme), optimize the
same objective (mean loss + ``l2 * sum(kernel**2)``) with the same update rules, report the same
per-epoch logs and apply the same early stopping. Where MXNet's built-in optimizers differ from
Keras' (AdamW does not exist, Nadam's schedule, RMSprop's momentum, Adagrad's initial
accumulator), small ``mx.optimizer.Optimizer`` subclasses below implement Keras' update rules.

Inputs are NHWC ``float32`` arrays, as for Keras. Image models transpose to NCHW as their first
operation, so training, prediction and exported models all take NHWC input.
"""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from automl._compat import import_mxnet
from automl.backends.base import BaseBackend, EpochCallback, FitResult
from automl.errors import TrialFailed
from automl.spec import LEAKY_RELU_SLOPE, Layer, ModelSpec

mx = import_mxnet()
from mxnet import autograd, gluon, nd  # noqa: E402 - mxnet must be imported through import_mxnet first
from mxnet.gluon import nn  # noqa: E402

KERAS_EPSILON = 1e-7  # epsilon of every Keras optimizer
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3  # Keras BatchNormalization defaults
PREDICT_BATCH = 1024
EXPORT_PREFIX = "model"  # save() writes model-symbol.json and model-0000.params
SYMBOL_FILE, PARAMS_FILE = f"{EXPORT_PREFIX}-symbol.json", f"{EXPORT_PREFIX}-0000.params"
INPUT_NAME = "data"  # the input name HybridBlock.export gives the graph


# --------------------------------------------------------------------------- blocks
class _ToChannelsFirst(nn.HybridBlock):
    """NHWC -> NCHW: the first operation of an image model (Gluon convolutions are NCHW)."""

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.transpose(x, axes=(0, 3, 1, 2))


class _FlattenChannelsLast(nn.HybridBlock):
    """Flatten an NCHW map in Keras' (H, W, C) order, so flattened features line up with Keras."""

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.flatten(F.transpose(x, axes=(0, 2, 3, 1)))


class _SamePad(nn.HybridBlock):
    """Zero padding of an NCHW map for an even ``kernel_size`` 'same' convolution.

    TensorFlow pads ``(k - 1) // 2`` before and ``k // 2`` after; odd kernels use the
    convolution's own symmetric padding instead.
    """

    def __init__(self, kernel_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        before, after = (kernel_size - 1) // 2, kernel_size // 2
        self._pad_width = (0, 0, 0, 0, before, after, before, after)

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.pad(x, mode="constant", constant_value=0.0, pad_width=self._pad_width)


class SpecNetwork(nn.HybridBlock):
    """A compiled ``ModelSpec``: ``body`` maps NHWC inputs to the head's raw outputs.

    Calling the network returns what ``predict`` returns: softmax probabilities for
    classification (``body`` gives the logits, which training uses), values for regression.
    """

    def __init__(self, body: nn.HybridSequential, classification: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body = body
        self.classification = classification

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        out = self.body(x)
        return F.softmax(out, axis=-1) if self.classification else out


def _activation(name: str) -> nn.HybridBlock:
    """The Gluon block of a spec activation (Keras semantics: exact GELU, alpha 1 ELU, ...)."""
    if name in ("relu", "tanh"):
        return nn.Activation(name)
    if name == "elu":
        return nn.ELU(alpha=1.0)
    if name == "selu":
        return nn.SELU()
    if name == "gelu":
        return nn.GELU()  # erf form, like keras.activations.gelu(approximate=False)
    if name == "swish":
        return nn.Swish(beta=1.0)
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_RELU_SLOPE)
    raise TrialFailed(f"the MXNet backend has no activation {name!r}")


def _layer_blocks(layer: Layer, shape: tuple[int, ...]) -> tuple[list[nn.HybridBlock], tuple[int, ...]]:
    """Blocks for one layer and the output shape (channels-last, without the batch axis).

    ``shape`` is the Keras view of the tensor; a rank-3 shape is an image map, held NCHW in Gluon.
    Shapes are tracked so every block is created with its input size (no deferred initialisation).
    """
    p, kind, image = layer.params, layer.kind, len(shape) == 3
    if kind in ("conv2d", "pool2d", "global_pool2d") and not image:
        raise TrialFailed(f"layer {kind!r} needs an image map of shape (height, width, channels), got {shape}")
    if kind == "flatten":
        block = _FlattenChannelsLast() if image else nn.Flatten()
        return [block], (int(np.prod(shape)),)
    if kind == "dense":
        return [_dense(int(p["units"]), shape)], (*shape[:-1], int(p["units"]))
    if kind == "conv2d":
        k, filters = int(p["kernel_size"]), int(p["filters"])
        pad = [] if k % 2 else [_SamePad(k)]
        conv = nn.Conv2D(filters, k, strides=1, padding=k // 2 if k % 2 else 0, in_channels=shape[2])
        return [*pad, conv], (shape[0], shape[1], filters)
    if kind == "pool2d":
        size = int(p["size"])
        if size > min(shape[:2]):
            raise TrialFailed(f"pool2d of size {size} does not fit a {shape[0]}x{shape[1]} map")
        pool = nn.MaxPool2D if p["mode"] == "max" else nn.AvgPool2D
        return [pool(pool_size=size, strides=size)], (shape[0] // size, shape[1] // size, shape[2])
    if kind == "global_pool2d":
        pool = nn.GlobalMaxPool2D() if p["mode"] == "max" else nn.GlobalAvgPool2D()
        return [pool, nn.Flatten()], (shape[2],)
    if kind == "dropout":
        return [nn.Dropout(float(p["rate"]))], shape
    if kind == "batch_norm":
        axis = 1 if image else -1  # the channel axis: NCHW maps, else the last axis as in Keras
        return [nn.BatchNorm(axis=axis, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, in_channels=shape[-1])], shape
    if kind == "activation":
        return [_activation(p["name"])], shape
    raise TrialFailed(f"the MXNet backend cannot build layer kind {kind!r}")


def _dense(units: int, shape: tuple[int, ...]) -> nn.Dense:
    """A Dense layer on the last axis, as Keras' (image maps must be flattened or pooled first)."""
    if len(shape) == 3:
        raise TrialFailed(f"dense needs flat input; add a flatten or global_pool2d layer before it (got {shape})")
    return nn.Dense(units, flatten=False, in_units=shape[-1])


def _kernels(network: SpecNetwork) -> list[gluon.Parameter]:
    """The dense/conv kernels (not biases, not batch norm), the weights ``l2`` applies to."""
    return [block.weight for block in network.body._children.values() if isinstance(block, nn.Dense | nn.Conv2D)]


# --------------------------------------------------------------------------- optimizers
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


def _optimizer(spec: ModelSpec) -> mx.optimizer.Optimizer:
    """The optimizer of ``spec`` with Keras' update rule and defaults."""
    o, lr, name = spec.optimizer.params, spec.optimizer.learning_rate, spec.optimizer.name
    if name == "sgd":
        momentum = float(o.get("momentum", 0.0))
        if o.get("nesterov", False):
            return mx.optimizer.NAG(learning_rate=lr, momentum=momentum)
        return mx.optimizer.SGD(learning_rate=lr, momentum=momentum)
    if name == "adagrad":
        return _KerasAdagrad(float(o.get("initial_accumulator_value", 0.1)), learning_rate=lr)
    if name == "rmsprop":
        return _KerasRMSprop(float(o.get("rho", 0.9)), float(o.get("momentum", 0.0)), learning_rate=lr)
    beta_1, beta_2 = float(o.get("beta_1", 0.9)), float(o.get("beta_2", 0.999))
    if name == "adam":
        return mx.optimizer.Adam(learning_rate=lr, beta1=beta_1, beta2=beta_2, epsilon=KERAS_EPSILON)
    if name == "adamw":
        return _KerasAdamW(float(o.get("weight_decay", 0.004)), learning_rate=lr, beta1=beta_1, beta2=beta_2)
    if name == "nadam":
        return _KerasNadam(beta_1, beta_2, learning_rate=lr)
    raise TrialFailed(f"the MXNet backend has no optimizer {name!r}")


# --------------------------------------------------------------------------- training helpers
class _EarlyStopping:
    """Keras ``EarlyStopping(monitor='val_loss', restore_best_weights=True)``, step for step."""

    def __init__(self, patience: int) -> None:
        self.patience, self.wait = patience, 0
        self.best, self.best_epoch = math.inf, 0
        self.weights: dict[str, Any] | None = None

    def update(self, epoch: int, val_loss: float, network: SpecNetwork) -> bool:
        """Record epoch ``epoch`` (0-based); True when patience is exhausted."""
        if self.weights is None:
            self.weights, self.best_epoch = _snapshot(network), epoch
        self.wait += 1
        if val_loss < self.best:
            self.best, self.best_epoch, self.wait = val_loss, epoch, 0
            self.weights = _snapshot(network)
            return False
        return self.wait >= self.patience and epoch > 0

    def restore(self, network: SpecNetwork) -> None:
        if self.weights is not None:
            for name, param in network.collect_params().items():
                param.set_data(self.weights[name])


def _snapshot(network: SpecNetwork) -> dict[str, Any]:
    """A copy of every parameter, batch-norm running statistics included (Keras' get_weights)."""
    return {name: param.data().copy() for name, param in network.collect_params().items()}


class _Objective:
    """The training objective and metrics of a spec: per-sample loss, metric, ``l2`` penalty."""

    def __init__(self, spec: ModelSpec, network: SpecNetwork) -> None:
        self.classification = spec.objective == "classification"
        self.metric = "accuracy" if self.classification else "mae"
        self.l2, self.kernels = spec.l2, _kernels(network)
        self._cross_entropy = gluon.loss.SoftmaxCrossEntropyLoss()

    def losses(self, out: Any, y: Any) -> Any:
        """Per-sample loss from the body's output: cross-entropy on logits, or squared error."""
        if self.classification:
            return self._cross_entropy(out, y)
        return nd.square(out.reshape((-1,)) - y)

    def metric_sum(self, out: Any, y: Any) -> Any:
        """Sum over the batch of the metric (correct predictions, or absolute errors)."""
        if self.classification:
            return (nd.argmax(out, axis=1) == y).sum()
        return nd.abs(out.reshape((-1,)) - y).sum()

    def penalty(self) -> Any:
        """``l2 * sum(kernel**2)`` over dense/conv kernels (Keras' kernel_regularizer=L2(l2))."""
        return self.l2 * nd.add_n(*[nd.square(k.data()).sum() for k in self.kernels])


# --------------------------------------------------------------------------- backend
class MXNetBackend(BaseBackend):
    """Builds hybridized Gluon networks; trains them like the Keras backend does."""

    name = "mxnet"

    def __init__(self) -> None:
        self._ctx = _context()

    # -- model
    def build(self, spec: ModelSpec) -> SpecNetwork:
        body = nn.HybridSequential()
        shape = tuple(int(d) for d in spec.input_shape)
        if len(shape) == 3:
            body.add(_ToChannelsFirst())
        for layer in spec.layers:
            blocks, shape = _layer_blocks(layer, shape)
            body.add(*blocks)
        if len(shape) != 1:
            raise TrialFailed(f"the output head needs flat features; the last layer gives shape {shape}")
        body.add(_dense(spec.n_outputs if spec.objective == "classification" else 1, shape))
        network = SpecNetwork(body, classification=spec.objective == "classification")
        # Keras' glorot_uniform: U(-sqrt(6 / (fan_in + fan_out)), +...); biases start at zero.
        network.initialize(mx.init.Xavier(rnd_type="uniform", factor_type="avg", magnitude=3), ctx=self._ctx)
        network.hybridize()
        return network

    def fit(
        self,
        model: Any,
        spec: ModelSpec,
        X: np.ndarray,
        y: np.ndarray,
        *,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        epochs: int | None = None,
        on_epoch: EpochCallback | None = None,
    ) -> FitResult:
        objective = _Objective(spec, model)
        trainer = gluon.Trainer(model.collect_params(), _optimizer(spec), kvstore=None)
        early = (
            _EarlyStopping(spec.early_stopping_patience)
            if validation is not None and spec.early_stopping_patience
            else None
        )
        X_nd, y_nd = self._array(X), self._array(y)
        history: dict[str, list[float]] = {}
        stopped_by_callback = False
        for epoch in range(epochs or spec.epochs):
            logs = self._train_epoch(model, objective, trainer, X_nd, y_nd, spec.batch_size)
            if not math.isfinite(logs["loss"]):
                raise TrialFailed("the training loss became NaN or infinite (diverged); try a lower learning rate")
            if validation is not None:
                val_loss, val_metric = self._evaluate(model, objective, *validation)
                logs.update({"val_loss": val_loss, f"val_{objective.metric}": val_metric})
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            stop = False
            if on_epoch is not None and on_epoch(epoch, dict(logs)):
                stop = stopped_by_callback = True
            if early is not None and early.update(epoch, logs["val_loss"], model):
                stop = True
            if stop:
                break
        best_epoch = len(history.get("loss", []))
        if early is not None:
            early.restore(model)  # like Keras' on_train_end: also after a stop requested by on_epoch
            best_epoch = early.best_epoch + 1
        return FitResult(history=history, best_epoch=best_epoch, stopped_by_callback=stopped_by_callback)

    def _train_epoch(
        self, network: SpecNetwork, objective: _Objective, trainer: gluon.Trainer, X: Any, y: Any, batch_size: int
    ) -> dict[str, float]:
        """One pass over shuffled mini-batches; Keras' logs (batch-size weighted means)."""
        n = X.shape[0]
        order = nd.array(np.random.permutation(n), ctx=self._ctx, dtype="int64")
        loss_sum, metric_sum = nd.zeros((1,), ctx=self._ctx), nd.zeros((1,), ctx=self._ctx)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            xb, yb = nd.take(X, index), nd.take(y, index)
            with autograd.record():
                out = network.body(xb)
                loss = objective.losses(out, yb).mean()
                if objective.l2 > 0:
                    loss = loss + objective.penalty()
            loss.backward()
            trainer.step(1)  # the loss is already a batch mean
            loss_sum += loss * index.shape[0]
            metric_sum += objective.metric_sum(out, yb)
        return {"loss": float(loss_sum.asscalar()) / n, objective.metric: float(metric_sum.asscalar()) / n}

    def _evaluate(
        self, network: SpecNetwork, objective: _Objective, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, float]:
        """Validation loss (regularization included, as in Keras) and metric, in inference mode."""
        loss_sum, metric_sum = nd.zeros((1,), ctx=self._ctx), nd.zeros((1,), ctx=self._ctx)
        for start in range(0, len(X), PREDICT_BATCH):
            xb, yb = self._array(X[start : start + PREDICT_BATCH]), self._array(y[start : start + PREDICT_BATCH])
            out = network.body(xb)
            loss_sum += objective.losses(out, yb).sum()
            metric_sum += objective.metric_sum(out, yb)
        loss = float(loss_sum.asscalar()) / len(X)
        if objective.l2 > 0:
            loss += float(objective.penalty().asscalar())
        return loss, float(metric_sum.asscalar()) / len(X)

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        outputs = [
            model(self._array(X[start : start + PREDICT_BATCH])).asnumpy() for start in range(0, len(X), PREDICT_BATCH)
        ]
        out = np.concatenate(outputs)
        return out if out.shape[-1] > 1 else out.reshape(-1)

    def count_params(self, model: Any) -> int:
        params = model.collect_params().values()  # a loaded SymbolBlock knows its shapes from the data only
        return int(sum(p.data().size for p in params if p.grad_req != "null"))

    # -- persistence
    def save(self, model: Any, spec: ModelSpec, directory: Path) -> None:
        """Export the graph (NHWC input ``data`` -> probabilities or values) and its parameters."""
        directory.mkdir(parents=True, exist_ok=True)
        model(nd.zeros((1, *spec.input_shape), ctx=self._ctx))  # export needs a traced graph (inference mode)
        model.export(str(directory / EXPORT_PREFIX), epoch=0)

    def load(self, directory: Path, spec: ModelSpec) -> Any:
        with warnings.catch_warnings():  # "cannot decide type for data": the input's dtype comes with the first call
            warnings.simplefilter("ignore", UserWarning)
            network = gluon.SymbolBlock.imports(
                str(directory / SYMBOL_FILE), [INPUT_NAME], str(directory / PARAMS_FILE), ctx=self._ctx
            )
        network.hybridize()
        return network

    # -- environment
    def seed(self, seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed)  # mini-batch shuffling
        mx.random.seed(seed)  # initialisation and dropout

    def release(self) -> None:
        nd.waitall()

    def device(self) -> str:
        return "gpu:0" if self._ctx.device_type == "gpu" else "cpu"

    def _array(self, values: np.ndarray) -> Any:
        return nd.array(np.asarray(values, dtype=np.float32), ctx=self._ctx, dtype="float32")


def _context() -> Any:
    """``mx.gpu(0)`` when MXNet sees a GPU, else the CPU (also when the GPU query fails)."""
    try:
        has_gpu = mx.context.num_gpus() > 0
    except Exception:  # noqa: BLE001 - a CPU-only build or a broken driver: train on the CPU
        has_gpu = False
    return mx.gpu(0) if has_gpu else mx.cpu()
