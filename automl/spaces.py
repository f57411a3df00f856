"""YAML search spaces: parse and validate a file, then sample it with an Optuna trial.

A space file is a mapping with an optional ``description`` and ``task`` and a ``parameters``
tree. Inside the tree every value is one of:

* a plain value (number, string, bool, list) -- fixed, never searched;
* ``{type: int|float, low, high, step?, log?, default?}`` -- a numeric distribution;
* ``{type: categorical, choices: [..], default?}`` -- a categorical distribution;
* ``{type: categorical, choices: {a: {..}, b: {..}}, default?}`` -- a categorical whose
  choices carry conditional parameters, sampled only when that choice is drawn;
* ``{repeat: SIBLING, ...}`` -- a group sampled once per index up to the value of the
  sibling int parameter ``SIBLING`` (for example one ``filters`` per convolution block);
* ``{type: fixed, value: ..}`` -- a fixed value that is itself a mapping;
* any other mapping -- a nested group.

Optuna parameter names are the dotted key paths, with the choice in conditional branches
(``architecture.cnn.n_blocks``) and the index in repeated groups (``architecture.cnn.block.0.filters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import optuna
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from automl.errors import SearchSpaceError, unknown

TOP_LEVEL_KEYS = ("description", "task", "parameters")
Scalar = None | bool | int | float | str


# --------------------------------------------------------------------------- nodes
class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntParam(_Param):
    """An integer range, optionally on a log scale or with a step."""

    type: Literal["int"]
    low: int
    high: int
    step: int = 1
    log: bool = False
    default: int | None = None

    @model_validator(mode="after")
    def _check(self) -> IntParam:
        _check_range(self.low, self.high, self.log, self.step, self.default)
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    @property
    def upper(self) -> int:
        return self.high


class FloatParam(_Param):
    """A float range, optionally on a log scale or with a step."""

    type: Literal["float"]
    low: float
    high: float
    step: float | None = None
    log: bool = False
    default: float | None = None

    @model_validator(mode="after")
    def _check(self) -> FloatParam:
        if self.log and self.step is not None:  # Optuna's suggest_float rejects any step with log
            raise ValueError("step and log cannot be combined")
        _check_range(self.low, self.high, self.log, self.step, self.default)
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)

    @property
    def upper(self) -> float:
        return self.high


class CategoricalParam(_Param):
    """A choice among plain values."""

    type: Literal["categorical"]
    choices: list[Scalar]
    default: Scalar = None

    @model_validator(mode="after")
    def _check(self) -> CategoricalParam:
        if not self.choices:
            raise ValueError("choices must not be empty")
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise ValueError(f"choices must be distinct, got {self.choices}")
        if self.default is not None and self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of the choices {self.choices}")
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> Scalar:
        return trial.suggest_categorical(name, self.choices)

    @property
    def upper(self) -> Any:
        return max(self.choices)


Param = IntParam | FloatParam | CategoricalParam
PARAM_TYPES: dict[str, type[_Param]] = {
    "int": IntParam,
    "float": FloatParam,
    "categorical": CategoricalParam,
}


def _check_range(low: float, high: float, log: bool, step: float | None, default: float | None) -> None:
    if low > high:
        raise ValueError(f"low must be <= high, got low={low} > high={high}")
    if log and low <= 0:
        raise ValueError(f"a log range needs low > 0, got low={low}")
    if log and step not in (None, 1):
        raise ValueError("step and log cannot be combined")
    if step is not None and step <= 0:
        raise ValueError(f"step must be > 0, got {step}")
    if default is not None and not low <= default <= high:
        raise ValueError(f"default {default} is outside [{low}, {high}]")


@dataclass(frozen=True)
class Fixed:
    """A value that is never searched."""

    value: Any


@dataclass(frozen=True)
class Branch:
    """A categorical parameter whose choices carry their own conditional parameters."""

    branches: dict[str, Group]
    default: str | None = None


@dataclass(frozen=True)
class Repeat:
    """A group sampled once per index, ``count`` times (``count``: a sibling key)."""

    count: str
    group: Group


@dataclass(frozen=True)
class Group:
    """An ordered mapping of names to nodes."""

    children: dict[str, Node] = field(default_factory=dict)


Node = Fixed | Param | Branch | Repeat | Group


# --------------------------------------------------------------------------- space
@dataclass(frozen=True)
class SearchSpace:
    """A validated search space: ``sample(trial)`` returns a nested configuration dict."""

    root: Group
    source: str
    description: str = ""
    task: str | None = None

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """Suggest every active parameter with ``trial`` and return the nested configuration."""
        return _sample_group(self.root, "", trial)

    def defaults(self) -> dict[str, Any]:
        """Optuna parameters of the space's default configuration (empty when none is given)."""
        out: dict[str, Any] = {}
        _collect_defaults(self.root, "", out, {})
        return out

    def upper_bound(self, key_path: str) -> Any:
        """Largest value the (unconditional) parameter at ``key_path`` can take, or None."""
        node: Node = self.root
        for key in key_path.split("."):
            if not isinstance(node, Group) or key not in node.children:
                return None
            node = node.children[key]
        if isinstance(node, Fixed):
            return node.value
        return getattr(node, "upper", None)

    def n_params(self) -> int:
        """Number of searched parameters (all branches, one index of repeated groups)."""
        return _count_params(self.root)


def _sample_group(group: Group, prefix: str, trial: optuna.Trial) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, node in group.children.items():
        name = prefix + key
        if isinstance(node, Fixed):
            out[key] = node.value
        elif isinstance(node, Branch):
            choice = trial.suggest_categorical(name, list(node.branches))
            out[key] = choice
            out.update(_sample_group(node.branches[choice], f"{prefix}{choice}.", trial))
        elif isinstance(node, Repeat):
            out[key] = [_sample_group(node.group, f"{name}.{i}.", trial) for i in range(int(out[node.count]))]
        elif isinstance(node, Group):
            out[key] = _sample_group(node, name + ".", trial)
        else:
            out[key] = node.suggest(trial, name)
    return out


def _collect_defaults(group: Group, prefix: str, out: dict[str, Any], values: dict[str, Any]) -> None:
    for key, node in group.children.items():
        name = prefix + key
        if isinstance(node, Fixed):
            values[key] = node.value
        elif isinstance(node, Branch):
            if node.default is not None:
                out[name] = node.default
                _collect_defaults(node.branches[node.default], f"{prefix}{node.default}.", out, values)
        elif isinstance(node, Repeat):
            count = values.get(node.count)
            for i in range(int(count or 0)):
                _collect_defaults(node.group, f"{name}.{i}.", out, {})
        elif isinstance(node, Group):
            _collect_defaults(node, name + ".", out, {})
        elif node.default is not None:
            out[name] = values[key] = node.default


def _count_params(group: Group) -> int:
    total = 0
    for node in group.children.values():
        if isinstance(node, Branch):
            total += 1 + sum(_count_params(g) for g in node.branches.values())
        elif isinstance(node, Repeat):
            total += _count_params(node.group)
        elif isinstance(node, Group):
            total += _count_params(node)
        elif not isinstance(node, Fixed):
            total += 1
    return total


# --------------------------------------------------------------------------- loading
class _Parser:
    """Turns the YAML data of one file into nodes, raising errors that point into the file."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source, self.lines = source, lines

    def error(self, path: str, message: str) -> SearchSpaceError:
        line = self.lines.get(f"parameters.{path}", self.lines.get(path))  # paths are relative to 'parameters'
        return SearchSpaceError(self.source, path, message, line)

    def group(self, data: dict, path: str) -> Group:
        children: dict[str, Node] = {}
        for key, value in data.items():
            child_path = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str) or not key.isidentifier():
                raise self.error(child_path, f"parameter names must be identifiers, got {key!r}")
            if isinstance(value, dict) and "repeat" in value:
                children[key] = self.repeat(value, child_path, children)
            else:
                children[key] = self.node(value, child_path)
        for key, node in children.items():
            if isinstance(node, Branch):
                for choice, branch in node.branches.items():
                    clash = set(branch.children) & set(children)
                    if clash:
                        raise self.error(
                            f"{path}.{key}.choices.{choice}" if path else f"{key}.choices.{choice}",
                            f"conditional parameter(s) {sorted(clash)} clash with sibling keys",
                        )
        return Group(children)

    def repeat(self, data: dict, path: str, siblings: dict[str, Node]) -> Repeat:
        count = data["repeat"]
        node = siblings.get(count) if isinstance(count, str) else None
        ok = (isinstance(node, Fixed) and isinstance(node.value, int) and not isinstance(node.value, bool)) or (
            isinstance(node, IntParam)
        )
        if not ok:
            ints = [k for k, n in siblings.items() if isinstance(n, IntParam | Fixed)]
            raise self.error(
                f"{path}.repeat",
                f"'repeat' must name an int parameter defined above it in the same group, got {count!r}"
                + (f" (candidates: {', '.join(ints)})" if ints else ""),
            )
        rest = {k: v for k, v in data.items() if k != "repeat"}
        if not rest:
            raise self.error(path, "a repeated group needs at least one parameter besides 'repeat'")
        return Repeat(count, self.group(rest, path))

    def node(self, value: Any, path: str) -> Node:
        if not isinstance(value, dict):
            return Fixed(value)
        if "type" not in value:
            if not value:
                raise self.error(path, "an empty mapping is neither a parameter nor a group")
            return self.group(value, path)
        kind = value["type"]
        if kind == "fixed":
            extra = set(value) - {"type", "value"}
            if "value" not in value or extra:
                raise self.error(path, "a fixed parameter is {type: fixed, value: ...} and nothing else")
            return Fixed(value["value"])
        if kind == "categorical" and isinstance(value.get("choices"), dict):
            return self.branch(value, path)
        if not isinstance(kind, str) or kind not in PARAM_TYPES:
            allowed = [*PARAM_TYPES, "fixed"]
            raise self.error(
                f"{path}.type",
                unknown("parameter type", kind, allowed),
            )
        try:
            return PARAM_TYPES[kind](**value)
        except ValidationError as exc:
            raise self._pydantic_error(exc, path, PARAM_TYPES[kind]) from None
        except TypeError as exc:
            raise self.error(path, str(exc)) from None

    def branch(self, value: dict, path: str) -> Branch:
        extra = set(value) - {"type", "choices", "default"}
        if extra:
            raise self.error(
                f"{path}.{sorted(extra)[0]}", "a conditional categorical takes only: type, choices, default"
            )
        if not value["choices"]:
            raise self.error(f"{path}.choices", "choices must not be empty")
        branches: dict[str, Group] = {}
        for choice, sub in value["choices"].items():
            choice_path = f"{path}.choices.{choice}"
            if not isinstance(choice, str):
                raise self.error(choice_path, f"conditional choices must be names, got {choice!r}")
            if sub is None:
                branches[choice] = Group()
            elif isinstance(sub, dict):
                branches[choice] = self.group(sub, choice_path)
            else:
                raise self.error(choice_path, f"expected a mapping of parameters (or nothing), found {sub!r}")
        default = value.get("default")
        if default is not None and default not in branches:
            raise self.error(f"{path}.default", f"default {default!r} is not one of the choices {list(branches)}")
        return Branch(branches, default)

    def _pydantic_error(self, exc: ValidationError, path: str, model: type[BaseModel]) -> SearchSpaceError:
        errors = exc.errors()
        # a misspelt key also leaves its field missing: report the misspelling, with its did-you-mean
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{path}.{loc}" if loc else path
        if err["type"] == "extra_forbidden":
            allowed = list(model.model_fields)
            return self.error(
                where,
                unknown("key", err["loc"][-1], allowed),
            )
        found = f" (found {err['input']!r})" if loc and "input" in err else ""
        message = err["msg"].removeprefix("Value error, ")
        return self.error(where, f"{message}{found}")


def _line_map(text: str) -> dict[str, int]:
    """Map each dotted key path of a YAML document to its 1-based line number."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = f"{path}.{key_node.value}" if path else str(key_node.value)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, "")
    return lines


def parse_space(text: str, source: str = "<string>") -> SearchSpace:
    """Parse and validate the YAML text of a search space."""
    from automl.space_schema import check_space

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SearchSpaceError(source, "", f"malformed YAML: {problem}", mark.line + 1 if mark else None) from None
    if data is None:
        raise SearchSpaceError(source, "", "the file is empty; expected a mapping with a 'parameters' key")
    if not isinstance(data, dict):
        raise SearchSpaceError(source, "", f"expected a mapping with a 'parameters' key, found a {type(data).__name__}")
    parser = _Parser(source, _line_map(text))
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise parser.error(str(key), unknown("top-level key", key, TOP_LEVEL_KEYS))
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise parser.error("parameters", f"expected a non-empty mapping of parameters, found {params!r}")
    root = parser.group(params, "")
    check_space(root, parser)
    return SearchSpace(
        root=root, source=source, description=str(data.get("description") or "").strip(), task=data.get("task")
    )


def shipped_spaces() -> dict[str, Path]:
    """The search spaces that ship with automl (``search_spaces/*.yaml``), by name."""
    folder = resources.files("automl.search_spaces")
    return {
        Path(p.name).stem: Path(str(p))
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".yaml")
    }


def load_space(space: str | Path) -> SearchSpace:
    """Load a search space from a file path or the name of a shipped space (``image``, ...)."""
    path = Path(space)
    shipped = shipped_spaces()
    if not path.suffix and str(space) in shipped:
        path = shipped[str(space)]
    if not path.is_file():
        hint = f"; shipped spaces: {', '.join(shipped)}" if shipped else ""
        raise SearchSpaceError(str(space), "", f"no such search space file{hint}")
    return parse_space(path.read_text(encoding="utf-8"), source=str(path))
