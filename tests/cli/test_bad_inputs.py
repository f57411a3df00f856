"""Every bad input a user can give gets one clear line and exit code 2, before any training.

Each case runs the real ``automl`` command (in-process, through click's runner) and checks what
the user reads: one ``error:`` line naming what is wrong, where, and what would be valid.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from automl.cli import cli

SPACES = Path(__file__).parents[1] / "spaces"
MINIMAL = "parameters:\n  architecture:\n    family: mlp\n  optimizer:\n    name: adam\n"


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run ``automl ARGS`` in ``tmp_path``; return the exit code and what it wrote to stderr."""
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


def assert_one_clear_line(code: int, stderr: str, *expected: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1, stderr
    for text in expected:
        assert text in errors[0], errors[0]


def space_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return str(path)


def search(tmp_path: Path, *args: str) -> tuple[int, str]:
    return run(tmp_path, "search", "--n-trials", "1", "--n-splits", "2", "--runs-dir", str(tmp_path / "runs"), *args)


# --------------------------------------------------------------------------- search spaces
SPACE_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "malformed YAML": (
        MINIMAL + "  training:\n    epochs: {type: int, low: 5, high: [1}\n",
        ("malformed YAML", "line 7"),
    ),
    "empty file": ("", ("the file is empty", "'parameters'")),
    "not a mapping": ("- activation\n- optimizer\n", ("expected a mapping with a 'parameters' key, found a list",)),
    "unknown key": (
        MINIMAL + "  regularization:\n    dropuot: {type: float, low: 0.0, high: 0.5}\n",
        ("line 7", "regularization.dropuot", "unknown key 'dropuot'", "Did you mean 'dropout'?"),
    ),
    "low above high": (
        MINIMAL + "  training:\n    epochs: {type: int, low: 30, high: 10}\n",
        ("training.epochs", "low must be <= high", "low=30", "high=10"),
    ),
    "log range with 0": (
        MINIMAL + "  regularization:\n    l2: {type: float, low: 0, high: 0.1, log: true}\n",
        ("regularization.l2", "a log range needs low > 0, got low=0"),
    ),
    "unknown activation": (
        MINIMAL + "  activation: {type: categorical, choices: [relu, rleu]}\n",
        ("line 6", "'rleu'", "Did you mean 'relu'?"),
    ),
    "unknown optimizer": (
        MINIMAL.replace("name: adam", "name: adma"),
        ("optimizer.name", "unknown optimizer 'adma'", "Did you mean 'adam'?"),
    ),
    "unknown architecture family": (
        MINIMAL.replace("family: mlp", "family: mpl"),
        ("architecture.family", "unknown architecture family 'mpl'", "Did you mean 'mlp'?"),
    ),
}


@pytest.mark.parametrize("case", SPACE_CASES)
def test_bad_space_file(tmp_path: Path, case: str) -> None:
    text, expected = SPACE_CASES[case]
    path = space_file(tmp_path, text)
    for args in (("spaces", "validate", path), ("search", "--space", path, "--runs-dir", str(tmp_path / "runs"))):
        assert_one_clear_line(*run(tmp_path, *args), "space.yaml", *expected)
    assert not (tmp_path / "runs").exists()  # rejected before any study or run was created


def test_missing_space_file_lists_the_shipped_spaces(tmp_path: Path) -> None:
    assert_one_clear_line(*search(tmp_path, "--space", "nowhere.yaml"), "nowhere.yaml", "image")


# --------------------------------------------------------------------------- flags
FLAG_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "unknown task": (("--task", "imgae"), ("'imgae' is not one of", "'image'")),
    "unknown backend": (("--backend", "kears"), ("unknown backend 'kears'", "Did you mean 'keras'?")),
    "unknown sampler": (("--sampler", "tpee"), ("unknown sampler 'tpee'", "Did you mean 'tpe'?")),
    "unknown pruner": (("--pruner", "hyperbnd"), ("unknown pruner 'hyperbnd'", "Did you mean 'hyperband'?")),
    "unknown metric": (("--metric", "accuray"), ("unknown metric 'accuray'", "Did you mean 'accuracy'?")),
    "metric of the other objective": (("--metric", "rmse"), ("unknown metric 'rmse'", "metrics for classification")),
    "one fold": (("--n-splits", "1"), ("n_splits must be an int >= 2, got 1",)),
    "negative n-trials": (("--n-trials", "-3"), ("n_trials must be a positive int, got -3",)),
    "zero timeout": (("--timeout", "0"), ("timeout must be a positive number of seconds, got 0",)),
}


@pytest.mark.parametrize("case", FLAG_CASES)
def test_bad_flag(tmp_path: Path, case: str) -> None:
    flags, expected = FLAG_CASES[case]
    code, stderr = run(tmp_path, "search", "--runs-dir", str(tmp_path / "runs"), *flags)
    assert_one_clear_line(code, stderr, *expected)


def test_unreachable_storage_is_said_before_training(tmp_path: Path) -> None:
    url = "postgresql://user:secret@127.0.0.1:9/nodb"
    code, stderr = search(tmp_path, "--space", str(SPACES / "tiny_image.yaml"), "--storage", url)
    assert_one_clear_line(code, stderr, "cannot open the Optuna storage", "user:***@127.0.0.1:9")
    assert "secret" not in stderr and "trial" not in stderr


def test_unreachable_tracking_server_is_said_before_training(tmp_path: Path) -> None:
    url = "http://user:secret@127.0.0.1:9"
    code, stderr = search(tmp_path, "--space", str(SPACES / "tiny_image.yaml"), "--tracking-uri", url)
    assert_one_clear_line(code, stderr, "cannot reach the MLflow tracking server", "user:***@127.0.0.1:9")
    assert "secret" not in stderr and "trial " not in stderr


# --------------------------------------------------------------------------- data
def _npz(tmp_path: Path, **arrays: np.ndarray) -> str:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return str(path)


def _images(n: int) -> np.ndarray:
    return np.random.default_rng(0).random((n, 8, 8)).astype(np.float32)


DATA_CASES: dict[str, tuple[Callable[[Path], str], tuple[str, ...]]] = {
    "missing path": (lambda p: str(p / "nothing.npz"), ("nothing.npz", "no such file or folder")),
    "npz without y": (lambda p: _npz(p, x=_images(10)), ("data.npz", "'x' and 'y'", "missing ['y']")),
    "one class": (lambda p: _npz(p, x=_images(10), y=np.zeros(10)), ("only one class", "at least two")),
    "fewer examples than folds": (
        lambda p: _npz(p, x=_images(11), y=np.array([0] * 10 + [1])),
        ("class 1 has 1 example(s), fewer than n_splits=2", "--n-splits"),
    ),
}


@pytest.mark.parametrize("case", DATA_CASES)
def test_bad_data(tmp_path: Path, case: str) -> None:
    make, expected = DATA_CASES[case]
    code, stderr = search(tmp_path, "--task", "image", "--data", make(tmp_path))
    assert_one_clear_line(code, stderr, *expected)


def test_empty_image_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    code, stderr = search(tmp_path, "--task", "image", "--data", str(tmp_path / "images"))
    assert_one_clear_line(code, stderr, "images: no class sub-folders", "one sub-folder per class")


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "table.csv"
    path.write_text(text)
    return str(path)


ROWS = "".join(f"{i},{i % 3},{'ab'[i % 2]}\n" for i in range(20))


def test_csv_without_the_target_column(tmp_path: Path) -> None:
    data = _csv(tmp_path, "size,colour,label\n" + ROWS)
    code, stderr = search(tmp_path, "--task", "tabular", "--data", data, "--target", "lable")
    assert_one_clear_line(code, stderr, "table.csv", "no target column 'lable'", "Did you mean 'label'?")


def test_csv_without_a_target_flag(tmp_path: Path) -> None:
    code, stderr = search(tmp_path, "--task", "tabular", "--data", _csv(tmp_path, "size,colour,label\n" + ROWS))
    assert_one_clear_line(code, stderr, "table.csv", "--target", "'size', 'colour', 'label'")


def test_ragged_csv(tmp_path: Path) -> None:
    data = _csv(tmp_path, "size,colour,label\n" + ROWS + "1,2,a,extra\n")
    code, stderr = search(tmp_path, "--task", "tabular", "--data", data, "--target", "label")
    assert_one_clear_line(code, stderr, "table.csv", "not a readable CSV file", "line 22")


def test_text_csv_without_the_text_column(tmp_path: Path) -> None:
    data = _csv(tmp_path, "review,label\n" + "".join(f"good film {i},{'ab'[i % 2]}\n" for i in range(20)))
    code, stderr = search(tmp_path, "--task", "text", "--data", data, "--text-column", "txt", "--target", "label")
    assert_one_clear_line(code, stderr, "table.csv", "'txt'", "review")
