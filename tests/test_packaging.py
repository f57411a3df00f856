"""The installed package is the whole package: every folder of code and the shipped spaces."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).parents[1]


def test_every_package_folder_is_listed_for_installation() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "automl").rglob("__init__.py")}
    assert found | {"automl.search_spaces"} == listed
