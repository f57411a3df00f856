"""The training losses (``ModelSpec.loss``): the same values on Keras and MXNet, as defined in
``automl.model.spec``, and a model trains and early-stops on each of them on both backends."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from automl.backends import BaseBackend
from automl.model.spec import LOSSES, Layer, ModelSpec, OptimizerSpec

CASES = [(problem_type, name) for problem_type, names in LOSSES.items() for name in names]
CLASS_WEIGHTS = np.array([0.5, 2.0, 1.25])


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def reference(name: str, problem_type: str, output: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each sample's loss by its definition, from probabilities (classification) or values."""
    if problem_type == "classification":
        p_true = output[np.arange(len(y)), y]
        if name == "cross_entropy":
            return -np.log(p_true)
        if name == "mse":
            return ((output - np.eye(output.shape[1])[y]) ** 2).mean(axis=1)
        return -((1 - p_true) ** 2) * np.log(p_true)  # focal, gamma 2
    error = output.reshape(-1) - y
    if name == "mse":
        return error**2
    if name == "mae":
        return np.abs(error)
    return np.where(np.abs(error) <= 1.0, 0.5 * error**2, np.abs(error) - 0.5)  # huber, delta 1


def _batch(problem_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Logits (classification) or values, and targets: errors on both sides of huber's delta."""
    rng = np.random.default_rng(0)
    if problem_type == "classification":
        return (2 * rng.normal(size=(12, 3))).astype(np.float32), np.tile([0, 1, 2], 4)
    y = rng.normal(size=12).astype(np.float32)
    return (y + np.linspace(-3, 3, 12)).astype(np.float32)[:, None], y


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "class-weights"])
@pytest.mark.parametrize(("problem_type", "name"), CASES)
def test_keras_and_mxnet_compute_the_same_loss(problem_type: str, name: str, weighted: bool) -> None:
    """Contract: ``sum(w[y] * loss) / batch`` from the same outputs is the same on both backends."""
    from automl.backends.keras.losses import keras_loss
    from automl.backends.mxnet._import import import_mxnet
    from automl.backends.mxnet.losses import sample_losses

    nd = import_mxnet().nd

    out, y = _batch(problem_type)
    weighted = weighted and problem_type == "classification"  # regression ignores class weights
    weights = CLASS_WEIGHTS[y].astype(np.float32) if weighted else np.ones(len(y), dtype=np.float32)
    output = _softmax(out.astype(np.float64)) if problem_type == "classification" else out
    expected = float(np.mean(weights * reference(name, problem_type, output, y)))

    sample_weight = weights if weighted else None
    keras_value = keras_loss(name, problem_type)(y, output.astype(np.float32), sample_weight=sample_weight)
    mxnet_weights = nd.array(weights) if weighted else None
    mxnet_losses = sample_losses(name, problem_type, nd.array(out), nd.array(y), mxnet_weights)

    assert float(keras_value) == pytest.approx(expected, abs=1e-5)
    assert float(mxnet_losses.mean().asscalar()) == pytest.approx(float(keras_value), abs=1e-5)


def _spec(problem_type: str, name: str) -> ModelSpec:
    n_outputs = 10 if problem_type == "classification" else 1
    layers = (Layer("flatten"), Layer("dense", {"units": 8}), Layer("activation", {"name": "tanh"}))
    class_weight = "balanced" if problem_type == "classification" else None
    return ModelSpec(
        (8, 8, 1),
        n_outputs,
        problem_type,  # type: ignore[arg-type]
        layers,
        OptimizerSpec("adam", 1e-2),
        class_weight=class_weight,
        batch_size=16,
        epochs=1,
        early_stopping_patience=1,
        loss=name,
    )


@pytest.mark.parametrize(("problem_type", "name"), CASES)
def test_training_on_each_loss(
    backend: BaseBackend, digits: tuple[np.ndarray, np.ndarray], problem_type: str, name: str
) -> None:
    """One epoch on 32 rows ends with a finite loss; the validation loss early stopping watches is
    the chosen loss of the model's predictions (unweighted)."""
    X, labels = digits[0][:48], digits[1][:48]
    y = labels if problem_type == "classification" else ((labels - 4.5) / 3).astype(np.float32)
    spec = _spec(problem_type, name)
    model = backend.build(spec)

    fit = backend.fit(model, spec, X[:32], y[:32], validation=(X[32:], y[32:]))

    assert len(fit.history["loss"]) == 1 and math.isfinite(fit.history["loss"][0])
    output = backend.predict(model, X[32:]).astype(np.float64)
    expected = reference(name, problem_type, output, y[32:]).mean()
    assert fit.history["val_loss"][0] == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_a_model_trained_on_a_custom_loss_saves_and_loads(
    backend: BaseBackend, digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, y = digits[0][:32], digits[1][:32]
    spec = _spec("classification", "focal")
    model = backend.build(spec)
    backend.fit(model, spec, X, y)
    backend.save(model, spec, tmp_path)
    np.testing.assert_allclose(backend.predict(backend.load(tmp_path, spec), X), backend.predict(model, X), atol=1e-6)
