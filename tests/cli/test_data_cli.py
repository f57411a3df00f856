"""The data flags of ``automl search``: each bad value is one line and exit code 2, before any training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from automl.cli import cli


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "animals.csv"
    pd.DataFrame({"size": np.arange(20.0), "species": ["cat", "dog"] * 10}).to_csv(path, index=False)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["search", *args])
    return result.exit_code, result.output


def test_help_lists_the_data_flags() -> None:
    code, output = run("--help")
    assert code == 0
    for flag in ("--target", "--text-column", "--objective", "--groups", "--image-size", "builtin:diabetes"):
        assert flag in output


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--target", "specie"], "no target column 'specie'; columns: ['size', 'species']. Did you mean 'species'?"),
        (["--target", "species", "--groups", "site"], "no groups column 'site'"),
        (["--target", "species", "--image-size", "big"], "image size 'big' is not N or WIDTHxHEIGHT"),
        (["--target", "species", "--image-size", "16"], "--image-size does not apply to CSV data"),
        (["--target", "species", "--objective", "regression"], "the target 'species' holds non-numeric values"),
        (["--target", "species", "--n-splits", "11"], "class 'cat' has 10 example(s), fewer than n_splits=11"),
    ],
)
def test_bad_data_flags(tmp_path: Path, csv: Path, flags: list[str], message: str) -> None:
    code, output = run("--task", "tabular", "--data", str(csv), "--runs-dir", str(tmp_path / "runs"), *flags)
    assert code == 2 and message in output and "Traceback" not in output


def test_unknown_objective_is_refused_by_the_flag(csv: Path) -> None:
    code, output = run("--task", "tabular", "--data", str(csv), "--objective", "regresion")
    assert code == 2 and "'regresion' is not one of 'classification', 'regression'" in output
