"""The sequence (text) layer kinds and text families on both backends, and their Keras <-> MXNet parity.

Every family of the tiny text space builds, trains one epoch, predicts and survives a save/load
round trip on each backend. The parity tests build every layer kind on both backends: same
trainable parameter count (an LSTM has ``4 * units`` more per direction on MXNet, its second bias
vector), and the same outputs once the MXNet model has the Keras model's weights.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from automl.backends import BACKENDS, get_backend
from automl.backends.mxnet._import import import_mxnet
from automl.data.text import TextVectorizer, builtin_text
from automl.model.architectures import build_spec
from automl.model.spec import Layer, ModelSpec, OptimizerSpec
from automl.space import load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

STEPS, VOCAB, CLASSES = 16, 300, 5
Tokens = tuple[np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def tokens() -> Tokens:
    """160 stdlib-docs texts as token ids (vocabulary fitted on the first 120 only)."""
    dataset = builtin_text()
    index = np.random.default_rng(0).permutation(len(dataset.X))[:160]
    texts, labels = dataset.X[index], dataset.y[index]
    vectorizer = TextVectorizer(max_tokens=VOCAB, sequence_length=STEPS).fit(texts[:120])
    return vectorizer.transform(texts), labels


# --------------------------------------------------------------------------- families of the tiny text space
SPACE = load_space(Path(__file__).parents[1] / "spaces" / "tiny_text.yaml")
FAMILY_CASES = {
    "mlp": {"architecture.family": "mlp"},
    "bag_of_words": {"architecture.family": "bag_of_words"},
    "text_cnn-even-kernel": {
        "architecture.family": "text_cnn",
        "architecture.text_cnn.block.0.kernel_size": 2,
        "architecture.text_cnn.pooling": "max",
    },
    "rnn-bidirectional-lstm": {
        "architecture.family": "rnn",
        "architecture.rnn.cell": "lstm",
        "architecture.rnn.bidirectional": True,
        "architecture.rnn.head": "last",
    },
    "transformer": {"architecture.family": "transformer", "architecture.transformer.positional_embedding": True},
    "transformer-pre-norm": {"architecture.family": "transformer", "architecture.transformer.norm": "pre"},
}


def tiny_spec(params: dict[str, Any]) -> ModelSpec:
    """A spec the tiny text space samples with ``params`` pinned (a real Optuna trial draws the rest)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(params)
    config = SPACE.sample(study.ask())
    spec = build_spec(config, input_shape=(STEPS,), n_outputs=CLASSES, problem_type="classification", vocab_size=VOCAB)
    return spec.with_training(epochs=1)


def test_the_cases_cover_every_family_of_the_tiny_space() -> None:
    families = {params["architecture.family"] for params in FAMILY_CASES.values()}
    assert families == set(SPACE.root.children["architecture"].children["family"].branches)


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("case", FAMILY_CASES)
def test_family_trains_predicts_and_round_trips(backend_name: str, case: str, tokens: Tokens, tmp_path) -> None:
    X, y = tokens
    spec = tiny_spec(FAMILY_CASES[case])
    backend = get_backend(backend_name)
    backend.seed(0)
    model = backend.build(spec)

    fit = backend.fit(model, spec, X[:120], y[:120], validation=(X[120:], y[120:]))

    assert set(fit.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 1 and math.isfinite(values[0]) for values in fit.history.values())
    probabilities = backend.predict(model, X[120:])
    assert probabilities.shape == (40, CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    backend.save(model, spec, tmp_path / "native")
    loaded = backend.load(tmp_path / "native", spec)
    np.testing.assert_allclose(backend.predict(loaded, X[120:]), probabilities, atol=1e-6)
    assert backend.count_params(loaded) == backend.count_params(model)
    backend.release()


# --------------------------------------------------------------------------- parity: every layer kind
EMBED = Layer("embedding", {"input_dim": VOCAB, "output_dim": 6})


def rnn(cell: str, units: int, bidirectional: bool, return_sequences: bool) -> Layer:
    params = {"cell": cell, "units": units, "bidirectional": bidirectional, "return_sequences": return_sequences}
    return Layer("rnn", params)


PARITY_CASES: dict[str, tuple[Layer, ...]] = {
    "embedding-avg": (EMBED, Layer("global_pool1d", {"mode": "avg"})),
    "positions-max": (
        EMBED,
        Layer("positional_embedding", {"sequence_length": STEPS, "output_dim": 6}),
        Layer("global_pool1d", {"mode": "max"}),
    ),
    "conv1d-k3-maxpool": (
        EMBED,
        Layer("conv1d", {"filters": 5, "kernel_size": 3}),
        Layer("activation", {"name": "relu"}),
        Layer("pool1d", {"mode": "max", "size": 2}),
        Layer("flatten"),
    ),
    "conv1d-k4-avgpool-dense": (
        EMBED,
        Layer("conv1d", {"filters": 5, "kernel_size": 4}),
        Layer("pool1d", {"mode": "avg", "size": 3}),
        Layer("dense", {"units": 7}),
        Layer("global_pool1d", {"mode": "avg"}),
    ),
    "tf-idf-dense": (Layer("tf_idf", {"vocab_size": VOCAB}), Layer("dense", {"units": 7})),
    "lstm-last": (EMBED, rnn("lstm", 4, False, False)),
    "bilstm-last": (EMBED, rnn("lstm", 4, True, False)),
    "gru-sequences": (EMBED, rnn("gru", 5, False, True), Layer("global_pool1d", {"mode": "max"})),
    "bigru-stacked": (EMBED, rnn("gru", 3, True, True), rnn("gru", 4, True, False)),
    "transformer": (
        EMBED,
        Layer("positional_embedding", {"sequence_length": STEPS, "output_dim": 6}),
        Layer("transformer_block", {"heads": 2, "key_dim": 3, "ff_units": 8, "dropout": 0.1}),
        Layer("transformer_block", {"heads": 1, "key_dim": 4, "ff_units": 5, "dropout": 0.0}),
        Layer("global_pool1d", {"mode": "avg"}),
    ),
    "transformer-pre-norm": (
        EMBED,
        Layer("transformer_block", {"heads": 2, "key_dim": 3, "ff_units": 8, "dropout": 0.1, "norm": "pre"}),
        Layer("transformer_block", {"heads": 1, "key_dim": 4, "ff_units": 5, "norm": "pre", "final_norm": True}),
        Layer("global_pool1d", {"mode": "max"}),
    ),
}


def lstm_extra_biases(layers: tuple[Layer, ...]) -> int:
    """MXNet's second LSTM bias vector: ``4 * units`` per direction."""
    return sum(
        4 * layer.params["units"] * (2 if layer.params["bidirectional"] else 1)
        for layer in layers
        if layer.kind == "rnn" and layer.params["cell"] == "lstm"
    )


@pytest.mark.parametrize("case", PARITY_CASES)
def test_parity_same_architecture(case: str, tokens: Tokens) -> None:
    """Same trainable parameters (LSTM bias aside), and the same outputs once MXNet has Keras' weights."""
    layers = PARITY_CASES[case]
    spec = ModelSpec((STEPS,), CLASSES, "classification", layers, OptimizerSpec("adam", 1e-3))
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_backend.seed(0)
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)

    extra = lstm_extra_biases(layers)
    assert mxnet_backend.count_params(mxnet_model) == keras_backend.count_params(keras_model) + extra

    _randomize_keras_weights(keras_model)
    _copy_keras_weights(keras_model, mxnet_model)
    X = tokens[0][:48]
    np.testing.assert_allclose(mxnet_backend.predict(mxnet_model, X), keras_backend.predict(keras_model, X), atol=2e-5)


def test_parity_l2_penalty_covers_the_same_kernels(tokens: Tokens) -> None:
    """Conv1D, attention and feed-forward kernels take the l2 penalty on both backends; embeddings,
    positions and recurrent weights do not. One full-batch epoch reports the loss at the shared
    starting weights, penalty included.
    """
    embed_with_positions, no_dropout_block = PARITY_CASES["transformer"][:2], PARITY_CASES["transformer"][3]
    convolution = PARITY_CASES["conv1d-k3-maxpool"][1:4]
    layers = (*embed_with_positions, no_dropout_block, *convolution, rnn("gru", 3, False, False))
    spec = ModelSpec((STEPS,), CLASSES, "classification", layers, OptimizerSpec("sgd", 1e-3), l2=0.05)
    X, y = tokens[0][:64], tokens[1][:64]
    spec = spec.with_training(batch_size=len(X), epochs=1)
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)
    _randomize_keras_weights(keras_model)
    _copy_keras_weights(keras_model, mxnet_model)
    penalized = [v for v in keras_model.trainable_weights if v.path.endswith("kernel") and "gru" not in v.path]
    layer_types = sorted(re.sub(r"_\d+$", "", v.path.split("/")[0]) for v in penalized)  # Keras numbers its names
    assert layer_types == ["conv1d", *["dense"] * 3, *["multi_head_attention"] * 4]  # ff, ff, head; q, k, v, out
    penalty = 0.05 * sum(float(np.sum(v.numpy() ** 2)) for v in penalized)
    assert float(sum(keras_model.losses)) == pytest.approx(penalty, rel=1e-5)

    keras_loss = keras_backend.fit(keras_model, spec, X, y).history["loss"][0]
    mxnet_loss = mxnet_backend.fit(mxnet_model, spec, X, y).history["loss"][0]

    assert mxnet_loss == pytest.approx(keras_loss, rel=1e-4)
    assert penalty > 0.1  # large enough that a kernel missed on one backend would show


def test_parity_training_a_tf_idf_model_with_l2_penalty(tokens: Tokens) -> None:
    """The dense kernel after a TF-IDF takes the l2 penalty on both backends (MXNet fuses the two
    layers), and the frequencies fitted on the training rows are the same: same first-epoch loss."""
    layers = PARITY_CASES["tf-idf-dense"]
    spec = ModelSpec((STEPS,), CLASSES, "classification", layers, OptimizerSpec("sgd", 1e-2), l2=0.05)
    X, y = tokens[0][:64], tokens[1][:64]
    spec = spec.with_training(batch_size=len(X), epochs=2)
    keras_backend, mxnet_backend = get_backend("keras"), get_backend("mxnet")
    keras_model, mxnet_model = keras_backend.build(spec), mxnet_backend.build(spec)
    _copy_keras_weights(keras_model, mxnet_model)

    keras_loss = keras_backend.fit(keras_model, spec, X, y).history["loss"]
    mxnet_loss = mxnet_backend.fit(mxnet_model, spec, X, y).history["loss"]

    np.testing.assert_allclose(mxnet_loss, keras_loss, rtol=1e-4)
    np.testing.assert_allclose(mxnet_backend.predict(mxnet_model, X), keras_backend.predict(keras_model, X), atol=2e-5)


def test_mxnet_early_stopping_restores_a_wide_conv1d(tokens: Tokens, tmp_path) -> None:
    """From 64 filters oneDNN keeps a Conv1D weight in its own layout after inference; restoring the
    best weights into it must still work (it failed with ``to.IsDefaultData()``)."""
    X, y = tokens
    layers = (EMBED, Layer("conv1d", {"filters": 64, "kernel_size": 5}), Layer("global_pool1d", {"mode": "max"}))
    spec = ModelSpec((STEPS,), CLASSES, "classification", layers, OptimizerSpec("adam", 0.05), epochs=6)
    spec = spec.with_training(early_stopping_patience=1)
    backend = get_backend("mxnet")
    backend.seed(0)
    model = backend.build(spec)
    wrong = (y[:40] + 1) % CLASSES  # labels the model is taught to get wrong: val_loss rises, training stops early

    fit = backend.fit(model, spec, X[:120], y[:120], validation=(X[:40], wrong))

    assert fit.n_epochs < 6
    probabilities = backend.predict(model, X[:40])
    restored = float(-np.mean(np.log(probabilities[np.arange(40), wrong])))
    assert restored == pytest.approx(fit.history["val_loss"][fit.best_epoch - 1], rel=1e-4)
    backend.save(model, spec, tmp_path)
    np.testing.assert_allclose(backend.predict(backend.load(tmp_path, spec), X[:40]), probabilities, atol=1e-6)


# --------------------------------------------------------------------------- TF-IDF
def _sklearn_tf_idf(train: np.ndarray, X: np.ndarray) -> np.ndarray:
    """scikit-learn's sub-linear TF-IDF of token-id rows, fitted on ``train``; padding and unknown ids dropped."""
    from sklearn.feature_extraction.text import TfidfTransformer

    def counts(rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), VOCAB))
        for i, row in enumerate(rows.astype(int)):
            np.add.at(out[i], row, 1.0)
        out[:, :2] = 0.0  # PAD, OOV
        return out

    transformer = TfidfTransformer(sublinear_tf=True).fit(counts(train))
    return transformer.transform(counts(X)).toarray()


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_tf_idf_is_scikit_learns_fitted_on_the_training_rows_each_fit(backend_name: str, tokens: Tokens) -> None:
    """A model of a tf_idf layer and its head predicts softmax(tf_idf @ kernel + bias), where tf_idf is
    scikit-learn's TfidfVectorizer(sublinear_tf=True) of the rows the model was last fitted on: a fit
    on other rows (another fold, the refit) sets other frequencies. (MXNet fuses the layer with the
    dense layer after it, so the vector is seen through the head.)"""
    X, y = tokens
    layers = (Layer("tf_idf", {"vocab_size": VOCAB}),)
    spec = ModelSpec((STEPS,), CLASSES, "classification", layers, OptimizerSpec("adam", 1e-3)).with_training(epochs=1)
    backend = get_backend(backend_name)
    model = backend.build(spec)

    for train in (slice(0, 80), slice(80, 160)):
        backend.fit(model, spec, X[train], y[train])
        kernel, bias = _head(backend_name, model)
        logits = _sklearn_tf_idf(X[train], X[:40]) @ kernel + bias
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(backend.predict(model, X[:40]), expected, atol=1e-5)
    assert backend.count_params(model) == (VOCAB + 1) * CLASSES  # the frequencies are not trained
    backend.release()


def _head(backend_name: str, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (vocab_size, classes) kernel and the bias of the dense layer after the TF-IDF."""
    if backend_name == "keras":
        return model.layers[-1].kernel.numpy(), model.layers[-1].bias.numpy()
    block = model.body[0]
    return block.weight.data().asnumpy().T, block.bias.data().asnumpy()


def test_text_layer_on_the_wrong_input_fails_the_trial_on_mxnet() -> None:
    from automl.errors import TrialFailed

    spec = ModelSpec(
        (STEPS,),
        CLASSES,
        "classification",
        (Layer("conv1d", {"filters": 2, "kernel_size": 3}),),
        OptimizerSpec("adam", 1e-3),
    )
    with pytest.raises(TrialFailed, match=r"conv1d.*needs a sequence of shape \(steps, channels\)"):
        get_backend("mxnet").build(spec)
    tf_idf = Layer("tf_idf", {"vocab_size": VOCAB})
    spec = ModelSpec((STEPS,), CLASSES, "classification", (tf_idf, Layer("dropout", {"rate": 0.1})), spec.optimizer)
    with pytest.raises(TrialFailed, match="a tf_idf layer must be followed by a dense layer, not 'dropout'"):
        get_backend("mxnet").build(spec)


# --------------------------------------------------------------------------- weight transfer (Keras layout -> Gluon)
def _randomize_keras_weights(keras_model: Any) -> None:
    """Embeddings and biases big enough that a wrong transfer shows in the outputs."""
    rng = np.random.default_rng(0)
    for variable in keras_model.weights:
        shape, path = tuple(variable.shape), variable.path
        if path.endswith("idf"):
            variable.assign(rng.uniform(0.5, 3.0, shape).astype(np.float32))
        elif path.endswith(("embeddings", "positions")):
            variable.assign(rng.normal(0.0, 1.0, shape).astype(np.float32))
        elif path.endswith("gamma"):
            variable.assign(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        elif path.endswith(("bias", "beta")):
            variable.assign(rng.normal(0.0, 0.3, shape).astype(np.float32))


def _gru_gates(weight: np.ndarray) -> np.ndarray:
    """Keras orders GRU gates (update, reset, candidate); MXNet (reset, update, candidate)."""
    update, reset, candidate = np.split(weight, 3, axis=0)
    return np.concatenate([reset, update, candidate], axis=0)


def _keras_weights_in_gluon_order(keras_model: Any) -> list[np.ndarray]:
    variables = list(keras_model.weights)
    out: list[np.ndarray] = []
    index = 0
    while index < len(variables):
        path, weight = variables[index].path, variables[index].numpy()
        if "lstm" in path or "gru" in path:  # kernel, recurrent kernel, bias -> i2h/h2h weights and biases
            recurrent, bias = variables[index + 1].numpy(), variables[index + 2].numpy()
            index += 3
            if "gru" in path:  # Keras' reset_after GRU keeps (input bias, recurrent bias)
                out += [_gru_gates(weight.T), _gru_gates(recurrent.T), _gru_gates(bias[0]), _gru_gates(bias[1])]
            else:  # Keras' single LSTM bias goes to i2h; the h2h bias stays zero
                out += [weight.T, recurrent.T, bias, np.zeros_like(bias)]
            continue
        index += 1
        if path.endswith("kernel") and "conv1d" in path:
            out.append(weight.transpose(2, 1, 0))  # (k, in, out) -> (out, in, k)
        elif path.endswith("kernel") and weight.ndim == 3:  # attention: (width, heads, k) / (heads, k, width)
            out.append(
                weight.reshape(-1, weight.shape[-1]).T
                if "attention_output" in path
                else weight.reshape(weight.shape[0], -1).T
            )
        elif path.endswith("kernel"):
            out.append(weight.T)
        elif path.endswith("bias"):
            out.append(weight.reshape(-1))  # attention biases are (heads, k)
        else:  # embeddings, positions, layer-norm gamma/beta
            out.append(weight)
    return out


def _copy_keras_weights(keras_model: Any, network: Any) -> None:
    mx = import_mxnet()
    params = list(network.collect_params().values())
    weights = _keras_weights_in_gluon_order(keras_model)
    assert len(params) == len(weights)
    for param, weight in zip(params, weights, strict=True):
        assert param.shape == weight.shape, (param.name, param.shape, weight.shape)
        param.set_data(mx.nd.array(weight))


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_only_a_post_norm_block_ends_on_a_layer_norm(norm: str) -> None:
    """At initialisation (gamma 1, beta 0) a post-norm block's every position has mean 0 over its
    channels; a pre-norm block without a final norm adds its branches to the unnormalised input."""
    import keras

    from automl.backends.keras.text import text_layer

    block = Layer("transformer_block", {"heads": 1, "key_dim": 4, "ff_units": 8, "norm": norm})
    inputs = keras.Input((5, 6))
    model = keras.Model(inputs, text_layer(block, None)(inputs))
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(4, 5, 6)).astype(np.float32)
    position_means = np.abs(model.predict(x, verbose=0).mean(axis=-1))
    assert (position_means.max() < 1e-3) == (norm == "post")
