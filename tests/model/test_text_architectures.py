"""Text families (mlp on text, bag_of_words, text_cnn, rnn, transformer): layers built from a configuration, the
failures on non-text data, and the shipped text space."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from automl.errors import SearchSpaceError, TrialFailed
from automl.model.architectures import build_spec
from automl.model.spec import Layer, ModelSpec
from automl.space import load_space, parse_space

STEPS, VOCAB = 20, 500


def config(arch: dict[str, Any], dropout: float = 0.0, batch_norm: bool = False) -> dict[str, Any]:
    return {
        "architecture": arch,
        "activation": "gelu",
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "regularization": {"dropout": dropout, "batch_norm": batch_norm},
    }


def build(cfg: dict[str, Any], input_shape: tuple[int, ...] = (STEPS,), vocab_size: int | None = VOCAB) -> ModelSpec:
    return build_spec(cfg, input_shape=input_shape, n_outputs=3, problem_type="classification", vocab_size=vocab_size)


def kinds(spec: ModelSpec) -> list[str]:
    return [layer.kind for layer in spec.layers]


def test_mlp_on_text_averages_token_embeddings() -> None:
    spec = build(config({"family": "mlp", "embedding_dim": 12, "layer": [{"units": 8}]}))
    assert spec.layers[:2] == (
        Layer("embedding", {"input_dim": VOCAB, "output_dim": 12}),
        Layer("global_pool1d", {"mode": "avg"}),
    )
    assert kinds(spec)[2:] == ["dense", "activation"]
    # without a vocabulary (tabular rows) the mlp is unchanged
    assert kinds(build(config({"family": "mlp", "layer": [{"units": 8}]}), vocab_size=None)) == ["dense", "activation"]


def test_bag_of_words_is_dense_layers_over_the_tf_idf_vector() -> None:
    spec = build(config({"family": "bag_of_words", "layer": [{"units": 32}, {"units": 8}]}, dropout=0.3))
    assert spec.layers[0] == Layer("tf_idf", {"vocab_size": VOCAB})
    assert kinds(spec)[1:] == ["dense", "activation", "dropout"] * 2
    assert [layer.params["units"] for layer in spec.layers if layer.kind == "dense"] == [32, 8]


def test_text_cnn_halves_the_sequence_per_block_and_pools_globally() -> None:
    arch = {
        "family": "text_cnn",
        "embedding_dim": 16,
        "block": [{"filters": 8, "kernel_size": 5}, {"filters": 4, "kernel_size": 2}],
        "pooling": "avg",
        "head": "global_max",
        "dense_units": 6,
    }
    spec = build(config(arch, dropout=0.2, batch_norm=True))
    assert kinds(spec) == [
        "embedding",
        *["conv1d", "batch_norm", "activation", "pool1d", "dropout"] * 2,
        "global_pool1d",
        *["dense", "batch_norm", "activation", "dropout"],
    ]
    assert spec.layers[1].params == {"filters": 8, "kernel_size": 5}
    assert spec.layers[4].params == {"mode": "avg", "size": 2}
    assert spec.layers[11].params == {"mode": "max"}


def test_text_cnn_never_pools_a_one_step_sequence() -> None:
    arch = {"family": "text_cnn", "block": [{"filters": 4}] * 3, "pooling": "max"}
    assert kinds(build(config(arch), input_shape=(2,))).count("pool1d") == 1


@pytest.mark.parametrize(
    ("head", "return_sequences", "tail"),
    [("last", [True, False], []), ("global_avg", [True, True], ["global_pool1d"])],
)
def test_rnn_stack_returns_sequences_except_for_the_last_output(
    head: str, return_sequences: list[bool], tail: list[str]
) -> None:
    arch = {"family": "rnn", "cell": "gru", "bidirectional": True, "layer": [{"units": 8}, {"units": 4}], "head": head}
    spec = build(config(arch))
    assert kinds(spec) == ["embedding", "rnn", "rnn", *tail]
    assert [layer.params["return_sequences"] for layer in spec.layers[1:3]] == return_sequences
    assert spec.layers[2].params == {
        "cell": "gru",
        "units": 4,
        "bidirectional": True,
        "return_sequences": head != "last",
    }


def test_transformer_blocks_share_their_settings_and_take_the_dropout() -> None:
    arch = {"family": "transformer", "embedding_dim": 32, "n_blocks": 2, "heads": 4, "key_dim": 8, "ff_units": 64}
    spec = build(config(arch, dropout=0.1))
    assert kinds(spec) == [
        "embedding",
        "positional_embedding",
        "transformer_block",
        "transformer_block",
        "global_pool1d",
    ]
    assert spec.layers[1].params == {"sequence_length": STEPS, "output_dim": 32}
    block = {"heads": 4, "key_dim": 8, "ff_units": 64, "dropout": 0.1, "norm": "post", "final_norm": False}
    assert [layer.params for layer in spec.layers[2:4]] == [block, block]
    no_positions = build(config({**arch, "positional_embedding": False}))
    assert "positional_embedding" not in kinds(no_positions)


def test_a_pre_norm_transformer_stack_ends_with_a_final_norm() -> None:
    arch = {"family": "transformer", "n_blocks": 3, "norm": "pre"}
    blocks = [layer.params for layer in build(config(arch)).layers if layer.kind == "transformer_block"]
    assert [(block["norm"], block["final_norm"]) for block in blocks] == [("pre", False), ("pre", False), ("pre", True)]


@pytest.mark.parametrize("family", ["bag_of_words", "text_cnn", "rnn", "transformer"])
def test_text_families_fail_the_trial_on_other_data(family: str) -> None:
    with pytest.raises(TrialFailed, match=rf"the '{family}' family needs text input.*vocab_size None"):
        build(config({"family": family}), vocab_size=None)
    with pytest.raises(TrialFailed, match=r"this data has shape \(8, 8, 1\)"):
        build(config({"family": family}), input_shape=(8, 8, 1))


def test_the_shipped_text_space_default_is_a_text_cnn() -> None:
    space = load_space("text")
    study = optuna.create_study()
    study.enqueue_trial(space.defaults())
    spec = build(space.sample(study.ask()))
    assert space.task == "text"
    assert kinds(spec)[:2] == ["embedding", "conv1d"] and spec.epochs == 10


@pytest.mark.parametrize(
    ("architecture", "message"),
    [
        ("{family: rnn, cell: rnn}", "unknown cell 'rnn'; allowed: lstm, gru"),
        ("{family: transformer, heads: 0}", "value 0 is out of range; allowed: [1, 64]"),
        ("{family: transformer, norm: sandwich}", "unknown norm 'sandwich'; allowed: pre, post"),
        ("{family: text_cnn, head: flatten}", "unknown head 'flatten'; allowed: global_avg, global_max"),
        ("{family: rnn, pooling: max}", "unknown key 'pooling'"),
        ("{family: bag_of_words, embedding_dim: 8}", "unknown key 'embedding_dim'"),
    ],
)
def test_the_schema_rejects_what_the_text_families_do_not_understand(architecture: str, message: str) -> None:
    text = f"parameters:\n  architecture: {architecture}\n  optimizer: {{name: adam}}\n"
    with pytest.raises(SearchSpaceError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        parse_space(text, source="bad.yaml")
