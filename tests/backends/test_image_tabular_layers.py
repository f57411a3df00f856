"""Image and tabular model features on both backends: the residual CNN family, data augmentation,
L1 penalties and class weights, and the search-space keys that ask for them.

Every backend builds, trains (1 epoch), predicts, saves and loads the new layer kinds; Keras and
MXNet build the same residual networks (same parameter count, same outputs with the same weights);
augmentation changes training inputs only; the L1 penalty and class weights change the training
loss exactly as a hand computation says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from automl.backends import BaseBackend, get_backend
from automl.backends.mxnet._import import import_mxnet
from automl.errors import SearchSpaceError, TrialFailed
from automl.model.architectures import build_spec
from automl.model.spec import Layer, ModelSpec, OptimizerSpec
from automl.space import load_space, parse_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACES = Path(__file__).parent.parent / "spaces"
IMAGE_SHAPE = (8, 8, 1)
Digits = tuple[np.ndarray, np.ndarray]


def _config(architecture: dict[str, Any], **regularization: Any) -> dict[str, Any]:
    return {
        "architecture": architecture,
        "activation": "relu",
        "optimizer": {"name": "adam", "learning_rate": 1e-2},
        "regularization": {"batch_norm": True, **regularization},
        "training": {"batch_size": 32, "epochs": 1},
    }


TINY_RESNET = {
    "family": "resnet",
    "stem_filters": 4,
    "stage": [{"filters": 4, "blocks": 1}, {"filters": 8, "blocks": 1}],
    "head": "global_avg",
}
AUGMENTATION = {"flip": "both", "shift": 0.1, "rotation": 0.05}
# stem conv 3x3x1x4 + bn; block 4->4 (two 3x3x4x4 convs + 2 bn); block 4->8 stride 2 (3x3x4x8, 3x3x8x8,
# 1x1x4x8 projection, 3 bn); head 8 -> 10. Batch norm counts gamma and beta (2 per channel).
TINY_RESNET_PARAMS = (36 + 4 + 8) + 2 * (144 + 4 + 8) + (288 + 8 + 576 + 8 + 32 + 8 + 3 * 16) + (80 + 10)


def _training_outputs(backend: BaseBackend, model: Any, X: np.ndarray) -> np.ndarray:
    """The model's outputs in training mode (what ``fit`` sees: augmentation and dropout active)."""
    if backend.name == "keras":
        return np.asarray(model(X, training=True))
    mx = import_mxnet()
    with mx.autograd.record():
        return model(mx.nd.array(X)).asnumpy()


# --------------------------------------------------------------------------- resnet + augmentation
def test_resnet_with_augmentation_builds_trains_predicts_and_round_trips(
    backend: BaseBackend, digits: Digits, tmp_path: Path
) -> None:
    X, y = digits
    spec = build_spec(
        _config(TINY_RESNET, augmentation=AUGMENTATION),
        input_shape=IMAGE_SHAPE,
        n_outputs=10,
        problem_type="classification",
    )
    assert [layer.kind for layer in spec.layers][:1] == ["augment"]
    assert [layer.params["stride"] for layer in spec.layers if layer.kind == "residual_block"] == [1, 2]
    model = backend.build(spec)
    assert backend.count_params(model) == TINY_RESNET_PARAMS

    fit = backend.fit(model, spec, X[:128], y[:128], validation=(X[128:192], y[128:192]))

    assert fit.n_epochs == 1 and all(np.isfinite(v[0]) for v in fit.history.values())
    probabilities = backend.predict(model, X[128:192])
    assert probabilities.shape == (64, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(backend.predict(model, X[128:192]), probabilities)  # no augmentation here
    backend.save(model, spec, tmp_path / "native")
    loaded = backend.load(tmp_path / "native", spec)
    np.testing.assert_allclose(backend.predict(loaded, X[128:192]), probabilities, atol=1e-6)


def test_augmentation_flips_training_inputs_and_leaves_predictions_alone(backend: BaseBackend, digits: Digits) -> None:
    """With horizontal flips only, each training output is the prediction of the image or of its
    mirror image, both happen, and prediction never flips."""
    X = digits[0][:64]
    layers = (Layer("augment", {"flip": "horizontal", "shift": 0.0, "rotation": 0.0}), Layer("flatten"))
    spec = ModelSpec(IMAGE_SHAPE, 10, "classification", layers, OptimizerSpec("adam", 1e-3))
    model = backend.build(spec)

    plain, mirrored = backend.predict(model, X), backend.predict(model, X[:, :, ::-1].copy())
    trained = _training_outputs(backend, model, X)

    is_plain = np.isclose(trained, plain, atol=1e-5).all(axis=1)
    is_mirrored = np.isclose(trained, mirrored, atol=1e-5).all(axis=1)
    assert (is_plain | is_mirrored).all()
    assert 10 < is_mirrored.sum() < 54 and not np.isclose(plain, mirrored, atol=1e-5).all(axis=1).any()
    np.testing.assert_array_equal(backend.predict(model, X), plain)


def test_shifts_and_rotations_change_training_inputs_only(backend: BaseBackend, digits: Digits) -> None:
    X = digits[0][:64]
    layers = (Layer("augment", {"flip": "none", "shift": 0.2, "rotation": 0.1}), Layer("flatten"))
    spec = ModelSpec(IMAGE_SHAPE, 10, "classification", layers, OptimizerSpec("adam", 1e-3))
    model = backend.build(spec)

    predicted = backend.predict(model, X)
    first, second = _training_outputs(backend, model, X), _training_outputs(backend, model, X)

    assert (~np.isclose(first, predicted, atol=1e-4).all(axis=1)).mean() > 0.9  # nearly every image moved
    assert not np.allclose(first, second, atol=1e-4)  # a fresh draw per batch
    np.testing.assert_array_equal(backend.predict(model, X), predicted)


def _sampled_resnet(seed: int) -> dict[str, Any]:
    """A resnet configuration of the shipped image space (Optuna's random sampler draws the rest)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.enqueue_trial({"architecture.family": "resnet", "regularization.batch_norm": seed % 2 == 0})
    return load_space("image").sample(study.ask())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_parity_resnet_from_the_image_space(seed: int, digits: Digits) -> None:
    """Both backends build the same residual network: same trainable parameter count, and the same
    outputs once the MXNet network has the Keras weights (strided 'same' convolutions included)."""
    config = _sampled_resnet(seed)
    spec = build_spec(config, input_shape=IMAGE_SHAPE, n_outputs=10, problem_type="classification")
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_backend.seed(seed)
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)

    assert "residual_block" in {layer.kind for layer in spec.layers}
    assert mxnet_backend.count_params(mxnet_model) == keras_backend.count_params(keras_model)
    _randomize_statistics(keras_model)
    _copy_weights_by_layer(keras_model, mxnet_model)
    X = digits[0][:64]
    np.testing.assert_allclose(mxnet_backend.predict(mxnet_model, X), keras_backend.predict(keras_model, X), atol=2e-5)


def _randomize_statistics(keras_model: Any) -> None:
    """Non-trivial biases and batch-norm statistics, so the comparison tests them too."""
    rng = np.random.default_rng(0)
    for variable in keras_model.weights:
        if variable.path.endswith(("gamma", "moving_variance")):
            variable.assign(rng.uniform(0.5, 1.5, tuple(variable.shape)).astype(np.float32))
        elif not variable.path.endswith("kernel"):
            variable.assign(rng.normal(0.0, 0.2, tuple(variable.shape)).astype(np.float32))


def _copy_weights_by_layer(keras_model: Any, network: Any) -> None:
    """Copy weights layer by layer, matching each kind in creation order: Keras names layers
    ``conv2d``, ``conv2d_1``, ... as they are created; Gluon registers blocks as they are created."""
    import keras

    mx = import_mxnet()
    kinds = {keras.layers.Conv2D: mx.gluon.nn.Conv2D, keras.layers.BatchNormalization: mx.gluon.nn.BatchNorm}
    kinds[keras.layers.Dense] = mx.gluon.nn.Dense

    def creation_order(layer: Any) -> int:
        suffix = layer.name.rsplit("_", 1)[-1]
        return int(suffix) if suffix.isdigit() else 0

    def gluon_blocks(block: Any, kind: type) -> list[Any]:
        found = []
        for child in block._children.values():
            found += [child] if isinstance(child, kind) else gluon_blocks(child, kind)
        return found

    copied = 0
    for keras_kind, gluon_kind in kinds.items():
        keras_layers = sorted((la for la in keras_model.layers if isinstance(la, keras_kind)), key=creation_order)
        blocks = gluon_blocks(network, gluon_kind)
        assert len(keras_layers) == len(blocks)
        for layer, block in zip(keras_layers, blocks, strict=True):
            for weight, param in zip(layer.get_weights(), block.collect_params().values(), strict=True):
                if weight.ndim == 4:
                    weight = weight.transpose(3, 2, 0, 1)
                param.set_data(mx.nd.array(weight.T if weight.ndim == 2 else weight))
                copied += 1
    assert copied == len(list(network.collect_params().values()))


# --------------------------------------------------------------------------- l1 and class weights
def _imbalanced(digits: Digits) -> tuple[np.ndarray, np.ndarray]:
    """60 zeros, 24 ones and 12 twos."""
    X, y = digits
    index = np.concatenate([np.flatnonzero(y == label)[:count] for label, count in ((0, 60), (1, 24), (2, 12))])
    return X[index], y[index]


def _kernels(backend: BaseBackend, model: Any) -> list[np.ndarray]:
    """Dense kernels (the weights with 2 axes); biases are vectors."""
    if backend.name == "keras":
        weights = [np.asarray(w) for w in model.trainable_weights]
    else:
        weights = [p.data().asnumpy() for p in model.collect_params().values()]
    return [w for w in weights if w.ndim == 2]


MLP_LAYERS = (Layer("flatten"), Layer("dense", {"units": 16}), Layer("activation", {"name": "tanh"}))


def test_l1_and_class_weights_change_the_loss_as_computed_by_hand(backend: BaseBackend, digits: Digits) -> None:
    """With a zero learning rate, one full batch: loss = sum(w[y] * cross-entropy) / n + l1 * sum(|kernel|),
    with w[c] = n / (classes * n_c); accuracy stays unweighted (Keras' compiled ``metrics`` are)."""
    X, y = _imbalanced(digits)
    spec = ModelSpec(
        IMAGE_SHAPE,
        3,
        "classification",
        MLP_LAYERS,
        OptimizerSpec("sgd", 0.0),
        l1=0.01,
        class_weight="balanced",
        batch_size=len(X),
        epochs=1,
    )
    model = backend.build(spec)
    probabilities = backend.predict(model, X)

    fit = backend.fit(model, spec, X, y)

    weights = np.array([96 / (3 * 60), 96 / (3 * 24), 96 / (3 * 12)])[y]
    cross_entropy = -np.log(probabilities[np.arange(len(y)), y])
    l1 = 0.01 * sum(np.abs(k).sum() for k in _kernels(backend, model))
    assert fit.history["loss"][0] == pytest.approx(np.sum(weights * cross_entropy) / len(y) + l1, rel=1e-5)
    correct = probabilities.argmax(axis=1) == y
    assert fit.history["accuracy"][0] == pytest.approx(correct.mean(), rel=1e-5)
    assert abs(np.sum(weights * cross_entropy) / len(y) - cross_entropy.mean()) > 1e-3  # the weights matter here


def test_class_weights_are_ignored_for_regression(backend: BaseBackend, digits: Digits) -> None:
    X, y = _imbalanced(digits)
    target = y.astype(np.float32)
    spec = ModelSpec(IMAGE_SHAPE, 1, "regression", MLP_LAYERS, OptimizerSpec("sgd", 0.0), class_weight="balanced")
    spec = spec.with_training(batch_size=len(X), epochs=1)
    model = backend.build(spec)
    values = backend.predict(model, X)

    fit = backend.fit(model, spec, X, target)

    assert fit.history["loss"][0] == pytest.approx(np.mean((values - target) ** 2), rel=1e-5)


def test_parity_training_steps_with_l1_l2_and_class_weights(digits: Digits) -> None:
    """Three full-batch SGD steps from the same weights: the same losses and weights on both
    backends, so the gradients of the L1 penalty and of the class-weighted loss agree too."""
    X, y = _imbalanced(digits)
    spec = ModelSpec(
        IMAGE_SHAPE,
        3,
        "classification",
        MLP_LAYERS,
        OptimizerSpec("sgd", 0.1, {"momentum": 0.9}),
        l1=1e-3,
        l2=1e-3,
        class_weight="balanced",
        batch_size=len(X),
        epochs=3,
    )
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)
    _copy_weights_by_layer(keras_model, mxnet_model)

    keras_fit, mxnet_fit = keras_backend.fit(keras_model, spec, X, y), mxnet_backend.fit(mxnet_model, spec, X, y)

    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(mxnet_fit.history[key], keras_fit.history[key], rtol=1e-4, err_msg=key)
    for keras_kernel, mxnet_kernel in zip(
        _kernels(keras_backend, keras_model), _kernels(mxnet_backend, mxnet_model), strict=True
    ):
        np.testing.assert_allclose(mxnet_kernel.T, keras_kernel, atol=1e-5)


def test_a_space_may_search_depth_zero_a_linear_model() -> None:
    space = parse_space(
        "task: tabular\nparameters:\n  architecture:\n    family: mlp\n"
        "    n_layers: {type: int, low: 0, high: 1}\n    layer: {repeat: n_layers, units: 8}\n"
        "  optimizer: {name: adam, learning_rate: 0.01}\n"
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = [space.sample(study.ask()) for _ in range(12)]
    specs = {
        len(c["architecture"]["layer"]): build_spec(c, input_shape=(5,), n_outputs=2, problem_type="classification")
        for c in configs
    }
    assert specs[0].layers == () and [layer.kind for layer in specs[1].layers] == ["dense", "activation"]


def test_a_linear_model_learns_a_linear_boundary_saves_and_loads(backend: BaseBackend, tmp_path: Path) -> None:
    """``n_layers: 0``: no hidden layer, logistic regression on the features, trained like any model."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    y = (X @ np.array([1.5, -2.0, 1.0, 0.0, 0.5, 0.0]) > 0).astype(np.int64)
    config = _config({"family": "mlp", "n_layers": 0, "layer": []}, batch_norm=False, dropout=0.2)
    config["training"]["epochs"] = 20
    spec = build_spec(config, input_shape=(6,), n_outputs=2, problem_type="classification")
    assert spec.layers == ()
    model = backend.build(spec)
    assert backend.count_params(model) == 6 * 2 + 2
    backend.fit(model, spec, X[:300], y[:300])

    predicted = backend.predict(model, X[300:])
    assert np.mean(predicted.argmax(axis=1) == y[300:]) > 0.9
    backend.save(model, spec, tmp_path / "linear")
    np.testing.assert_allclose(backend.predict(backend.load(tmp_path / "linear", spec), X[300:]), predicted, atol=1e-6)


# --------------------------------------------------------------------------- spaces and specs
@pytest.mark.parametrize("space", ["image", "tabular", SPACES / "tiny_tabular.yaml", SPACES / "tiny_image_resnet.yaml"])
def test_spaces_load_and_their_defaults_build(space: Any) -> None:
    loaded = load_space(space)
    study = optuna.create_study()
    study.enqueue_trial(loaded.defaults())
    config = loaded.sample(study.ask())
    shape = IMAGE_SHAPE if loaded.task == "image" else (12,)
    spec = build_spec(config, input_shape=shape, n_outputs=3, problem_type="classification")
    assert spec.layers and spec.class_weight is None
    if loaded.task == "tabular":
        assert config["architecture"]["family"] == "mlp" and spec.l1 == 0.0


def test_tabular_space_searches_what_it_promises() -> None:
    space = load_space("tabular")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = [space.sample(study.ask()) for _ in range(30)]
    depths = {len(config["architecture"]["layer"]) for config in configs}
    specs = [build_spec(c, input_shape=(12,), n_outputs=2, problem_type="classification") for c in configs]
    assert depths == {1, 2, 3, 4}
    assert {spec.class_weight for spec in specs} == {None, "balanced"}
    assert len({spec.l1 for spec in specs}) > 1
    assert {config["regularization"]["batch_norm"] for config in configs} == {True, False}


def test_resnet_and_augmentation_need_image_input() -> None:
    with pytest.raises(TrialFailed, match="'resnet' family needs image input"):
        build_spec(_config(TINY_RESNET), input_shape=(12,), n_outputs=2, problem_type="classification")
    mlp = {"family": "mlp", "layer": [{"units": 8}]}
    with pytest.raises(TrialFailed, match="augmentation needs image input"):
        build_spec(
            _config(mlp, augmentation=AUGMENTATION), input_shape=(12,), n_outputs=2, problem_type="classification"
        )
    no_change = {"flip": "none", "shift": 0.0, "rotation": 0.0}
    spec = build_spec(_config(mlp, augmentation=no_change), input_shape=(12,), n_outputs=2, problem_type="regression")
    assert "augment" not in {layer.kind for layer in spec.layers}


SPACE_WITH = """
parameters:
  architecture: {{family: resnet, n_stages: 1, stage: {{repeat: n_stages, filters: 8}}}}
  optimizer: {{name: adam}}
  {extra}
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("regularization: {augmentation: {flip: diagonal}}", "unknown flip 'diagonal'; allowed: none, horizontal"),
        ("regularization: {augmentation: {shift: 0.5}}", "value 0.5 is out of range; allowed: [0, 0.3]"),
        ("regularization: {augmentation: {rotate: 0.1}}", "unknown key 'rotate'.*Did you mean 'rotation'"),
        ("regularization: {l1: -0.1}", "value -0.1 is out of range; allowed: [0, 1]"),
        ("training: {class_weight: {type: categorical, choices: [none, auto]}}", "unknown class weight 'auto'"),
    ],
)
def test_bad_new_keys_get_one_clear_error(extra: str, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=message.replace("[", r"\[").replace("]", r"\]")) as caught:
        parse_space(SPACE_WITH.format(extra=extra), source="bad.yaml")
    assert str(caught.value).startswith("bad.yaml, line 5")


def test_unknown_resnet_key_is_named() -> None:
    text = SPACE_WITH.format(extra="").replace("n_stages: 1,", "n_stages: 1, stem_filter: 8,")
    with pytest.raises(SearchSpaceError, match="unknown key 'stem_filter'.*Did you mean 'stem_filters'"):
        parse_space(text, source="bad.yaml")
