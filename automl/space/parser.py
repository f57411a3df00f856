"""YAML search spaces: parse and validate a file (errors that point into it), load shipped spaces."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from automl.errors import SearchSpaceError, unknown
from automl.space.nodes import PARAM_TYPES, Branch, Fixed, Group, IntParam, Node, Repeat, SearchSpace
from automl.space.schema import check_space

TOP_LEVEL_KEYS = ("description", "task", "parameters")


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
    check_space(root, parser.error)
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
