"""The semantic check of a space: keys, names and ranges the model builder understands."""

from __future__ import annotations

import textwrap

import pytest

from automl.errors import SearchSpaceError
from automl.model.architectures import FAMILIES, optimizer_spec
from automl.model.optimizers import OPTIMIZERS
from automl.model.spec import ACTIVATIONS
from automl.space import SearchSpace, parse_space
from automl.space.nodes import Group
from automl.space.parser import _Parser
from automl.space.schema import ARCHITECTURES, OPTIMIZER_CHOICES, SCHEMA, Choice, Number, Tree, check_space


def space(text: str) -> SearchSpace:
    return parse_space(textwrap.dedent(text), source="s.yaml")


def error(text: str) -> str:
    with pytest.raises(SearchSpaceError) as info:
        space(text)
    message = str(info.value)
    assert message.startswith("s.yaml"), message
    return message


def with_params(extra: str, *, family: str = "mlp", optimizer: str = "adam") -> str:
    """A valid space plus ``extra`` (YAML lines indented under ``parameters:``)."""
    head = f"parameters:\n  architecture:\n    family: {family}\n  optimizer:\n    name: {optimizer}\n"
    return head + textwrap.indent(textwrap.dedent(extra), "  ")


# --------------------------------------------------------------------------- accepted
def test_full_space_with_every_group_is_accepted() -> None:
    parsed = space(
        """\
        parameters:
          architecture:
            family:
              type: categorical
              choices:
                cnn:
                  n_blocks: 2
                  block:
                    repeat: n_blocks
                    filters: {type: int, low: 8, high: 64}
                    kernel_size: 3
                    convs: {type: int, low: 1, high: 2}
                  pooling: {type: categorical, choices: [max, avg, none]}
                  head: {type: categorical, choices: [flatten, global_avg, global_max]}
                  dense_units: 0
          activation: {type: categorical, choices: [relu, elu, selu, gelu, swish, tanh, leaky_relu]}
          optimizer:
            name:
              type: categorical
              choices:
                sgd: {learning_rate: 0.1}
                momentum: {momentum: 0.9, nesterov: {type: categorical, choices: [true, false]}}
                adagrad: {initial_accumulator_value: 0.1}
                rmsprop: {rho: 0.9, momentum: 0.0}
                adam: {beta_1: 0.9, beta_2: 0.999}
                adamw: {weight_decay: 0.01}
                nadam:
          regularization: {dropout: 0.95, l2: 0.0, batch_norm: true}
          training: {batch_size: 1, epochs: 10000, early_stopping_patience: 0}
        """
    )
    assert parsed.n_params() == 8


def test_fixed_family_and_optimizer_are_accepted() -> None:
    assert space(with_params("activation: tanh\n", family="cnn", optimizer="rmsprop")).n_params() == 0


# --------------------------------------------------------------------------- names
def test_unknown_activation_fixed() -> None:
    message = error(with_params("activation: rleu\n"))
    assert "at 'activation'" in message and "unknown activation 'rleu'" in message
    assert "Did you mean 'relu'?" in message


def test_activation_must_be_a_name_not_a_bool() -> None:
    assert "unknown activation True" in error(with_params("activation: {type: categorical, choices: [relu, true]}\n"))


def test_unknown_optimizer_fixed() -> None:
    message = error(with_params("", optimizer="adma"))
    assert "at 'optimizer.name'" in message and "unknown optimizer 'adma'" in message
    assert "allowed: sgd, momentum, adagrad, rmsprop, adam, adamw, nadam" in message
    assert "Did you mean 'adam'?" in message


def test_unknown_optimizer_in_plain_categorical() -> None:
    text = """\
    parameters:
      architecture: {family: mlp}
      optimizer:
        name: {type: categorical, choices: [adam, sdg]}
    """
    message = error(text)
    assert "unknown optimizer 'sdg'" in message and "Did you mean 'sgd'?" in message


def test_unknown_optimizer_as_conditional_choice() -> None:
    text = """\
    parameters:
      architecture: {family: mlp}
      optimizer:
        name:
          type: categorical
          choices:
            adam: {learning_rate: 0.01}
            rmsprob: {learning_rate: 0.01}
    """
    message = error(text)
    assert "optimizer.name.choices.rmsprob" in message
    assert "unknown optimizer 'rmsprob'" in message and "Did you mean 'rmsprop'?" in message


def test_optimizer_given_as_a_plain_list_is_an_error_not_a_crash() -> None:
    message = error(with_params("", optimizer="[adam, sgd]"))
    assert "at 'optimizer.name'" in message and "unknown optimizer ['adam', 'sgd']" in message


def test_unknown_family() -> None:
    message = error(with_params("", family="cnnn"))
    assert "unknown architecture family 'cnnn'" in message and "Did you mean 'cnn'?" in message


def test_family_must_be_categorical_or_fixed() -> None:
    text = "parameters:\n  architecture:\n    family: {type: int, low: 1, high: 2}\n  optimizer: {name: adam}\n"
    message = error(text)
    assert "at 'architecture.family'" in message and "expected a fixed value or a categorical parameter" in message


def test_unknown_pooling() -> None:
    text = """\
    parameters:
      architecture:
        family: {type: categorical, choices: {cnn: {pooling: maxx}}}
      optimizer: {name: adam}
    """
    message = error(text)
    assert "architecture.family.choices.cnn.pooling" in message
    assert "unknown pooling 'maxx'" in message and "Did you mean 'max'?" in message


def test_batch_norm_must_be_boolean() -> None:
    assert "unknown boolean 'yes please'" in error(with_params("regularization: {batch_norm: yes please}\n"))
    message = error(with_params("regularization: {batch_norm: 1}\n"))
    assert "unknown boolean 1" in message and "allowed: true, false" in message


# --------------------------------------------------------------------------- keys
def test_unknown_key_with_suggestion() -> None:
    message = error(with_params("regularization:\n  dropuot: 0.2\n"))
    assert "at 'regularization.dropuot'" in message and "unknown key 'dropuot'" in message
    assert "allowed: dropout, l1, l2, batch_norm, augmentation" in message and "Did you mean 'dropout'?" in message


def test_unknown_top_group() -> None:
    message = error(with_params("trainig: {epochs: 3}\n"))
    assert "unknown key 'trainig'" in message and "Did you mean 'training'?" in message


def test_unknown_key_in_optimizer_branch() -> None:
    text = """\
    parameters:
      architecture: {family: mlp}
      optimizer:
        name: {type: categorical, choices: {adam: {beta1: 0.9}}}
    """
    message = error(text)
    assert "optimizer.name.choices.adam.beta1" in message
    assert "allowed: learning_rate, beta_1, beta_2" in message and "Did you mean 'beta_1'?" in message


def test_unknown_key_in_repeated_group() -> None:
    text = """\
    parameters:
      architecture:
        family:
          type: categorical
          choices: {mlp: {n_layers: 2, layer: {repeat: n_layers, unit: 32}}}
      optimizer: {name: adam}
    """
    message = error(text)
    assert "architecture.family.choices.mlp.layer.unit" in message and "Did you mean 'units'?" in message


def test_unknown_key_without_close_match_has_no_suggestion() -> None:
    message = error(with_params("regularization:\n  zzz: 1\n"))
    assert "unknown key 'zzz'" in message and "Did you mean" not in message


@pytest.mark.parametrize(
    ("text", "where", "key"),
    [
        ("parameters:\n  optimizer: {name: adam}\n", "", "architecture"),
        ("parameters:\n  architecture: {family: mlp}\n", "", "optimizer"),
        ("parameters:\n  architecture: {n: 1}\n  optimizer: {name: adam}\n", "architecture", "family"),
        ("parameters:\n  architecture: {family: mlp}\n  optimizer: {lr: 1}\n", "optimizer", "name"),
    ],
)
def test_missing_required_key(text: str, where: str, key: str) -> None:
    message = error(text)
    assert f"missing required key '{key}'" in message
    if where:
        assert f"at '{where}'" in message


def test_group_expected() -> None:
    message = error(with_params("regularization: 0.1\n"))
    assert "at 'regularization'" in message
    assert "expected a group with keys dropout, l1, l2, batch_norm, augmentation, found the value 0.1" in message


def test_repeated_group_expected() -> None:
    text = """\
    parameters:
      architecture:
        family: {type: categorical, choices: {mlp: {layer: {units: 32}}}}
      optimizer: {name: adam}
    """
    assert "expected a repeated group" in error(text)


# --------------------------------------------------------------------------- numbers
def test_number_out_of_range_fixed() -> None:
    message = error(with_params("regularization: {dropout: 0.99}\n"))
    assert "at 'regularization.dropout'" in message
    assert "value 0.99 is out of range; allowed: [0, 0.95]" in message


def test_number_out_of_range_in_distribution() -> None:
    message = error(with_params("regularization:\n  dropout: {type: float, low: 0.0, high: 1.0}\n"))
    assert "value 1.0 is out of range; allowed: [0, 0.95]" in message


def test_learning_rate_out_of_range_in_branch() -> None:
    text = """\
    parameters:
      architecture: {family: mlp}
      optimizer:
        name: {type: categorical, choices: {sgd: {learning_rate: 0}}}
    """
    message = error(text)
    assert "optimizer.name.choices.sgd.learning_rate" in message and "out of range; allowed: [1e-07, 10]" in message


def test_number_out_of_range_in_categorical() -> None:
    message = error(with_params("training:\n  batch_size: {type: categorical, choices: [32, 0]}\n"))
    assert "training.batch_size" in message and "value 0 is out of range" in message


def test_integer_key_rejects_float_parameter() -> None:
    message = error(with_params("training:\n  epochs: {type: float, low: 1, high: 5}\n"))
    assert (
        "at 'training.epochs'" in message and "expected an integer parameter (type: int), found type: float" in message
    )


def test_integer_key_rejects_fractional_value() -> None:
    message = error(with_params("training: {epochs: 2.5}\n"))
    assert "expected an integer in [1, 10000], found 2.5" in message


def test_integer_key_accepts_whole_float() -> None:
    assert space(with_params("training: {epochs: 2.0}\n")).n_params() == 0


def test_number_rejects_text_and_bool() -> None:
    assert "expected a number in [0, 1], found 'lots'" in error(with_params("regularization: {l2: lots}\n"))
    assert "found True" in error(with_params("regularization: {l2: true}\n"))


def test_number_rejects_a_group() -> None:
    message = error(with_params("training:\n  epochs: {low: 1, high: 3}\n"))
    assert "at 'training.epochs'" in message and "expected an integer, found a group" in message


# --------------------------------------------------------------------------- check_space directly
def test_check_space_with_custom_schema() -> None:
    parser = _Parser("c.yaml", {})
    schema = Tree({"size": Number(1, 3, integer=True), "mode": Choice(("a", "b"), "mode")}, required=("size",))
    check_space(parser.group({"size": 2, "mode": "a"}, ""), parser.error, schema)
    with pytest.raises(SearchSpaceError, match="missing required key 'size'"):
        check_space(parser.group({"mode": "a"}, ""), parser.error, schema)
    with pytest.raises(SearchSpaceError, match=r"c.yaml, at 'mode': unknown mode 'c'; allowed: a, b"):
        check_space(parser.group({"size": 1, "mode": "c"}, ""), parser.error, schema)
    with pytest.raises(SearchSpaceError, match="missing required key 'size'"):
        check_space(Group(), parser.error, schema)


# --------------------------------------------------------------------------- schema agrees with the builder
def test_schema_activations_are_the_spec_activations() -> None:
    assert SCHEMA.children["activation"].values == ACTIVATIONS


def test_schema_families_are_the_builder_families() -> None:
    assert set(ARCHITECTURES.branches) == set(FAMILIES)


@pytest.mark.parametrize("name", sorted(OPTIMIZER_CHOICES.branches))
def test_every_schema_optimizer_and_parameter_builds_an_optimizer_spec(name: str) -> None:
    params = {key: 0.5 for key in OPTIMIZER_CHOICES.branches[name].children if key != "learning_rate"}
    if "nesterov" in params:
        params["nesterov"] = True
    spec = optimizer_spec({"name": name, "learning_rate": 0.01, **params})
    assert spec.name in OPTIMIZERS
    assert spec.learning_rate == 0.01
    assert set(params) <= set(spec.params)


def test_a_fixed_choice_takes_its_branch_parameters_as_siblings(tmp_path) -> None:
    from automl.model.architectures import build_spec

    space = parse_space(
        "parameters:\n"
        "  architecture: {family: mlp, n_layers: 1, layer: {repeat: n_layers, units: 8}}\n"
        "  optimizer: {name: adam, learning_rate: {type: float, low: 0.001, high: 0.01, log: true}, beta_1: 0.8}\n",
        source="fixed.yaml",
    )
    import optuna

    config = space.sample(optuna.create_study().ask())
    spec = build_spec(config, input_shape=(8, 8, 1), n_outputs=10, problem_type="classification")
    assert spec.optimizer.name == "adam" and spec.optimizer.params == {"beta_1": 0.8}
    assert 0.001 <= spec.optimizer.learning_rate <= 0.01
    assert [layer.kind for layer in spec.layers][:2] == ["flatten", "dense"]
