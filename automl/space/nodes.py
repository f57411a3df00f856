"""The nodes of a parsed search space, and ``SearchSpace``, which samples them with an Optuna trial.

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
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

if TYPE_CHECKING:
    import optuna

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

    def fit(self, value: Any) -> int:
        """``value`` clipped to the range, on its step."""
        clipped = min(max(float(value), self.low), self.high)
        return int(self.low + round((clipped - self.low) / self.step) * self.step)

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

    def fit(self, value: Any) -> float:
        """``value`` clipped to the range, on its step."""
        clipped = min(max(float(value), self.low), self.high)
        if self.step is None:
            return clipped
        return min(self.low + round((clipped - self.low) / self.step) * self.step, self.high)

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

    def parameters(self) -> dict[str, Param | Branch]:
        """Every Optuna parameter the space can suggest, by name (all branches, every repeat index)."""
        out: dict[str, Param | Branch] = {}
        _collect_parameters(self.root, "", out)
        return out

    def adapt(self, params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``params`` of another search made fit for this space: parameters it does not have are
        dropped, numbers outside a range are clipped (and put on its step), unknown choices dropped
        (the sampler draws them). Returns the parameters and one note per change."""
        nodes = self.parameters()
        kept: dict[str, Any] = {}
        notes: list[str] = []
        for name, value in params.items():
            node = nodes.get(name)
            if node is None:
                notes.append(f"dropped {name} (not in this space)")
            elif isinstance(node, Branch | CategoricalParam):
                choices = list(node.branches) if isinstance(node, Branch) else node.choices
                if value in choices:
                    kept[name] = value
                else:
                    notes.append(f"dropped {name}={value!r} (not one of {choices})")
            else:
                fitted = node.fit(value)
                if fitted != value:
                    notes.append(f"clipped {name} {value!r} -> {fitted!r}")
                kept[name] = fitted
        return kept, notes


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


def _collect_parameters(group: Group, prefix: str, out: dict[str, Param | Branch]) -> None:
    uppers: dict[str, Any] = {}
    for key, node in group.children.items():
        name = prefix + key
        if isinstance(node, Fixed):
            uppers[key] = node.value
        elif isinstance(node, Branch):
            out[name] = node
            for choice, branch in node.branches.items():
                _collect_parameters(branch, f"{prefix}{choice}.", out)
        elif isinstance(node, Repeat):
            for index in range(int(uppers.get(node.count) or 0)):
                _collect_parameters(node.group, f"{name}.{index}.", out)
        elif isinstance(node, Group):
            _collect_parameters(node, name + ".", out)
        else:
            out[name] = node
            uppers[key] = node.upper


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
