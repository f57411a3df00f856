"""One contract for every backend (Keras, MXNet), and Keras <-> MXNet parity checks.

The contract tests run unchanged on each backend: build, fit, predict, early stopping, the
``on_epoch`` hook, divergence, save/load, regression, determinism, ``FittedModel`` and the
MLflow pyfunc flavour. The parity tests enumerate what the shipped ``image`` space can sample
and check that both backends build the same model (same trainable parameter count, and the same
outputs once they share weights) and take the same optimizer steps.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import mlflow
import numpy as np
import optuna
import pytest

from automl.backends import BACKENDS, BaseBackend, get_backend
from automl.backends.keras.engine import chosen_engine
from automl.backends.mxnet._import import import_mxnet
from automl.errors import TrialFailed
from automl.model.architectures import build_spec
from automl.model.spec import Layer, ModelSpec, OptimizerSpec
from automl.refit.fitted import FittedModel
from automl.refit.pyfunc import log_pyfunc_model
from automl.space import load_space
from automl.space.nodes import Branch, Repeat
from automl.tracking.tracker import scoped_tracking_uri

optuna.logging.set_verbosity(optuna.logging.WARNING)

IMAGE_SHAPE = (8, 8, 1)
Digits = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- data and specs
def mlp_spec(**changes: Any) -> ModelSpec:
    """A small MLP on the digit images (flatten, dense 32, relu)."""
    layers = (Layer("flatten"), Layer("dense", {"units": 32}), Layer("activation", {"name": "relu"}))
    spec = ModelSpec(IMAGE_SHAPE, 10, "classification", layers, OptimizerSpec("adam", 1e-2), batch_size=32, epochs=2)
    return spec.with_training(**changes) if changes else spec


def cnn_spec(**changes: Any) -> ModelSpec:
    """A small CNN (conv, batch norm, relu, pool, dropout, flatten)."""
    layers = (
        Layer("conv2d", {"filters": 8, "kernel_size": 3}),
        Layer("batch_norm"),
        Layer("activation", {"name": "relu"}),
        Layer("pool2d", {"mode": "max", "size": 2}),
        Layer("dropout", {"rate": 0.1}),
        Layer("flatten"),
    )
    spec = ModelSpec(IMAGE_SHAPE, 10, "classification", layers, OptimizerSpec("adam", 1e-2), batch_size=32, epochs=2)
    return spec.with_training(**changes) if changes else spec


SPECS = {"mlp": mlp_spec, "cnn": cnn_spec}
# flatten 64 -> dense 32 -> head 10; conv 3x3x1x8 + batch norm (gamma, beta) -> 4x4x8 -> head 10
EXPECTED_PARAMS = {"mlp": 64 * 32 + 32 + 32 * 10 + 10, "cnn": 9 * 8 + 8 + 2 * 8 + 128 * 10 + 10}


def _cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(probabilities[np.arange(len(labels)), labels])))


# --------------------------------------------------------------------------- contract
def test_keras_runs_on_the_chosen_engine() -> None:
    """TensorFlow by default; JAX when this suite runs with AUTOML_KERAS_BACKEND=jax (test_keras_on_jax.py)."""
    engine = get_backend("keras").engine  # before keras is imported here: automl chooses its engine
    import keras

    assert engine == chosen_engine() == keras.backend.backend()


@pytest.mark.parametrize("family", SPECS)
def test_build_fit_predict(backend: BaseBackend, digits: Digits, family: str) -> None:
    X, y = digits
    spec = SPECS[family]()
    model = backend.build(spec)
    assert backend.count_params(model) == EXPECTED_PARAMS[family]

    fit = backend.fit(model, spec, X[:120], y[:120], validation=(X[120:180], y[120:180]))

    assert set(fit.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 and all(map(math.isfinite, values)) for values in fit.history.values())
    assert (fit.n_epochs, fit.best_epoch, fit.stopped_by_callback) == (2, 2, False)
    probabilities = backend.predict(model, X[120:180])
    assert probabilities.shape == (60, 10)
    assert probabilities.min() >= 0
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_fit_without_validation_logs_training_metrics_only(backend: BaseBackend, digits: Digits) -> None:
    X, y = digits
    spec = mlp_spec(epochs=1, early_stopping_patience=2)
    fit = backend.fit(backend.build(spec), spec, X[:120], y[:120])
    assert set(fit.history) == {"loss", "accuracy"}
    assert (fit.n_epochs, fit.best_epoch) == (1, 1)


def test_learns_a_trivial_problem(backend: BaseBackend, digits: Digits) -> None:
    X, y = digits
    keep = y < 2  # zeros against ones
    X, y = X[keep], y[keep]
    spec = ModelSpec(IMAGE_SHAPE, 2, "classification", mlp_spec().layers, OptimizerSpec("adam", 1e-2), epochs=5)
    model = backend.build(spec)
    fit = backend.fit(model, spec, X[:200], y[:200], validation=(X[200:], y[200:]))
    assert fit.history["val_accuracy"][-1] >= 0.95
    assert fit.history["loss"][-1] < fit.history["loss"][0]
    assert (backend.predict(model, X[200:]).argmax(axis=1) == y[200:]).mean() >= 0.95


def test_early_stopping_restores_the_best_weights(backend: BaseBackend, digits: Digits) -> None:
    X, y = digits
    X_train, y_train = X[:300], y[:300]
    y_valid = (y_train + 1) % 10  # validation labels the model is taught to get wrong: val_loss only rises
    spec = mlp_spec(epochs=15, early_stopping_patience=2)
    model = backend.build(spec)

    fit = backend.fit(model, spec, X_train, y_train, validation=(X_train, y_valid))

    val_loss = fit.history["val_loss"]
    assert fit.best_epoch == int(np.argmin(val_loss)) + 1
    assert fit.n_epochs == fit.best_epoch + 2 < 15  # stopped after `patience` epochs without improvement
    restored = _cross_entropy(backend.predict(model, X_train), y_valid)
    assert restored == pytest.approx(val_loss[fit.best_epoch - 1], rel=1e-4)
    assert restored < val_loss[-1]


def test_on_epoch_returning_true_stops_training(backend: BaseBackend, digits: Digits) -> None:
    X, y = digits
    seen: list[tuple[int, list[str]]] = []

    def on_epoch(epoch: int, logs: dict[str, float]) -> bool:
        seen.append((epoch, sorted(logs)))
        return epoch == 1

    spec = mlp_spec(epochs=10)
    fit = backend.fit(
        backend.build(spec), spec, X[:120], y[:120], validation=(X[120:180], y[120:180]), on_epoch=on_epoch
    )

    assert fit.stopped_by_callback
    assert fit.n_epochs == 2
    keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert seen == [(0, keys), (1, keys)]


def test_diverging_training_fails_the_trial(backend: BaseBackend, digits: Digits) -> None:
    X, y = digits
    # a two-layer linear network: with this step size its weights overflow within a few steps
    # (a relu network would merely die and keep a huge but finite loss; on Keras-JAX a step of 1e10
    # still kept the weights finite, its loss held at the clipped cross-entropy)
    layers = (Layer("flatten"), Layer("dense", {"units": 32}))
    spec = ModelSpec(IMAGE_SHAPE, 10, "classification", layers, OptimizerSpec("sgd", 1e20), epochs=2)
    with pytest.raises(TrialFailed, match="NaN or infinite"):
        backend.fit(backend.build(spec), spec, X[:120], y[:120], validation=(X[120:180], y[120:180]))


@pytest.mark.parametrize("family", SPECS)
def test_save_load_round_trip(backend: BaseBackend, digits: Digits, family: str, tmp_path) -> None:
    X, y = digits
    spec = SPECS[family](epochs=1)
    model = backend.build(spec)
    backend.fit(model, spec, X[:120], y[:120])

    backend.save(model, spec, tmp_path / "native")
    loaded = backend.load(tmp_path / "native", spec)

    np.testing.assert_allclose(backend.predict(loaded, X[120:180]), backend.predict(model, X[120:180]), atol=1e-6)
    assert backend.count_params(loaded) == backend.count_params(model)


@pytest.mark.parametrize("problem_type", ["classification", "regression"])
def test_predict_one_matches_predict(backend: BaseBackend, digits: Digits, problem_type: str) -> None:
    """The batch-of-one path timed as ``latency_ms`` gives what ``predict`` gives."""
    X, _ = digits
    n_outputs = 10 if problem_type == "classification" else 1
    spec = ModelSpec(IMAGE_SHAPE, n_outputs, problem_type, mlp_spec().layers, OptimizerSpec("adam", 1e-2))  # type: ignore[arg-type]
    model = backend.build(spec)
    one = backend.predict_one(model, X[:1])
    assert one.shape == backend.predict(model, X[:1]).shape
    np.testing.assert_allclose(one, backend.predict(model, X[:1]), atol=1e-6)


def test_regression_head(backend: BaseBackend, digits: Digits) -> None:
    X, y = digits
    target = (y / 9.0).astype(np.float32)
    spec = ModelSpec(IMAGE_SHAPE, 1, "regression", mlp_spec().layers, OptimizerSpec("adam", 1e-2), epochs=3)
    model = backend.build(spec)

    fit = backend.fit(model, spec, X[:300], target[:300], validation=(X[300:400], target[300:400]))

    assert set(fit.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert fit.history["loss"][-1] < fit.history["loss"][0]
    values = backend.predict(model, X[300:400])
    assert values.shape == (100,)
    assert np.mean(np.abs(values - target[300:400])) == pytest.approx(fit.history["val_mae"][-1], rel=1e-4)


def test_seeded_training_is_deterministic(backend: BaseBackend, digits: Digits) -> None:
    X, y = digits
    spec = cnn_spec()  # dropout and shuffling draw random numbers too

    def run() -> tuple[dict[str, list[float]], np.ndarray]:
        backend.seed(7)
        model = backend.build(spec)
        fit = backend.fit(model, spec, X[:120], y[:120], validation=(X[120:180], y[120:180]))
        return fit.history, backend.predict(model, X[120:180])

    (first_history, first_output), (second_history, second_output) = run(), run()
    assert first_history == second_history
    np.testing.assert_array_equal(first_output, second_output)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_fitted_model_saves_loads_and_predicts(backend_name: str, digits: Digits, tmp_path) -> None:
    fitted = _fitted_model(backend_name, digits)
    X = digits[0][120:180]

    loaded = FittedModel.load(fitted.save(tmp_path / "model"))

    assert loaded.backend == backend_name
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X), atol=1e-6)
    assert set(fitted.predict(X)) <= set(fitted.classes)
    np.testing.assert_array_equal(loaded.predict(X.reshape(len(X), -1)), fitted.predict(X))  # flat rows work too


@pytest.fixture
def mlflow_run(tmp_path) -> tuple[str, str]:
    """A run of a throw-away sqlite tracking store whose artifacts live under ``tmp_path``: (tracking URI, run id)."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("contract", artifact_location=(tmp_path / "artifacts").as_uri())
    return uri, client.create_run(experiment).info.run_id


@pytest.mark.filterwarnings("ignore:.*input example was not provided:UserWarning")
@pytest.mark.parametrize("backend_name", BACKENDS)
def test_serves_through_mlflow_pyfunc(backend_name: str, digits: Digits, mlflow_run: tuple[str, str]) -> None:
    fitted = _fitted_model(backend_name, digits)
    X = digits[0][120:180]
    tracking_uri, run_id = mlflow_run
    uri = log_pyfunc_model(fitted, X[:5], tracking_uri=tracking_uri, run_id=run_id)
    assert mlflow.active_run() is None  # logged by run id: no global active run

    with scoped_tracking_uri(tracking_uri):
        served = mlflow.pyfunc.load_model(uri).predict(X.reshape(len(X), -1))  # the signature takes flat rows

    np.testing.assert_array_equal(np.asarray(served), fitted.predict(X))


def _fitted_model(backend_name: str, digits: Digits) -> FittedModel:
    """A one-epoch CNN whose classes are strings (so labels, not indices, must come back)."""
    X, y = digits
    backend = get_backend(backend_name)
    backend.seed(0)
    spec = cnn_spec(epochs=1)
    model = backend.build(spec)
    backend.fit(model, spec, X[:120], y[:120])
    return FittedModel(backend_name, spec, model, [f"digit-{k}" for k in range(10)])


# --------------------------------------------------------------------------- parity: the shipped space
SPACE = load_space("image")


def _choices(path: str) -> list[Any]:
    """The choices of the categorical at ``path`` in the image space (branch names included)."""
    node: Any = SPACE.root
    for key in path.split("."):
        node = node.group if isinstance(node, Repeat) else node
        node = node.branches[key] if isinstance(node, Branch) else node.children[key]
    return list(node.branches) if isinstance(node, Branch) else list(node.choices)


FAMILIES = _choices("architecture.family")
ACTIVATIONS = _choices("activation")
OPTIMIZERS = _choices("optimizer.name")
POOLINGS = _choices("architecture.family.cnn.pooling")
KERNEL_SIZES = _choices("architecture.family.cnn.block.kernel_size")
BATCH_NORM = _choices("regularization.batch_norm")
HEADS = _choices("architecture.family.cnn.head")


def test_the_enumeration_covers_the_image_space() -> None:
    assert set(FAMILIES) == {"mlp", "cnn", "resnet"}  # resnet parity: tests/backends/test_image_tabular_layers.py
    assert set(HEADS) == {"flatten", "global_avg"}  # global_max: the resnet head
    assert len(ACTIVATIONS) == 7 and set(POOLINGS) == {"max", "avg"} and set(BATCH_NORM) == {True, False}
    assert set(OPTIMIZERS) == {"sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw", "nadam"}


def sampled_spec(params: dict[str, Any], head: str = "flatten", seed: int = 0) -> ModelSpec:
    """A spec the image space samples, with ``params`` pinned (a real Optuna trial draws the rest)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.enqueue_trial(params)
    config = SPACE.sample(study.ask())
    config["architecture"]["head"] = head
    return build_spec(config, input_shape=IMAGE_SHAPE, n_outputs=10, problem_type="classification")


def _cnn_params(pooling: str, kernel_size: int, batch_norm: bool, activation: str) -> dict[str, Any]:
    return {
        "architecture.family": "cnn",
        "architecture.cnn.n_blocks": 2,
        "architecture.cnn.block.0.kernel_size": kernel_size,
        "architecture.cnn.block.1.kernel_size": kernel_size,
        "architecture.cnn.pooling": pooling,
        "activation": activation,
        "regularization.batch_norm": batch_norm,
    }


def _architecture_cases() -> list[Any]:
    cases = []
    for i, activation in enumerate(ACTIVATIONS):  # every activation in both families, batch norm alternating
        batch_norm = BATCH_NORM[i % len(BATCH_NORM)]
        mlp = {"architecture.family": "mlp", "activation": activation, "regularization.batch_norm": batch_norm}
        cases.append(pytest.param(mlp, "flatten", id=f"mlp-{activation}-bn{batch_norm}"))
        cnn = _cnn_params(POOLINGS[i % len(POOLINGS)], KERNEL_SIZES[i % len(KERNEL_SIZES)], not batch_norm, activation)
        cases.append(pytest.param(cnn, "flatten", id=f"cnn-{activation}-bn{not batch_norm}"))
    for pooling in POOLINGS:  # every pooling x kernel size x head of the cnn family
        for kernel_size in KERNEL_SIZES:
            for head in HEADS:
                params = _cnn_params(pooling, kernel_size, head != "flatten", "relu")
                cases.append(pytest.param(params, head, id=f"cnn-{pooling}-k{kernel_size}-{head}"))
    return cases


@pytest.mark.parametrize(("params", "head"), _architecture_cases())
def test_parity_same_architecture(params: dict[str, Any], head: str, digits: Digits) -> None:
    """Same trainable parameter count, and the same outputs once the MXNet model has Keras' weights."""
    spec = sampled_spec(params, head)
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_backend.seed(0)
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)

    assert mxnet_backend.count_params(mxnet_model) == keras_backend.count_params(keras_model)

    _randomize_keras_weights(keras_model)
    _copy_keras_weights(keras_model, mxnet_model)
    X = digits[0][:64]
    np.testing.assert_allclose(mxnet_backend.predict(mxnet_model, X), keras_backend.predict(keras_model, X), atol=2e-5)


@pytest.mark.parametrize("kernel_size", [2, 4])
def test_parity_even_kernels_pad_like_keras(kernel_size: int, digits: Digits) -> None:
    """'same' padding with an even kernel: TensorFlow pads one more row/column after than before."""
    layers = (Layer("conv2d", {"filters": 4, "kernel_size": kernel_size}), Layer("flatten"))
    spec = ModelSpec(IMAGE_SHAPE, 10, "classification", layers, OptimizerSpec("adam", 1e-3))
    keras_model, mxnet_model = get_backend("keras").build(spec), get_backend("mxnet").build(spec)
    _randomize_keras_weights(keras_model)
    _copy_keras_weights(keras_model, mxnet_model)
    X = digits[0][:32]
    np.testing.assert_allclose(
        get_backend("mxnet").predict(mxnet_model, X), get_backend("keras").predict(keras_model, X), atol=2e-5
    )


NO_AUGMENTATION = {
    "regularization.augmentation.flip": "none",
    "regularization.augmentation.shift": 0.0,
    "regularization.augmentation.rotation": 0.0,
}


def _optimizer_cases() -> list[Any]:
    cases = []
    for name in OPTIMIZERS:
        if name == "momentum":
            for nesterov in (False, True):
                pinned = {"optimizer.name": name, "optimizer.momentum.nesterov": nesterov}
                cases.append(pytest.param(pinned, None, id=f"momentum-nesterov{nesterov}"))
        else:
            cases.append(pytest.param({"optimizer.name": name}, None, id=name))
    # parameters the spec allows though image.yaml does not search them, and a weight decay strong
    # enough that the comparison would notice it missing (or applied as L2)
    cases.append(pytest.param({"optimizer.name": "rmsprop"}, {"momentum": 0.5}, id="rmsprop-momentum"))
    cases.append(pytest.param({"optimizer.name": "adagrad"}, {"initial_accumulator_value": 0.01}, id="adagrad-acc"))
    cases.append(pytest.param({"optimizer.name": "adamw"}, {"weight_decay": 0.5}, id="adamw-strong-decay"))
    return cases


@pytest.mark.parametrize(("pinned", "extra"), _optimizer_cases())
def test_parity_optimizer_steps(pinned: dict[str, Any], extra: dict[str, Any] | None, digits: Digits) -> None:
    """Two full-batch steps from the same weights give the same loss and weights on both backends.

    The model (conv, batch norm, dense, l2) exercises kernels, biases, batch-norm scales and
    running statistics, and the l2 penalty; optimizer hyper-parameters are drawn from the space.
    """
    params = {
        **_cnn_params("max", 3, True, "relu"),
        "architecture.cnn.n_blocks": 1,
        "architecture.cnn.block.0.filters": 16,
        "architecture.cnn.dense_units": 32,
        "regularization.dropout": 0.0,
        "regularization.l2": 1e-3,
        **NO_AUGMENTATION,  # random image changes would differ between the frameworks' generators
        **pinned,
    }
    spec = sampled_spec(params)
    if extra:
        optimizer = asdict(spec.optimizer)
        spec = spec.with_training(optimizer={**optimizer, "params": {**optimizer["params"], **extra}})
    X, y = digits[0][:64], digits[1][:64]
    spec = spec.with_training(batch_size=len(X), epochs=2)
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_backend.seed(0)
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)
    _copy_keras_weights(keras_model, mxnet_model)

    keras_fit = keras_backend.fit(keras_model, spec, X, y)
    mxnet_fit = mxnet_backend.fit(mxnet_model, spec, X, y)

    np.testing.assert_allclose(mxnet_fit.history["loss"], keras_fit.history["loss"], rtol=1e-4)
    noisy = _noise_driven_weights(keras_model)
    # an adaptive step is ~lr whatever the gradient's size, so these may move by up to a few lr
    loose = 4 * spec.optimizer.learning_rate * spec.epochs
    weights = zip(keras_model.weights, keras_model.get_weights(), _mxnet_weights(mxnet_model), strict=True)
    for variable, keras_weight, mxnet_weight in weights:
        atol = loose if variable.path in noisy else 1e-5
        np.testing.assert_allclose(mxnet_weight, keras_weight, rtol=1e-3, atol=atol, err_msg=variable.path)


def test_parity_regression_training(digits: Digits) -> None:
    """The regression head, its mean squared error (l2 included) and MAE agree across backends."""
    X, target = digits[0][:64], (digits[1][:64] / 9.0).astype(np.float32)
    layers = (Layer("flatten"), Layer("dense", {"units": 16}), Layer("activation", {"name": "tanh"}))
    spec = ModelSpec(IMAGE_SHAPE, 1, "regression", layers, OptimizerSpec("sgd", 0.05, {"momentum": 0.9}), l2=1e-3)
    spec = spec.with_training(batch_size=len(X), epochs=3)
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)
    _copy_keras_weights(keras_model, mxnet_model)

    keras_fit = keras_backend.fit(keras_model, spec, X, target, validation=(X, target))
    mxnet_fit = mxnet_backend.fit(mxnet_model, spec, X, target, validation=(X, target))

    for key in ("loss", "mae", "val_loss", "val_mae"):
        np.testing.assert_allclose(mxnet_fit.history[key], keras_fit.history[key], rtol=1e-4, err_msg=key)
    np.testing.assert_allclose(mxnet_backend.predict(mxnet_model, X), keras_backend.predict(keras_model, X), atol=1e-5)


def _noise_driven_weights(keras_model: Any) -> set[str]:
    """A bias right before batch normalization has an exactly-zero gradient (the normalization
    subtracts it again), so its computed gradient is float rounding noise that differs between
    frameworks; adaptive optimizers (Adam, Nadam, RMSprop) turn that noise into ~lr-sized steps.
    Those biases, and the running mean they feed, are compared loosely.
    """
    import keras

    layers = [layer for layer in keras_model.layers if not isinstance(layer, keras.layers.InputLayer)]
    noisy = set()
    for layer, following in zip(layers, layers[1:], strict=False):
        if isinstance(following, keras.layers.BatchNormalization) and getattr(layer, "bias", None) is not None:
            noisy |= {layer.bias.path, following.moving_mean.path}
    return noisy


# --------------------------------------------------------------------------- weight transfer (Keras layout <-> Gluon)
def _to_gluon(weight: np.ndarray) -> np.ndarray:
    """Dense (in, out) -> (out, in); conv (h, w, in, out) -> (out, in, h, w); vectors unchanged."""
    if weight.ndim == 2:
        return weight.T
    if weight.ndim == 4:
        return weight.transpose(3, 2, 0, 1)
    return weight


def _to_keras(weight: np.ndarray) -> np.ndarray:
    if weight.ndim == 2:
        return weight.T
    if weight.ndim == 4:
        return weight.transpose(2, 3, 1, 0)
    return weight


def _copy_keras_weights(keras_model: Any, network: Any) -> None:
    """Keras and Gluon list weights in the same order (layer by layer; gamma, beta, mean, variance)."""
    mx = import_mxnet()
    params = list(network.collect_params().values())
    weights = keras_model.get_weights()
    assert len(params) == len(weights)
    for param, weight in zip(params, weights, strict=True):
        param.set_data(mx.nd.array(_to_gluon(weight)))


def _mxnet_weights(network: Any) -> list[np.ndarray]:
    return [_to_keras(param.data().asnumpy()) for param in network.collect_params().values()]


def _randomize_keras_weights(keras_model: Any) -> None:
    """Non-trivial biases and batch-norm statistics, so the forward comparison tests them too."""
    rng = np.random.default_rng(0)
    for variable in keras_model.weights:
        shape, name = tuple(variable.shape), variable.path
        if name.endswith("kernel"):
            continue
        if name.endswith(("gamma", "moving_variance")):
            variable.assign(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        else:
            variable.assign(rng.normal(0.0, 0.2, shape).astype(np.float32))
