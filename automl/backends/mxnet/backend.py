"""MXNet 1.9 (Gluon) compiler of ``ModelSpec`` that behaves like the Keras backend.

Parity with ``automl.backends.keras`` is the design goal: for the same spec both backends build
the same architecture (same trainable parameter count, same initialisation scheme), optimize the
same objective (the mean of the spec's loss, ``automl.backends.mxnet.losses``, + the ``l1``/``l2``
penalty) with the same update rules, report the same per-epoch logs and apply the same early
stopping. Keras' update rules, where MXNet's own optimizers differ, are in
``automl.backends.mxnet.optimizers``.

Inputs are NHWC ``float32`` arrays, as for Keras. Image models transpose to NCHW as their first
operation, so training, prediction and exported models all take NHWC input.
"""

from __future__ import annotations

import math
import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from automl.backends.base import BaseBackend, EpochCallback, FitResult, class_weights
from automl.backends.mxnet._import import import_mxnet
from automl.backends.mxnet.losses import sample_losses
from automl.backends.mxnet.optimizers import keras_optimizer
from automl.backends.mxnet.text import TfIdfDense, adapt_to, fix_loaded_idf, text_blocks, tf_idf_dense
from automl.errors import TrialFailed
from automl.model.spec import BATCH_NORM_MOMENTUM, LEAKY_RELU_SLOPE, TEXT_LAYER_KINDS, Layer, ModelSpec

mx = import_mxnet()
from mxnet import autograd, gluon, nd  # noqa: E402 - mxnet must be imported through import_mxnet first
from mxnet.gluon import nn  # noqa: E402

BN_MOMENTUM, BN_EPSILON = BATCH_NORM_MOMENTUM, 1e-3  # as the Keras backend's BatchNormalization
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
    if kind in TEXT_LAYER_KINDS:
        return text_blocks(layer, shape)
    if kind in ("conv2d", "pool2d", "global_pool2d", "residual_block", "augment") and not image:
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
    if kind == "residual_block":
        block = _ResidualBlock(p, shape)
        return [block], block.out_shape
    if kind == "augment":
        return [_Augment(p, shape)], shape
    raise TrialFailed(f"the MXNet backend cannot build layer kind {kind!r}")


def _dense(units: int, shape: tuple[int, ...]) -> nn.Dense:
    """A Dense layer on the last axis, as Keras' (image maps must be flattened or pooled first)."""
    if len(shape) == 3:
        raise TrialFailed(f"dense needs flat input; add a flatten or global_pool2d layer before it (got {shape})")
    return nn.Dense(units, flatten=False, in_units=shape[-1])


def _kernels(network: SpecNetwork) -> list[gluon.Parameter]:
    """The dense/conv kernels (not biases, not batch norm), the weights ``l1``/``l2`` apply to, also those
    inside composite blocks (residual blocks)."""
    kernels: list[gluon.Parameter] = []

    def walk(block: nn.Block) -> None:
        for child in block._children.values():
            if isinstance(child, nn.Dense | nn.Conv1D | nn.Conv2D | TfIdfDense):
                kernels.append(child.weight)
            walk(child)

    walk(network.body)
    return kernels


def _same_conv(filters: int, kernel_size: int, stride: int, shape: tuple[int, ...]) -> tuple[list[Any], tuple]:
    """A Conv2D with TensorFlow's 'same' padding for any stride: output ``ceil(n / stride)``, and
    ``max((out - 1) * stride + k - n, 0)`` padding split with the extra row/column after."""
    pads, out = [], []
    for n in shape[:2]:
        size = -(-n // stride)
        total = max((size - 1) * stride + kernel_size - n, 0)
        pads.append((total // 2, total - total // 2))
        out.append(size)
    symmetric = all(before == after for before, after in pads)
    conv = nn.Conv2D(
        filters,
        kernel_size,
        strides=stride,
        padding=tuple(before for before, _ in pads) if symmetric else 0,
        in_channels=shape[2],
    )
    pad = [] if symmetric else [_Pad((0, 0, 0, 0, *pads[0], *pads[1]))]
    return [*pad, conv], (out[0], out[1], filters)


def _image_batch_norm(channels: int) -> nn.BatchNorm:
    return nn.BatchNorm(axis=1, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, in_channels=channels)


class _Pad(nn.HybridBlock):
    """Constant zero padding of an NCHW map (``pad_width`` as ``F.pad`` takes it)."""

    def __init__(self, pad_width: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pad_width = pad_width

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        return F.pad(x, mode="constant", constant_value=0.0, pad_width=self._pad_width)


class _ResidualBlock(nn.HybridBlock):
    """The Keras backend's residual block: conv (strided) [bn] act, conv [bn], plus the input
    (through a 1x1 strided conv [bn] when the width or the stride changes), then the activation.
    Parameters register in the order Keras lists its weights (main path, then the projection)."""

    def __init__(self, p: dict[str, Any], shape: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        filters, kernel_size, stride = int(p["filters"]), int(p["kernel_size"]), int(p.get("stride", 1))
        norm = bool(p.get("batch_norm"))
        first, mid = _same_conv(filters, kernel_size, stride, shape)
        second, self.out_shape = _same_conv(filters, kernel_size, 1, mid)
        self.main = nn.HybridSequential()
        self.main.add(*first, *([_image_batch_norm(filters)] if norm else []), _activation(p["activation"]))
        self.main.add(*second, *([_image_batch_norm(filters)] if norm else []))
        self.projection = None
        if stride != 1 or shape[2] != filters:
            self.projection = nn.HybridSequential()
            projection, _ = _same_conv(filters, 1, stride, shape)
            self.projection.add(*projection, *([_image_batch_norm(filters)] if norm else []))
        self.activation = _activation(p["activation"])

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        shortcut = x if self.projection is None else self.projection(x)
        return self.activation(self.main(x) + shortcut)


class _Augment(nn.HybridBlock):
    """Random flips, shifts and rotations of an NCHW batch: the map of the Keras backend's
    ``RandomAffine`` (see ``automl.backends.keras.augment``), drawn the same way and applied with
    ``GridGenerator`` + ``BilinearSampler`` (zeros outside the image).

    The sampler's coordinates are normalized to [-1, 1] from the first to the last pixel centre
    (``W - 1`` pixels), so a shift of ``s`` pixels is ``2 s / (W - 1)`` and a rotation in pixel
    space scales its off-diagonal terms by ``(H - 1) / (W - 1)``.

    A hybridized graph is traced once for training and prediction alike, so the training switch
    lives in the graph: ``Dropout(p=0.5)`` of ones is 0 or 2 under ``autograd.record()`` and
    exactly 1 otherwise, so ``|dropout(1) - 1|`` selects the augmented images while training and
    the untouched input at prediction and in exported models.
    """

    def __init__(self, p: dict[str, Any], shape: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flip = p.get("flip", "none")
        self.shift, self.rotation = float(p.get("shift", 0)), float(p.get("rotation", 0))
        self.height, self.width = int(shape[0]), int(shape[1])

    def hybrid_forward(self, F: Any, x: Any) -> Any:
        per_image = F.reshape(F.slice_axis(F.reshape(x, (0, -1)), axis=1, begin=0, end=1), (-1,))
        one = F.ones_like(per_image)

        def uniform() -> Any:
            return F.random.uniform_like(per_image, low=-1.0, high=1.0)

        def sign(flipped: bool) -> Any:  # -1 for half of the images when flipped along this axis
            return F.where(uniform() < 0, -one, one) if flipped else one

        sx, sy = sign(self.flip in ("horizontal", "both")), sign(self.flip in ("vertical", "both"))
        angle = uniform() * (self.rotation * 2 * math.pi)
        cos, sin = F.cos(angle), F.sin(angle)
        span_x, span_y = max(self.width - 1, 1), max(self.height - 1, 1)  # pixels from -1 to 1
        shift_x = uniform() * (2 * self.shift * self.width / span_x)
        shift_y = uniform() * (2 * self.shift * self.height / span_y)
        ratio = span_y / span_x
        theta = F.stack(cos * sx, -sin * sy * ratio, shift_x, sin * sx / ratio, cos * sy, shift_y, axis=1)
        grid = F.GridGenerator(theta, transform_type="affine", target_shape=(self.height, self.width))
        training = F.abs(F.Dropout(one, p=0.5) - 1)
        return F.where(training, F.BilinearSampler(x, grid), x)


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
                # an operator, not set_data: oneDNN may hold a weight (Conv1D's) in its own layout
                # after inference, and a plain copy into it fails with "to.IsDefaultData()"
                nd.identity(self.weights[name], out=param.data())


def _snapshot(network: SpecNetwork) -> dict[str, Any]:
    """A copy of every parameter, batch-norm running statistics included (Keras' get_weights)."""
    return {name: param.data().copy() for name, param in network.collect_params().items()}


class _Criterion:
    """The training loss and metrics of a spec: per-sample loss, metric, ``l1``/``l2`` penalty."""

    def __init__(self, spec: ModelSpec, network: SpecNetwork) -> None:
        self.problem_type, self.loss = spec.problem_type, spec.training_loss
        self.classification = spec.problem_type == "classification"
        self.metric = "accuracy" if self.classification else "mae"
        self.l1, self.l2, self.kernels = spec.l1, spec.l2, _kernels(network)
        self.regularized = self.l1 > 0 or self.l2 > 0

    def losses(self, out: Any, y: Any, weights: Any = None) -> Any:
        """Per-sample loss (the spec's ``training_loss``) from the body's output; times the per-sample
        class ``weights`` when given (Keras' ``class_weight``)."""
        return sample_losses(self.loss, self.problem_type, out, y, weights)

    def metric_sum(self, out: Any, y: Any) -> Any:
        """Sum over the batch of the metric (correct predictions, or absolute errors)."""
        if self.classification:
            return (nd.argmax(out, axis=1) == y).sum()
        return nd.abs(out.reshape((-1,)) - y).sum()

    def penalty(self) -> Any:
        """``l1 * sum(|kernel|) + l2 * sum(kernel**2)`` over dense/conv kernels (Keras'
        ``kernel_regularizer=L1L2(l1, l2)``)."""
        terms = []
        if self.l1 > 0:
            terms.append(self.l1 * nd.add_n(*[nd.abs(k.data()).sum() for k in self.kernels]))
        if self.l2 > 0:
            terms.append(self.l2 * nd.add_n(*[nd.square(k.data()).sum() for k in self.kernels]))
        return nd.add_n(*terms)


# --------------------------------------------------------------------------- backend
class MXNetBackend(BaseBackend):
    """Builds hybridized Gluon networks; trains them like the Keras backend does."""

    name = "mxnet"
    engine = "mxnet"

    def __init__(self) -> None:
        self._ctx = _context()

    # -- model
    def build(self, spec: ModelSpec) -> SpecNetwork:
        body = nn.HybridSequential()
        shape = tuple(int(d) for d in spec.input_shape)
        if len(shape) == 3:
            body.add(_ToChannelsFirst())
        head = Layer("dense", {"units": spec.n_outputs if spec.problem_type == "classification" else 1})
        layers, index = [*spec.layers, head], 0
        while index < len(layers):
            layer = layers[index]
            if layer is head and len(shape) != 1:
                raise TrialFailed(f"the output head needs flat features; the last layer gives shape {shape}")
            if layer.kind == "tf_idf":  # one block with the dense layer after it (the head when none): TfIdfDense
                blocks, shape = tf_idf_dense(layer, layers[index + 1], shape)
                index += 2
            else:
                blocks, shape = _layer_blocks(layer, shape)
                index += 1
            body.add(*blocks)
        network = SpecNetwork(body, classification=spec.problem_type == "classification")
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
        criterion = _Criterion(spec, model)
        trainer = gluon.Trainer(model.collect_params(), keras_optimizer(spec.optimizer), kvstore=None)
        early = (
            _EarlyStopping(spec.early_stopping_patience)
            if validation is not None and spec.early_stopping_patience
            else None
        )
        adapt_to(model, X)
        X_nd, y_nd = self._array(X), self._array(y)
        weights = class_weights(spec, y)
        w_nd = None if weights is None else self._array(np.array([weights[int(c)] for c in y]))
        history: dict[str, list[float]] = {}
        stopped_by_callback = False
        for epoch in range(epochs or spec.epochs):
            logs = self._train_epoch(model, criterion, trainer, X_nd, y_nd, w_nd, spec.batch_size)
            if not math.isfinite(logs["loss"]):
                raise TrialFailed("the training loss became NaN or infinite (diverged); try a lower learning rate")
            if validation is not None:
                val_loss, val_metric = self._evaluate(model, criterion, *validation)
                logs.update({"val_loss": val_loss, f"val_{criterion.metric}": val_metric})
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
        self,
        network: SpecNetwork,
        criterion: _Criterion,
        trainer: gluon.Trainer,
        X: Any,
        y: Any,
        weights: Any,
        batch_size: int,
    ) -> dict[str, float]:
        """One pass over shuffled mini-batches; Keras' logs (batch-size weighted means).

        With per-sample class ``weights``, as in Keras: the batch loss is ``sum(w * loss) / batch``;
        the metric stays unweighted (Keras compiles ``metrics``, not ``weighted_metrics``).
        """
        n = X.shape[0]
        order = nd.array(np.random.permutation(n), ctx=self._ctx, dtype="int64")
        loss_sum, metric_sum = nd.zeros((1,), ctx=self._ctx), nd.zeros((1,), ctx=self._ctx)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            xb, yb = nd.take(X, index), nd.take(y, index)
            wb = None if weights is None else nd.take(weights, index)
            with autograd.record():
                out = network.body(xb)
                loss = criterion.losses(out, yb, wb).mean()
                if criterion.regularized:
                    loss = loss + criterion.penalty()
            loss.backward()
            trainer.step(1)  # the loss is already a batch mean
            loss_sum += loss * index.shape[0]
            metric_sum += criterion.metric_sum(out, yb)
        return {"loss": float(loss_sum.asscalar()) / n, criterion.metric: float(metric_sum.asscalar()) / n}

    def _evaluate(
        self, network: SpecNetwork, criterion: _Criterion, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, float]:
        """Validation loss (regularization included, as in Keras) and metric, in inference mode."""
        loss_sum, metric_sum = nd.zeros((1,), ctx=self._ctx), nd.zeros((1,), ctx=self._ctx)
        for start in range(0, len(X), PREDICT_BATCH):
            xb, yb = self._array(X[start : start + PREDICT_BATCH]), self._array(y[start : start + PREDICT_BATCH])
            out = network.body(xb)
            loss_sum += criterion.losses(out, yb).sum()
            metric_sum += criterion.metric_sum(out, yb)
        loss = float(loss_sum.asscalar()) / len(X)
        if criterion.regularized:
            loss += float(criterion.penalty().asscalar())
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
        fix_loaded_idf(network)
        network.hybridize()
        return network

    # -- environment
    def seed(self, seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed)  # mini-batch shuffling
        mx.random.seed(seed)  # initialisation and dropout

    def release(self) -> None:
        nd.waitall()
        super().release()

    def device(self) -> str:
        return "gpu:0" if self._ctx.device_type == "gpu" else "cpu"

    def _array(self, values: np.ndarray) -> Any:
        return nd.array(np.asarray(values, dtype=np.float32), ctx=self._ctx, dtype="float32")


def _context() -> Any:
    """``mx.gpu(0)`` when MXNet sees a GPU, else the CPU (also when the GPU query fails).

    ``AUTOML_MXNET_CPU=1`` (set by automl.devices for GPUs MXNet 1.9.1 has no kernels for) keeps it on the CPU.
    """
    if os.environ.get("AUTOML_MXNET_CPU") == "1":
        return mx.cpu()
    try:
        has_gpu = mx.context.num_gpus() > 0
    except Exception:  # noqa: BLE001 - a CPU-only build or a broken driver: train on the CPU
        has_gpu = False
    return mx.gpu(0) if has_gpu else mx.cpu()
