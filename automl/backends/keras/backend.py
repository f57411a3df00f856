"""Keras 3 compiler of ``ModelSpec``, on TensorFlow or JAX (``automl.backends.keras.engine``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from automl.backends.base import BaseBackend, EpochCallback, FitResult, class_weights
from automl.backends.keras.engine import INSTALL, use_chosen_engine
from automl.errors import BackendUnavailableError, TrialFailed
from automl.logs import quiet_frameworks
from automl.model.spec import BATCH_NORM_MOMENTUM, LEAKY_RELU_SLOPE, TEXT_LAYER_KINDS, Layer, ModelSpec, OptimizerSpec

quiet_frameworks()  # before TensorFlow's first import: its start-up lines never reach the user
ENGINE = use_chosen_engine()  # whatever KERAS_BACKEND or keras.json say

try:
    import keras
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise BackendUnavailableError(
        f"the Keras backend needs Keras 3 on {ENGINE} ({exc}); install it with: {INSTALL[ENGINE]}"
    ) from exc

from automl.backends.keras.augment import RandomAffine  # noqa: E402 - after the clear error for a missing Keras
from automl.backends.keras.losses import keras_loss  # noqa: E402
from automl.backends.keras.text import adapt_to, text_layer  # noqa: E402

# A small model's training step takes a few milliseconds, not much more than Keras takes to call it,
# and Keras's validation pass (``validation_data``) builds a data pipeline and its iterator every
# epoch: several steps per call, and validation by the compiled test step on the arrays themselves
# (``EpochValidation``, batches of VALIDATION_BATCH_SIZE) give the same updates and the same
# validation figures in less time (benchmarks/fold_cost.py).
STEPS_PER_EXECUTION = 16
VALIDATION_BATCH_SIZE = 1024


class EpochValidation(keras.callbacks.Callback):
    """Adds ``val_loss`` and ``val_<metric>`` of the compiled loss and metrics to each epoch's logs,
    as ``fit(validation_data=...)`` does, without Keras's per-epoch data pipeline: the compiled test
    step runs on the validation arrays in batches of ``VALIDATION_BATCH_SIZE``, averaged by rows.
    Put it before any callback that reads those logs (early stopping, the epoch hook)."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        super().__init__()
        self.X, self.y = X, y

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        totals: dict[str, float] = {}
        for start in range(0, len(self.X), VALIDATION_BATCH_SIZE):
            X, y = self.X[start : start + VALIDATION_BATCH_SIZE], self.y[start : start + VALIDATION_BATCH_SIZE]
            for name, value in self.model.test_on_batch(X, y, return_dict=True).items():
                totals[name] = totals.get(name, 0.0) + float(value) * len(X)
        if logs is not None:
            logs.update({f"val_{name}": total / len(self.X) for name, total in totals.items()})


class _EpochHook(keras.callbacks.Callback):
    """Forwards each epoch's logs to an ``EpochCallback`` and stops on NaN or on request."""

    def __init__(self, on_epoch: EpochCallback | None) -> None:
        super().__init__()
        self.on_epoch, self.stopped, self.diverged = on_epoch, False, False

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if not math.isfinite(logs.get("loss", 0.0)):
            self.diverged = self.model.stop_training = True
        elif self.on_epoch is not None and self.on_epoch(epoch, logs):
            self.stopped = self.model.stop_training = True


def _activation(name: str) -> Any:
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE)
    return keras.layers.Activation(name)


def _residual_block(p: dict[str, Any], regularizer: Any) -> Callable[[Any], Any]:
    """Two 'same' convolutions (the first strided) with optional batch norm, added to the input
    (through a 1x1 strided projection when the width or the stride changes), then the activation.
    """
    filters, kernel_size, stride = int(p["filters"]), int(p["kernel_size"]), int(p.get("stride", 1))

    def conv(size: int, strides: int) -> Any:
        return keras.layers.Conv2D(filters, size, strides=strides, padding="same", kernel_regularizer=regularizer)

    def norm(x: Any) -> Any:
        return keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(x) if p.get("batch_norm") else x

    def apply(inputs: Any) -> Any:
        x = _activation(p["activation"])(norm(conv(kernel_size, stride)(inputs)))
        x = norm(conv(kernel_size, 1)(x))
        shortcut = inputs
        if stride != 1 or inputs.shape[-1] != filters:
            shortcut = norm(conv(1, stride)(inputs))
        return _activation(p["activation"])(keras.layers.Add()([x, shortcut]))

    return apply


class KerasBackend(BaseBackend):
    """Builds functional Keras models; trains with ``fit`` and early stopping on val_loss."""

    name = "keras"
    engine = ENGINE

    def build(self, spec: ModelSpec) -> Any:
        regularizer = keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2) if spec.l1 > 0 or spec.l2 > 0 else None
        inputs = keras.Input(shape=spec.input_shape)
        x = inputs
        for layer in spec.layers:
            x = self._layer(layer, regularizer)(x)
        if spec.problem_type == "classification":
            outputs = keras.layers.Dense(spec.n_outputs, activation="softmax", kernel_regularizer=regularizer)(x)
            metrics = ["accuracy"]
        else:
            outputs = keras.layers.Dense(1, kernel_regularizer=regularizer)(x)
            metrics = ["mae"]
        model = keras.Model(inputs, outputs)
        loss = keras_loss(spec.training_loss, spec.problem_type)
        model.compile(
            optimizer=self._optimizer(spec.optimizer),
            loss=loss,
            metrics=metrics,
            steps_per_execution=STEPS_PER_EXECUTION,
        )
        return model

    @staticmethod
    def _layer(layer: Layer, regularizer: Any) -> Any:
        p = layer.params
        if layer.kind == "dense":
            return keras.layers.Dense(p["units"], kernel_regularizer=regularizer)
        if layer.kind == "conv2d":
            return keras.layers.Conv2D(p["filters"], p["kernel_size"], padding="same", kernel_regularizer=regularizer)
        if layer.kind == "pool2d":
            pool = keras.layers.MaxPooling2D if p["mode"] == "max" else keras.layers.AveragePooling2D
            return pool(pool_size=p["size"])
        if layer.kind == "global_pool2d":
            return keras.layers.GlobalMaxPooling2D() if p["mode"] == "max" else keras.layers.GlobalAveragePooling2D()
        if layer.kind == "flatten":
            return keras.layers.Flatten()
        if layer.kind == "dropout":
            return keras.layers.Dropout(p["rate"])
        if layer.kind == "batch_norm":
            return keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)
        if layer.kind == "activation":
            return _activation(p["name"])
        if layer.kind == "residual_block":
            return _residual_block(p, regularizer)
        if layer.kind == "augment":
            return RandomAffine(p.get("flip", "none"), p.get("shift", 0.0), p.get("rotation", 0.0))
        if layer.kind in TEXT_LAYER_KINDS:
            return text_layer(layer, regularizer)
        raise ValueError(f"the Keras backend cannot build layer kind {layer.kind!r}")

    @staticmethod
    def _optimizer(spec: OptimizerSpec) -> Any:
        lr, name = spec.learning_rate, spec.name
        if name == "sgd":
            return keras.optimizers.SGD(lr, momentum=spec.get("momentum"), nesterov=bool(spec.get("nesterov")))
        if name == "adagrad":
            return keras.optimizers.Adagrad(lr, initial_accumulator_value=spec.get("initial_accumulator_value"))
        if name == "rmsprop":
            return keras.optimizers.RMSprop(lr, rho=spec.get("rho"), momentum=spec.get("momentum"))
        betas = {"beta_1": spec.get("beta_1"), "beta_2": spec.get("beta_2")}
        if name == "adam":
            return keras.optimizers.Adam(lr, **betas)
        if name == "adamw":
            return keras.optimizers.AdamW(lr, weight_decay=spec.get("weight_decay"), **betas)
        if name == "nadam":
            return keras.optimizers.Nadam(lr, **betas)
        raise ValueError(f"the Keras backend has no optimizer {name!r}")

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
        hook = _EpochHook(on_epoch)
        callbacks: list[Any] = [hook] if validation is None else [EpochValidation(*validation), hook]
        early = None
        if validation is not None and spec.early_stopping_patience:
            early = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=spec.early_stopping_patience, restore_best_weights=True
            )
            callbacks.append(early)
        adapt_to(model, X)
        history = model.fit(
            X,
            y,
            batch_size=spec.batch_size,
            epochs=epochs or spec.epochs,
            class_weight=class_weights(spec, y),
            callbacks=callbacks,
            verbose=0,
        ).history
        if hook.diverged:
            raise TrialFailed("the training loss became NaN or infinite (diverged); try a lower learning rate")
        history = {k: [float(v) for v in values] for k, values in history.items()}
        n_epochs = len(history.get("loss", []))
        best = n_epochs
        if early is not None and early.best_epoch is not None and "val_loss" in history:
            best = int(np.argmin(history["val_loss"])) + 1
        return FitResult(history=history, best_epoch=best, stopped_by_callback=hook.stopped)

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        out = model.predict(X, batch_size=1024, verbose=0)
        return out if out.shape[-1] > 1 else out.reshape(-1)

    def predict_one(self, model: Any, X: np.ndarray) -> np.ndarray:
        """Calls the model directly: ``model.predict`` builds a data pipeline per call, which costs
        more than the model itself on a batch of one."""
        out = keras.ops.convert_to_numpy(model(X, training=False))
        return out if out.shape[-1] > 1 else out.reshape(-1)

    def count_params(self, model: Any) -> int:
        return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))

    def save(self, model: Any, spec: ModelSpec, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        model.save(directory / "model.keras")

    def load(self, directory: Path, spec: ModelSpec) -> Any:
        return keras.models.load_model(directory / "model.keras")

    def snapshot(self, model: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # its slots exist before the first step
        return model.get_weights(), [v.numpy() for v in model.optimizer.variables]

    def restore(self, model: Any, state: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
        weights, optimizer_values = state
        model.set_weights(weights)
        for variable, value in zip(model.optimizer.variables, optimizer_values, strict=True):
            variable.assign(value)

    def seed(self, seed: int) -> None:
        keras.utils.set_random_seed(seed)

    def release(self) -> None:
        keras.backend.clear_session(free_memory=False)  # the base's release collects, once
        super().release()

    def device(self) -> str:
        if ENGINE == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
        else:
            import tensorflow as tf

            gpus = tf.config.list_logical_devices("GPU")
        return "gpu:0" if gpus else "cpu"
