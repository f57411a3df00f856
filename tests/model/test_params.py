"""``count_params``: the analytic count of a spec equals the trainable parameters of the model each
backend builds, for every layer kind and variant and for draws of the shipped spaces."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from automl.backends import BACKENDS, get_backend
from automl.data.dataset import ProblemType
from automl.errors import ConfigError, TrialFailed
from automl.model import build_spec, count_params
from automl.model.spec import LAYER_KINDS, Layer, ModelSpec, OptimizerSpec
from automl.space import load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

STEPS, VOCAB = 10, 40


def spec(
    input_shape: tuple[int, ...], *layers: Layer, n_outputs: int = 3, problem_type: ProblemType = "classification"
) -> ModelSpec:
    return ModelSpec(input_shape, n_outputs, problem_type, layers, OptimizerSpec("adam", 0.01))


def conv(filters: int, kernel_size: int, kind: str = "conv2d") -> Layer:
    return Layer(kind, {"filters": filters, "kernel_size": kernel_size})


def residual(filters: int, stride: int, batch_norm: bool) -> Layer:
    params = {"filters": filters, "kernel_size": 3, "stride": stride, "batch_norm": batch_norm, "activation": "relu"}
    return Layer("residual_block", params)


def rnn(cell: str, units: int, bidirectional: bool = False, return_sequences: bool = False) -> Layer:
    params = {"cell": cell, "units": units, "bidirectional": bidirectional, "return_sequences": return_sequences}
    return Layer("rnn", params)


EMBEDDING = Layer("embedding", {"input_dim": VOCAB, "output_dim": 6})
CASES = {
    "table-dense-regression": spec((5,), Layer("dense", {"units": 4}), problem_type="regression"),
    "image-flatten-dense-batch-norm-dropout": spec(
        (6, 6, 2),
        Layer("flatten"),
        Layer("dense", {"units": 7}),
        Layer("batch_norm"),
        Layer("activation", {"name": "leaky_relu"}),
        Layer("dropout", {"rate": 0.5}),
    ),
    "cnn-augment-odd-even-kernels-max-avg-pool": spec(
        (9, 8, 3),
        Layer("augment", {"flip": "horizontal", "shift": 0.1, "rotation": 0.05}),
        conv(4, 3),
        Layer("batch_norm"),
        Layer("pool2d", {"mode": "max", "size": 2}),
        conv(5, 2),
        Layer("pool2d", {"mode": "avg", "size": 3}),
        Layer("flatten"),
    ),
    "cnn-global-max-pool": spec((8, 8, 1), conv(4, 5), Layer("global_pool2d", {"mode": "max"})),
    "cnn-global-avg-pool": spec((8, 8, 1), conv(4, 3), Layer("global_pool2d", {"mode": "avg"})),
    "residual-identity-shortcut": spec((6, 6, 1), conv(4, 3), residual(4, 1, False), Layer("flatten")),
    "residual-projection-for-width-batch-norm": spec((6, 6, 3), residual(5, 1, True), Layer("flatten")),
    "residual-strided-odd-map": spec((7, 7, 3), conv(4, 3), residual(4, 2, False), Layer("flatten")),
    "residual-strided-wider-batch-norm": spec((7, 5, 2), residual(6, 2, True), Layer("flatten")),
    "text-conv1d-odd-even-pool1d-flatten": spec(
        (STEPS,),
        EMBEDDING,
        conv(5, 4, "conv1d"),
        Layer("batch_norm"),
        Layer("pool1d", {"mode": "max", "size": 3}),
        conv(3, 3, "conv1d"),
        Layer("pool1d", {"mode": "avg", "size": 2}),
        Layer("flatten"),
    ),
    "text-dense-on-steps": spec(
        (STEPS,), EMBEDDING, Layer("dense", {"units": 5}), Layer("global_pool1d", {"mode": "max"})
    ),
    "text-positional-transformer": spec(
        (STEPS,),
        EMBEDDING,
        Layer("positional_embedding", {"sequence_length": STEPS, "output_dim": 6}),
        Layer("transformer_block", {"heads": 2, "key_dim": 3, "ff_units": 7, "dropout": 0.1}),
        Layer("transformer_block", {"heads": 1, "key_dim": 4, "ff_units": 5, "dropout": 0.0}),
        Layer("global_pool1d", {"mode": "avg"}),
    ),
    "text-pre-norm-transformer": spec(
        (STEPS,),
        EMBEDDING,
        Layer("transformer_block", {"heads": 2, "key_dim": 3, "ff_units": 7, "norm": "pre"}),
        Layer("transformer_block", {"heads": 1, "key_dim": 4, "ff_units": 5, "norm": "pre", "final_norm": True}),
        Layer("global_pool1d", {"mode": "max"}),
    ),
    "text-tf-idf-dense": spec((STEPS,), Layer("tf_idf", {"vocab_size": VOCAB}), Layer("dense", {"units": 4})),
    "text-tf-idf-linear": spec((STEPS,), Layer("tf_idf", {"vocab_size": VOCAB})),
    "linear-no-hidden-layer": spec((7,)),
    "lstm-last": spec((STEPS,), EMBEDDING, rnn("lstm", 5)),
    "lstm-bidirectional-stacked": spec(
        (STEPS,), EMBEDDING, rnn("lstm", 5, bidirectional=True, return_sequences=True), rnn("lstm", 3, True)
    ),
    "gru-last": spec((STEPS,), EMBEDDING, rnn("gru", 5)),
    "gru-bidirectional-sequences-pooled": spec(
        (STEPS,),
        EMBEDDING,
        rnn("gru", 4, bidirectional=True, return_sequences=True),
        Layer("global_pool1d", {"mode": "max"}),
    ),
}


def lstm_extra(model_spec: ModelSpec) -> int:
    """MXNet's second LSTM bias vector: ``4 * units`` per direction."""
    return sum(
        4 * layer.params["units"] * (2 if layer.params["bidirectional"] else 1)
        for layer in model_spec.layers
        if layer.kind == "rnn" and layer.params["cell"] == "lstm"
    )


def built_params(backend_name: str, model_spec: ModelSpec) -> int:
    backend = get_backend(backend_name)
    return backend.count_params(backend.build(model_spec))


def test_the_cases_use_every_layer_kind() -> None:
    used = {layer.kind for case in CASES.values() for layer in case.layers}
    assert used == set(LAYER_KINDS)


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_count_equals_the_built_model(backend_name: str, case: str) -> None:
    assert count_params(CASES[case], backend_name) == built_params(backend_name, CASES[case])


@pytest.mark.parametrize("case", CASES)
def test_backends_differ_by_the_second_lstm_bias_only(case: str) -> None:
    model_spec = CASES[case]
    assert count_params(model_spec, "mxnet") - count_params(model_spec) == lstm_extra(model_spec)


def test_hand_counted_examples() -> None:
    # dense 5 -> 4 and the regression head 4 -> 1, each with biases
    assert count_params(CASES["table-dense-regression"]) == (5 * 4 + 4) + (4 + 1)
    # embedding 40 x 6; LSTM: 4 gates x 5 units x (6 inputs + 5 recurrent + 1 or 2 biases); head 5 -> 3
    lstm = spec((STEPS,), EMBEDDING, rnn("lstm", 5))
    assert count_params(lstm, "keras") == 40 * 6 + 4 * 5 * (6 + 5 + 1) + (5 * 3 + 3)
    assert count_params(lstm, "mxnet") == 40 * 6 + 4 * 5 * (6 + 5 + 2) + (5 * 3 + 3)


@pytest.mark.parametrize(
    ("model_spec", "message"),
    [
        (spec((5,), conv(4, 3)), r"layer 'conv2d' needs input of rank 3, got shape \(5,\)"),
        (spec((4, 4, 1), EMBEDDING), r"layer 'embedding' needs input of rank 1"),
        (spec((3, 8, 1), Layer("pool2d", {"mode": "max", "size": 4})), r"pool2d of size 4 does not fit"),
    ],
    ids=["conv2d-on-a-table", "embedding-on-an-image", "pool-larger-than-the-map"],
)
def test_a_layer_that_does_not_fit_its_input_fails_the_trial(model_spec: ModelSpec, message: str) -> None:
    with pytest.raises(TrialFailed, match=message):
        count_params(model_spec)


def test_an_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'torch'; allowed: keras, mxnet"):
        count_params(CASES["table-dense-regression"], "torch")


# --------------------------------------------------------------------------- draws of the shipped spaces
DATA: dict[str, dict[str, Any]] = {  # small inputs per shipped space
    "image": {"input_shape": (8, 8, 1), "n_outputs": 10, "problem_type": "classification"},
    "tabular": {"input_shape": (6,), "n_outputs": 1, "problem_type": "regression"},
    "text": {"input_shape": (STEPS,), "n_outputs": 4, "problem_type": "classification", "vocab_size": VOCAB},
}
DRAWS_PER_SPACE = 10


def space_draws() -> dict[str, ModelSpec]:
    """``DRAWS_PER_SPACE`` seeded random draws of each shipped space, by '<space>-<index>-<family>'."""
    draws = {}
    for name, data in DATA.items():
        space = load_space(name)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for index in range(DRAWS_PER_SPACE):
            config = space.sample(study.ask())
            draws[f"{name}-{index}-{config['architecture']['family']}"] = build_spec(config, **data)
    return draws


DRAWS = space_draws()


@pytest.mark.parametrize("draw", DRAWS)
def test_count_of_a_shipped_space_draw_equals_the_built_keras_model(draw: str) -> None:
    assert count_params(DRAWS[draw]) == built_params("keras", DRAWS[draw])
