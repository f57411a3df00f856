"""Keras trains several steps per call and validates by its compiled test step: the same training as by default."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from automl.backends.keras import backend as keras_backend
from automl.backends.keras.backend import KerasBackend
from automl.model.spec import Layer, ModelSpec, OptimizerSpec

SPEC = ModelSpec(
    (8, 8, 1),
    10,
    "classification",
    (
        Layer("conv2d", {"filters": 4, "kernel_size": 3}),
        Layer("activation", {"name": "relu"}),
        Layer("dropout", {"rate": 0.2}),
        Layer("flatten"),
    ),
    OptimizerSpec("adam", 1e-2),
    batch_size=32,
    epochs=3,
    early_stopping_patience=2,
)


def _train(digits: tuple[np.ndarray, np.ndarray]) -> tuple[int, dict[str, list[float]], int, list[np.ndarray]]:
    """The steps per call, history, best epoch and weights of SPEC trained as the backend trains now."""
    X, y = digits
    backend = KerasBackend()
    backend.seed(7)
    model = backend.build(SPEC)
    backend.seed(8)
    # 600 rows in batches of 32: 19 steps an epoch, one call of 16 steps and one of 3
    fit = backend.fit(model, SPEC, X[:600], y[:600], validation=(X[600:800], y[600:800]))
    trained = (int(model.steps_per_execution), fit.history, fit.best_epoch, model.get_weights())
    backend.release()
    return trained


def _train_as_keras_by_default(
    digits: tuple[np.ndarray, np.ndarray],
) -> tuple[int, dict[str, list[float]], int, list[np.ndarray]]:
    """The same, as a hand-written script trains with Keras's defaults: one step per call and
    ``fit(validation_data=...)``, which validates in batches of the training batch size."""
    X, y = digits
    backend = KerasBackend()
    backend.seed(7)
    model = backend.build(SPEC)
    backend.seed(8)
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(
        X[:600],
        y[:600],
        batch_size=SPEC.batch_size,
        epochs=SPEC.epochs,
        validation_data=(X[600:800], y[600:800]),
        callbacks=[early],
        verbose=0,
    ).history
    history = {name: [float(v) for v in values] for name, values in history.items()}
    trained = (int(model.steps_per_execution), history, int(np.argmin(history["val_loss"])) + 1, model.get_weights())
    backend.release()
    return trained


@pytest.mark.parametrize("validation_batch", [1024, 64])  # 200 validation rows: one batch, or four averaged
def test_several_steps_per_call_and_validation_by_the_test_step_train_as_keras_defaults(
    digits: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch, validation_batch: int
) -> None:
    monkeypatch.setattr(keras_backend, "VALIDATION_BATCH_SIZE", validation_batch)
    asked = keras_backend.STEPS_PER_EXECUTION
    steps, history, best_epoch, weights = _train(digits)
    monkeypatch.setattr(keras_backend, "STEPS_PER_EXECUTION", 1)
    default_steps, default_history, default_best_epoch, default_weights = _train_as_keras_by_default(digits)
    assert (steps, default_steps) == (asked, 1) and asked > 1
    assert sorted(history) == sorted(default_history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history["loss"]) == 3
    for name in history:
        np.testing.assert_allclose(history[name], default_history[name], rtol=1e-5, err_msg=name)
    assert best_epoch == default_best_epoch
    for ours, keras_default in zip(weights, default_weights, strict=True):
        np.testing.assert_allclose(ours, keras_default, rtol=1e-5, atol=1e-6)
