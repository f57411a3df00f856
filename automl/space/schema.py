"""What a search space may contain: the keys, names and ranges the model builder understands.

``check_space`` walks a parsed space beside this schema, so a misspelt key, an unknown
activation or optimizer, or an out-of-range value is reported at load time, before any
training, with the key path and the allowed values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automl.errors import SearchSpaceError, unknown
from automl.model.optimizers import ALIASES, LEARNING_RATE_RANGE, OPTIMIZERS, SPACE_CHOICES, Hyperparameter
from automl.model.spec import ACTIVATIONS, FLIPS, LOSS_NAMES
from automl.space.nodes import Branch, CategoricalParam, Fixed, FloatParam, Group, IntParam, Node, Repeat

ErrorAt = Callable[[str, str], SearchSpaceError]
"""``error(key_path, message)``: the error pointing at ``key_path`` of the file being checked."""


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of names."""

    values: tuple[Any, ...]
    what: str = "value"


@dataclass(frozen=True)
class Number:
    """A number in [low, high]; ``integer`` requires ints."""

    low: float
    high: float
    integer: bool = False


@dataclass(frozen=True)
class Tree:
    """A group of named entries; ``required`` keys must be present."""

    children: dict[str, SchemaNode]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Branches:
    """A categorical whose choices each allow their own conditional parameters."""

    branches: dict[str, Tree]
    what: str = "choice"


@dataclass(frozen=True)
class Repeated:
    """A group repeated once per index (``repeat:`` in the YAML)."""

    tree: Tree = field(default_factory=lambda: Tree({}))


SchemaNode = Choice | Number | Tree | Branches | Repeated

BOOL = Choice((True, False), "boolean")


def _hyperparameter(value: Hyperparameter) -> SchemaNode:
    return BOOL if value.is_flag else Number(value.low, value.high)


def _optimizer(name: str) -> Tree:
    params = OPTIMIZERS[ALIASES.get(name, (name, {}))[0]]
    return Tree({"learning_rate": Number(*LEARNING_RATE_RANGE), **{k: _hyperparameter(v) for k, v in params.items()}})


OPTIMIZER_CHOICES = Branches({name: _optimizer(name) for name in SPACE_CHOICES}, what="optimizer")
WIDTH = Number(1, 16384, integer=True)
EMBEDDING_DIM = Number(1, 4096, integer=True)  # token vectors of the text families (and of mlp on text)
SEQUENCE_HEAD = Choice(("global_avg", "global_max"), "head")
# A head may carry the family's batch_norm (e.g. global pooling only with batch norm).
IMAGE_HEAD = Branches({name: Tree({"batch_norm": BOOL}) for name in ("flatten", "global_avg", "global_max")}, "head")
ARCHITECTURES = Branches(
    {
        "mlp": Tree(
            {
                "n_layers": Number(0, 32, integer=True),  # 0: no hidden layer, a linear model
                "layer": Repeated(Tree({"units": WIDTH})),
                "embedding_dim": EMBEDDING_DIM,
                "batch_norm": BOOL,
            }
        ),
        "cnn": Tree(
            {
                "n_blocks": Number(1, 16, integer=True),
                "block": Repeated(
                    Tree(
                        {
                            "filters": WIDTH,
                            "kernel_size": Number(1, 15, integer=True),
                            "convs": Number(1, 8, integer=True),
                        }
                    )
                ),
                "pooling": Choice(("max", "avg", "none"), "pooling"),
                "head": IMAGE_HEAD,
                "dense_units": Number(0, 16384, integer=True),
                "batch_norm": BOOL,
            }
        ),
        "resnet": Tree(
            {
                "stem_filters": WIDTH,
                "n_stages": Number(1, 8, integer=True),
                "stage": Repeated(Tree({"filters": WIDTH, "blocks": Number(1, 16, integer=True)})),
                "kernel_size": Number(1, 15, integer=True),
                "head": Choice(("global_avg", "global_max"), "head"),
                "dense_units": Number(0, 16384, integer=True),
                "batch_norm": BOOL,
            }
        ),
        "text_cnn": Tree(
            {
                "embedding_dim": EMBEDDING_DIM,
                "n_blocks": Number(1, 16, integer=True),
                "block": Repeated(Tree({"filters": WIDTH, "kernel_size": Number(1, 15, integer=True)})),
                "pooling": Choice(("max", "avg", "none"), "pooling"),
                "head": SEQUENCE_HEAD,
                "dense_units": Number(0, 16384, integer=True),
            }
        ),
        "bag_of_words": Tree({"n_layers": Number(0, 8, integer=True), "layer": Repeated(Tree({"units": WIDTH}))}),
        "rnn": Tree(
            {
                "embedding_dim": EMBEDDING_DIM,
                "cell": Choice(("lstm", "gru"), "cell"),
                "bidirectional": BOOL,
                "n_layers": Number(1, 8, integer=True),
                "layer": Repeated(Tree({"units": WIDTH})),
                "head": Choice(("last", "global_avg", "global_max"), "head"),
                "dense_units": Number(0, 16384, integer=True),
            }
        ),
        "transformer": Tree(
            {
                "embedding_dim": EMBEDDING_DIM,
                "positional_embedding": BOOL,
                "n_blocks": Number(1, 16, integer=True),
                "heads": Number(1, 64, integer=True),
                "key_dim": Number(1, 1024, integer=True),
                "ff_units": WIDTH,
                "norm": Choice(("pre", "post"), "norm"),
                "head": SEQUENCE_HEAD,
                "dense_units": Number(0, 16384, integer=True),
            }
        ),
    },
    what="architecture family",
)
SCHEMA = Tree(
    {
        "architecture": Tree({"family": ARCHITECTURES}, required=("family",)),
        "activation": Choice(ACTIVATIONS, "activation"),
        "optimizer": Tree({"name": OPTIMIZER_CHOICES}, required=("name",)),
        "regularization": Tree(
            {
                "dropout": Number(0.0, 0.95),
                "l1": Number(0.0, 1.0),
                "l2": Number(0.0, 1.0),
                "batch_norm": BOOL,
                "augmentation": Tree(
                    {
                        "flip": Choice(FLIPS, "flip"),
                        "shift": Number(0.0, 0.3),  # fraction of the height/width
                        "rotation": Number(0.0, 0.5),  # fraction of a full turn, as Keras' RandomRotation
                    }
                ),
            }
        ),
        "training": Tree(
            {
                "batch_size": Number(1, 1 << 16, integer=True),
                "epochs": Number(1, 10_000, integer=True),
                "early_stopping_patience": Number(0, 10_000, integer=True),
                "class_weight": Choice(("none", "balanced"), "class weight"),  # classification only
                "loss": Choice(LOSS_NAMES, "loss"),  # which fit the problem type: checked by build_spec
            }
        ),
    },
    required=("architecture", "optimizer"),
)


def check_space(root: Node, error: ErrorAt, schema: Tree = SCHEMA) -> None:
    """Raise ``error(path, message)`` where the parsed space asks for something not in ``schema``."""
    _check(root, schema, "", error)


def _check(node: Node, schema: SchemaNode, path: str, error: ErrorAt) -> None:
    def fail(message: str, at: str = path) -> None:
        raise error(at, message)

    if isinstance(schema, Tree):
        if not isinstance(node, Group):
            fail(f"expected a group with keys {', '.join(schema.children)}, found {_describe(node)}")
        _check_tree(node.children, schema, path, error)
    elif isinstance(schema, Repeated):
        if not isinstance(node, Repeat):
            fail(f"expected a repeated group ('repeat: <count key>' plus parameters), found {_describe(node)}")
        _check_tree(node.group.children, schema.tree, path, error)
    elif isinstance(schema, Branches):
        allowed = list(schema.branches)
        if isinstance(node, Branch):
            for choice, group in node.branches.items():
                at = f"{path}.choices.{choice}"
                if choice not in schema.branches:
                    fail(unknown(schema.what, choice, allowed), at)
                _check_tree(group.children, schema.branches[choice], at, error)
        else:
            for value in _values(node, path, error):
                if value not in allowed:  # a list, not the dict: a fixed value may be unhashable
                    fail(unknown(schema.what, value, allowed))
    elif isinstance(schema, Choice):
        for value in _values(node, path, error):
            if value not in schema.values or isinstance(value, bool) != isinstance(schema.values[0], bool):
                fail(unknown(schema.what, value, schema.values))
    elif isinstance(schema, Number):
        kind = "an integer" if schema.integer else "a number"
        if isinstance(node, FloatParam) and schema.integer:
            fail("expected an integer parameter (type: int), found type: float")
        if isinstance(node, IntParam | FloatParam):
            values = [node.low, node.high]
        elif isinstance(node, CategoricalParam | Fixed):
            values = _values(node, path, error)
        else:
            fail(f"expected {kind}, found {_describe(node)}")
        for value in values:
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if not is_number or (schema.integer and not float(value).is_integer()):
                fail(f"expected {kind} in [{schema.low:g}, {schema.high:g}], found {value!r}")
            if not schema.low <= value <= schema.high:
                fail(f"value {value!r} is out of range; allowed: [{schema.low:g}, {schema.high:g}]")


def _check_tree(children: dict[str, Node], schema: Tree, path: str, error: ErrorAt) -> None:
    entries = dict(schema.children)
    for key, child in children.items():
        # A fixed choice (e.g. `name: adam`) takes its branch's parameters as siblings.
        branches = schema.children.get(key)
        fixed_choice = isinstance(child, Fixed) and isinstance(child.value, str)
        if isinstance(branches, Branches) and fixed_choice and child.value in branches.branches:
            entries.update(branches.branches[child.value].children)
    allowed = list(entries)
    for key in schema.required:
        if key not in children:
            raise error(path, f"missing required key {key!r}")
    for key, child in children.items():
        at = f"{path}.{key}" if path else key
        if key not in entries:
            raise error(at, unknown("key", key, allowed))
        _check(child, entries[key], at, error)


def _values(node: Node, path: str, error: ErrorAt) -> list[Any]:
    if isinstance(node, Fixed):
        return [node.value]
    if isinstance(node, CategoricalParam):
        return list(node.choices)
    raise error(path, f"expected a fixed value or a categorical parameter, found {_describe(node)}")


def _describe(node: Node) -> str:
    if isinstance(node, Fixed):
        return f"the value {node.value!r}"
    if isinstance(node, Group):
        return "a group"
    return f"a {type(node).__name__}"
