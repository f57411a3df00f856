"""YAML search spaces: parsing, error messages that point into the file, and sampling with Optuna."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import optuna
import pytest

from automl.errors import SearchSpaceError
from automl.model.architectures import build_spec
from automl.model.spec import ModelSpec
from automl.space import SearchSpace, load_space, parse_space, shipped_spaces
from automl.space.nodes import Branch, CategoricalParam, Fixed, FloatParam, Group, IntParam, Repeat
from automl.space.parser import _Parser

optuna.logging.set_verbosity(optuna.logging.WARNING)

# The smallest space the schema accepts; tests append their own parameters below it.
MINIMAL = """\
parameters:
  architecture:
    family: mlp
  optimizer:
    name: adam
"""


def write(tmp_path: Path, text: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> SearchSpaceError:
    path = write(tmp_path, text)
    with pytest.raises(SearchSpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert message.startswith(str(path)), message  # every error names the file first
    return info.value


def random_trials(n: int, seed: int = 0) -> tuple[optuna.Study, list[optuna.Trial]]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return study, [study.ask() for _ in range(n)]


@pytest.fixture(scope="module")
def image() -> SearchSpace:
    return load_space("image")


# --------------------------------------------------------------------------- loading
def test_shipped_spaces_include_image() -> None:
    spaces = shipped_spaces()
    assert "image" in spaces
    assert spaces["image"].suffix == ".yaml" and spaces["image"].is_file()


def test_load_space_by_name_and_by_path_agree(image: SearchSpace) -> None:
    by_path = load_space(shipped_spaces()["image"])
    assert by_path.root == image.root
    assert image.task == "image"
    assert image.description.startswith("MLP, CNN and residual CNN families")
    assert image.source == str(shipped_spaces()["image"])


def test_load_space_missing_file_lists_shipped_spaces(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SearchSpaceError) as info:
        load_space(missing)
    assert str(missing) in str(info.value)
    assert "no such search space file" in str(info.value)
    assert "image" in str(info.value)


def test_load_space_unknown_shipped_name() -> None:
    with pytest.raises(SearchSpaceError, match="no such search space file; shipped spaces: .*image"):
        load_space("imagenet")


def test_parse_space_default_source_and_optional_fields() -> None:
    space = parse_space(MINIMAL)
    assert space.source == "<string>"
    assert space.description == "" and space.task is None


def test_node_kinds_of_image_space(image: SearchSpace) -> None:
    root = image.root
    family = root.children["architecture"].children["family"]
    assert isinstance(family, Branch) and family.default == "cnn"
    assert set(family.branches) == {"mlp", "cnn", "resnet"}
    cnn = family.branches["cnn"]
    assert isinstance(cnn.children["n_blocks"], IntParam)
    block = cnn.children["block"]
    assert isinstance(block, Repeat) and block.count == "n_blocks"
    assert isinstance(block.group.children["filters"], IntParam) and block.group.children["filters"].log
    assert isinstance(block.group.children["kernel_size"], CategoricalParam)
    assert isinstance(root.children["activation"], CategoricalParam)
    dropout = root.children["regularization"].children["dropout"]
    assert isinstance(dropout, FloatParam) and dropout.step == pytest.approx(0.1)
    assert root.children["training"].children["early_stopping_patience"] == Fixed(3)


def test_fixed_values_plain_and_typed(tmp_path: Path) -> None:
    space = load_space(
        write(
            tmp_path,
            MINIMAL
            + """\
  training:
    epochs: 7
    batch_size: {type: fixed, value: 16}
""",
        )
    )
    training = space.root.children["training"].children
    assert training == {"epochs": Fixed(7), "batch_size": Fixed(16)}
    assert space.n_params() == 0
    assert space.sample(optuna.trial.FixedTrial({})) == {
        "architecture": {"family": "mlp"},
        "optimizer": {"name": "adam"},
        "training": {"epochs": 7, "batch_size": 16},
    }


def test_type_fixed_holds_a_mapping() -> None:
    parser = _Parser("x.yaml", {})
    assert parser.node({"type": "fixed", "value": {"a": 1, "type": "int"}}, "p") == Fixed({"a": 1, "type": "int"})
    assert parser.node([1, 2], "p") == Fixed([1, 2])
    assert isinstance(parser.node({"a": 1}, "p"), Group)


# --------------------------------------------------------------------------- counting and bounds
def test_n_params_counts_every_branch_and_one_repeat_index(image: SearchSpace) -> None:
    # family 1 + mlp 2 + cnn 6 + resnet 5, activation 1, optimizer 1 + 13 conditional, regularization 3
    # + augmentation 2, training 1
    assert image.n_params() == 35


def test_upper_bound(image: SearchSpace) -> None:
    assert image.upper_bound("training.epochs") == 25
    assert image.upper_bound("training.batch_size") == 64
    assert image.upper_bound("training.early_stopping_patience") == 3  # fixed
    assert image.upper_bound("regularization.dropout") == pytest.approx(0.5)
    assert image.upper_bound("architecture.family") is None  # conditional: no single bound
    assert image.upper_bound("training.nope") is None
    assert image.upper_bound("training.epochs.low") is None


# --------------------------------------------------------------------------- sampling
def test_every_sample_of_image_space_builds_a_valid_spec(image: SearchSpace) -> None:
    study, trials = random_trials(50)
    families, optimizers = set(), set()
    for trial in trials:
        config = image.sample(trial)
        spec = build_spec(config, input_shape=(8, 8, 1), n_outputs=10, problem_type="classification")
        assert isinstance(spec, ModelSpec)
        assert ModelSpec.from_dict(json.loads(spec.to_json())) == spec
        assert spec.layers[-1].kind in {"dense", "flatten", "global_pool2d", "dropout", "activation", "batch_norm"}
        assert 10 <= spec.epochs <= 30 and spec.epochs % 5 == 0
        assert spec.batch_size in (32, 64, 128)
        assert spec.early_stopping_patience == 3
        families.add(config["architecture"]["family"])
        optimizers.add(config["optimizer"]["name"])
        study.tell(trial, 0.0)
    assert families == {"mlp", "cnn", "resnet"}
    assert len(optimizers) >= 5  # 50 random trials reach most of the seven optimizers


def test_conditional_params_appear_only_in_their_branch(image: SearchSpace) -> None:
    _, trials = random_trials(50)
    seen_adam = seen_other = False
    for trial in trials:
        config = image.sample(trial)
        name = config["optimizer"]["name"]
        adam_params = {p for p in trial.params if p.startswith("optimizer.adam.")}
        other_branches = {p.split(".")[1] for p in trial.params if p.startswith("optimizer.") and p != "optimizer.name"}
        assert other_branches == {name}
        if name == "adam":
            seen_adam = True
            assert adam_params == {"optimizer.adam.learning_rate", "optimizer.adam.beta_1"}
            assert set(config["optimizer"]) == {"name", "learning_rate", "beta_1"}
        else:
            seen_other = True
            assert not adam_params
            assert "beta_1" not in config["optimizer"] or name == "nadam"
        family = config["architecture"]["family"]
        arch_branches = {p.split(".")[1] for p in trial.params if p.startswith("architecture.") and p.count(".") > 1}
        assert arch_branches == {family}
    assert seen_adam and seen_other


def test_repeat_groups_yield_one_dict_per_index(image: SearchSpace) -> None:
    _, trials = random_trials(40)
    counts = set()
    for trial in trials:
        arch = image.sample(trial)["architecture"]
        if arch["family"] == "cnn":
            n = arch["n_blocks"]
            assert len(arch["block"]) == n
            assert all(set(block) == {"filters", "kernel_size"} for block in arch["block"])
            for i, block in enumerate(arch["block"]):
                assert trial.params[f"architecture.cnn.block.{i}.filters"] == block["filters"]
                assert 16 <= block["filters"] <= 128
            assert f"architecture.cnn.block.{n}.filters" not in trial.params
        elif arch["family"] == "resnet":
            n = arch["n_stages"]
            assert [set(stage) for stage in arch["stage"]] == [{"filters", "blocks"}] * n
        else:
            n = arch["n_layers"]
            assert [set(layer) for layer in arch["layer"]] == [{"units"}] * n
            assert [trial.params[f"architecture.mlp.layer.{i}.units"] for i in range(n)] == [
                layer["units"] for layer in arch["layer"]
            ]
        counts.add(n)
    assert counts == {1, 2, 3}


def test_repeat_with_fixed_count(tmp_path: Path) -> None:
    space = load_space(
        write(
            tmp_path,
            """\
parameters:
  architecture:
    family:
      type: categorical
      choices:
        mlp:
          n_layers: 3
          layer:
            repeat: n_layers
            units: {type: int, low: 8, high: 64, step: 8}
  optimizer:
    name: adam
""",
        )
    )
    _, trials = random_trials(5)
    for trial in trials:
        layers = space.sample(trial)["architecture"]["layer"]
        assert len(layers) == 3
        assert all(layer["units"] % 8 == 0 and 8 <= layer["units"] <= 64 for layer in layers)


def test_defaults_enqueued_reproduce_the_defaults(image: SearchSpace) -> None:
    defaults = image.defaults()
    assert defaults["architecture.family"] == "cnn"
    assert defaults["architecture.cnn.n_blocks"] == 2
    assert {k for k in defaults if ".block." in k} == {
        "architecture.cnn.block.0.filters",
        "architecture.cnn.block.0.kernel_size",
        "architecture.cnn.block.1.filters",
        "architecture.cnn.block.1.kernel_size",
    }
    assert not any(k.startswith("architecture.mlp.") for k in defaults)  # other branches have no defaults
    assert defaults["optimizer.name"] == "adam"
    assert defaults["optimizer.adam.learning_rate"] == pytest.approx(2e-3)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(defaults)
    trial = study.ask()
    config = image.sample(trial)
    assert trial.params == defaults
    assert config == {
        "architecture": {
            "family": "cnn",
            "n_blocks": 2,
            "block": [{"filters": 32, "kernel_size": 3}, {"filters": 32, "kernel_size": 3}],
            "pooling": "max",
            "head": "flatten",
            "dense_units": 128,
        },
        "activation": "relu",
        "optimizer": {"name": "adam", "learning_rate": pytest.approx(2e-3), "beta_1": pytest.approx(0.9)},
        "regularization": {
            "dropout": pytest.approx(0.2),
            "l2": pytest.approx(1e-5),
            "batch_norm": False,
            "augmentation": {"shift": 0.0, "rotation": 0.0},
        },
        "training": {"batch_size": 64, "epochs": 25, "early_stopping_patience": 3},
    }


def test_defaults_empty_without_default_values() -> None:
    space = parse_space(MINIMAL + "  activation: {type: categorical, choices: [relu, elu]}\n")
    assert space.defaults() == {}


def test_sample_with_fixed_trial(image: SearchSpace) -> None:
    params = {
        "architecture.family": "mlp",
        "architecture.mlp.n_layers": 1,
        "architecture.mlp.layer.0.units": 64,
        "activation": "tanh",
        "optimizer.name": "momentum",
        "optimizer.momentum.learning_rate": 0.01,
        "optimizer.momentum.momentum": 0.8,
        "optimizer.momentum.nesterov": True,
        "regularization.dropout": 0.0,
        "regularization.l2": 1e-4,
        "regularization.batch_norm": True,
        "regularization.augmentation.flip": "none",
        "regularization.augmentation.shift": 0.0,
        "regularization.augmentation.rotation": 0.0,
        "training.batch_size": 32,
        "training.epochs": 10,
    }
    config = image.sample(optuna.trial.FixedTrial(params))
    assert config["architecture"] == {"family": "mlp", "n_layers": 1, "layer": [{"units": 64}]}
    assert config["optimizer"] == {"name": "momentum", "learning_rate": 0.01, "momentum": 0.8, "nesterov": True}


def test_int_step_and_float_log_are_honoured(tmp_path: Path) -> None:
    space = load_space(
        write(
            tmp_path,
            MINIMAL
            + """\
  training:
    epochs: {type: int, low: 10, high: 30, step: 5}
    batch_size: {type: int, low: 8, high: 512, log: true}
  regularization:
    l2: {type: float, low: 1.0e-6, high: 1.0e-2, log: true}
    dropout: {type: float, low: 0.0, high: 0.5, step: 0.25}
""",
        )
    )
    _, trials = random_trials(30)
    for trial in trials:
        config = space.sample(trial)
        assert config["training"]["epochs"] in (10, 15, 20, 25, 30)
        assert 8 <= config["training"]["batch_size"] <= 512
        assert 1e-6 <= config["regularization"]["l2"] <= 1e-2
        assert config["regularization"]["dropout"] in (0.0, 0.25, 0.5)
    distributions = trials[0].distributions
    assert distributions["training.batch_size"].log
    assert distributions["regularization.l2"].log
    assert distributions["training.epochs"].step == 5


def test_conditional_choice_without_parameters(tmp_path: Path) -> None:
    space = load_space(
        write(
            tmp_path,
            """\
parameters:
  architecture:
    family: mlp
  optimizer:
    name:
      type: categorical
      choices:
        sgd:
        adam:
          learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
""",
        )
    )
    assert space.root.children["optimizer"].children["name"].branches["sgd"] == Group()
    config = space.sample(optuna.trial.FixedTrial({"optimizer.name": "sgd"}))
    assert config["optimizer"] == {"name": "sgd"}


# --------------------------------------------------------------------------- errors
def test_error_unknown_activation_names_file_line_path_value_and_suggestion(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  activation: {type: categorical, choices: [relu, rleu]}\n")
    message = str(err)
    assert "activation" in message and "'rleu'" in message
    assert "Did you mean 'relu'?" in message
    assert "allowed: relu, elu, selu" in message
    assert "line 6" in message
    assert (err.path, err.line) == ("activation", 6)


def test_error_malformed_yaml_gives_line(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 5, high: [1}\n")
    assert "malformed YAML" in str(err)
    assert "line 7" in str(err)


def test_error_low_above_high(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 30, high: 10}\n")
    message = str(err)
    assert "training.epochs" in message and "line 7" in message
    assert "low must be <= high" in message and "low=30" in message and "high=10" in message


def test_error_log_range_with_low_zero(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  regularization:\n    l2: {type: float, low: 0, high: 0.1, log: true}\n")
    assert "regularization.l2" in str(err)
    assert "a log range needs low > 0, got low=0" in str(err)


def test_error_float_log_with_step(tmp_path: Path) -> None:
    # Optuna rejects step with log at sampling time: the space must be rejected when loaded
    err = load_error(
        tmp_path, MINIMAL + "  regularization:\n    l2: {type: float, low: 0.1, high: 1, log: true, step: 1}\n"
    )
    assert "regularization.l2" in str(err) and "step and log cannot be combined" in str(err)


def test_error_int_log_with_step(tmp_path: Path) -> None:
    err = load_error(
        tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 1, high: 100, log: true, step: 2}\n"
    )
    assert "step and log cannot be combined" in str(err)


def test_error_non_positive_step(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 1, high: 100, step: 0}\n")
    assert "step must be > 0, got 0" in str(err)


def test_error_misspelt_key_under_regularization(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  regularization:\n    dropuot: {type: float, low: 0.0, high: 0.5}\n")
    message = str(err)
    assert "regularization.dropuot" in message and "line 7" in message
    assert "unknown key 'dropuot'" in message
    assert "allowed: dropout, l1, l2, batch_norm, augmentation" in message
    assert "Did you mean 'dropout'?" in message


def test_error_misspelt_key_inside_a_parameter(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 1, hgh: 3}\n")
    message = str(err)
    assert "training.epochs.hgh" in message
    assert "unknown key 'hgh'" in message and "Did you mean 'high'?" in message


def test_error_missing_field_of_a_parameter(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 1}\n")
    assert "training.epochs.high" in str(err) and "Field required" in str(err)


def test_error_wrong_value_type_in_a_parameter(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 1, high: many}\n")
    assert "training.epochs.high" in str(err) and "'many'" in str(err)


def test_error_empty_file(tmp_path: Path) -> None:
    err = load_error(tmp_path, "")
    assert "the file is empty" in str(err) and "'parameters'" in str(err)


def test_error_comment_only_file(tmp_path: Path) -> None:
    assert "the file is empty" in str(load_error(tmp_path, "# nothing here\n"))


def test_error_file_is_a_list(tmp_path: Path) -> None:
    err = load_error(tmp_path, "- activation\n- optimizer\n")
    assert "expected a mapping with a 'parameters' key, found a list" in str(err)


def test_error_unknown_parameter_type(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  activation: {type: choice, choices: [relu]}\n")
    message = str(err)
    assert "activation.type" in message and "line 6" in message
    assert "unknown parameter type 'choice'" in message
    assert "allowed: int, float, categorical, fixed" in message


def test_error_unknown_parameter_type_did_you_mean(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  regularization:\n    l2: {type: flaot, low: 0.1, high: 1}\n")
    assert "Did you mean 'float'?" in str(err)


def test_error_parameter_type_that_is_not_a_string(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  regularization:\n    l2: {type: [float], low: 0.1, high: 1}\n")
    assert "unknown parameter type ['float']" in str(err)


def test_error_unknown_top_level_key(tmp_path: Path) -> None:
    err = load_error(tmp_path, "description: x\nparamters:\n  activation: relu\n")
    message = str(err)
    assert "unknown top-level key 'paramters'" in message and "Did you mean 'parameters'?" in message
    assert "line 2" in message


@pytest.mark.parametrize("body", ["parameters:\n", "parameters: {}\n", "parameters: [a, b]\n", "task: image\n"])
def test_error_parameters_missing_or_empty(tmp_path: Path, body: str) -> None:
    err = load_error(tmp_path, body)
    assert "at 'parameters'" in str(err) and "expected a non-empty mapping of parameters" in str(err)


def test_error_empty_categorical_choices(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  activation: {type: categorical, choices: []}\n")
    assert "activation" in str(err) and "choices must not be empty" in str(err)


def test_error_empty_conditional_choices(tmp_path: Path) -> None:
    text = "parameters:\n  architecture:\n    family: {type: categorical, choices: {}}\n  optimizer:\n    name: adam\n"
    err = load_error(tmp_path, text)
    assert "architecture.family.choices" in str(err) and "choices must not be empty" in str(err)


def test_error_duplicate_choices(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  activation: {type: categorical, choices: [relu, relu]}\n")
    assert "choices must be distinct" in str(err)


def test_error_categorical_default_not_a_choice(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  activation: {type: categorical, choices: [relu, elu], default: tanh}\n")
    assert "default 'tanh' is not one of the choices" in str(err)


def test_error_numeric_default_out_of_range(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: int, low: 1, high: 5, default: 9}\n")
    assert "training.epochs" in str(err) and "default 9 is outside [1, 5]" in str(err)


def test_error_conditional_default_not_a_choice(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family: {type: categorical, default: rnn, choices: {mlp: {n_layers: 1}}}
  optimizer:
    name: adam
"""
    err = load_error(tmp_path, text)
    assert "architecture.family.default" in str(err) and "default 'rnn' is not one of the choices ['mlp']" in str(err)


def test_error_conditional_categorical_with_extra_key(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family: {type: categorical, log: true, choices: {mlp: {n_layers: 1}}}
  optimizer:
    name: adam
"""
    err = load_error(tmp_path, text)
    assert "architecture.family.log" in str(err) and "takes only: type, choices, default" in str(err)


def test_error_conditional_choice_not_a_mapping(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family: {type: categorical, choices: {mlp: 3}}
  optimizer:
    name: adam
"""
    err = load_error(tmp_path, text)
    assert "architecture.family.choices.mlp" in str(err) and "expected a mapping of parameters" in str(err)
    assert "found 3" in str(err)


def test_error_conditional_param_clashes_with_sibling(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family: mlp
  optimizer:
    name:
      type: categorical
      choices:
        adam: {name: 3}
"""
    err = load_error(tmp_path, text)
    assert "optimizer.name.choices.adam" in str(err) and "clash with sibling keys" in str(err)


def test_error_repeat_names_no_int_sibling(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family:
      type: categorical
      choices:
        mlp:
          n_layers: {type: int, low: 1, high: 3}
          layer:
            repeat: n_layer
            units: 32
  optimizer:
    name: adam
"""
    err = load_error(tmp_path, text)
    message = str(err)
    assert "architecture.family.choices.mlp.layer.repeat" in message
    assert "'repeat' must name an int parameter" in message and "'n_layer'" in message
    assert "candidates: n_layers" in message


def test_error_repeat_count_defined_below(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family:
      type: categorical
      choices:
        mlp:
          layer:
            repeat: n_layers
            units: 32
          n_layers: 2
  optimizer:
    name: adam
"""
    assert "'repeat' must name an int parameter defined above it" in str(load_error(tmp_path, text))


def test_error_repeat_count_not_an_int(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family:
      type: categorical
      choices:
        mlp:
          n_layers: {type: float, low: 1, high: 3}
          layer:
            repeat: n_layers
            units: 32
  optimizer:
    name: adam
"""
    assert "'repeat' must name an int parameter" in str(load_error(tmp_path, text))


def test_error_repeat_without_parameters(tmp_path: Path) -> None:
    text = """\
parameters:
  architecture:
    family:
      type: categorical
      choices:
        mlp:
          n_layers: 2
          layer:
            repeat: n_layers
  optimizer:
    name: adam
"""
    err = load_error(tmp_path, text)
    assert "architecture.family.choices.mlp.layer" in str(err)
    assert "needs at least one parameter besides 'repeat'" in str(err)


@pytest.mark.parametrize("key", ["my-key", "1"])
def test_error_parameter_name_not_an_identifier(tmp_path: Path, key: str) -> None:
    err = load_error(tmp_path, MINIMAL + f"  {key}: 3\n")
    assert "parameter names must be identifiers" in str(err)


def test_error_empty_mapping(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  regularization: {}\n")
    assert "regularization" in str(err) and "an empty mapping is neither a parameter nor a group" in str(err)


def test_error_typed_fixed_with_extra_keys(tmp_path: Path) -> None:
    err = load_error(tmp_path, MINIMAL + "  training:\n    epochs: {type: fixed, value: 3, default: 3}\n")
    assert "training.epochs" in str(err) and "{type: fixed, value: ...}" in str(err)


def test_error_attributes() -> None:
    with pytest.raises(SearchSpaceError) as info:
        parse_space(MINIMAL + "  activation: rleu\n", source="mine.yaml")
    err = info.value
    assert err.source == "mine.yaml" and err.path == "activation" and err.line == 6
    assert str(err).startswith("mine.yaml, line 6, at 'activation': unknown activation 'rleu'")
    assert isinstance(err, ValueError)
