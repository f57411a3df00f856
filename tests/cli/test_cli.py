"""The ``automl`` command as a user runs it: a real process in an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

SPACES = Path(__file__).parents[1] / "spaces"


def automl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "automl.cli", *args]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"}
    )


def test_search_in_an_empty_folder_leaves_study_runs_and_model(tmp_path: Path) -> None:
    done = automl(
        "search",
        "--task",
        "image",
        "--n-trials",
        "2",
        "--n-splits",
        "2",
        "--space",
        str(SPACES / "tiny_image.yaml"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "Leaderboard" in output and "best accuracy" in output
    assert "runs/optuna.db" in output
    study = optuna.load_study(study_name="image-digits-keras", storage=f"sqlite:///{tmp_path}/runs/optuna.db")
    assert len([t for t in study.trials if t.state.is_finished()]) == 2
    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    experiment = client.get_experiment_by_name("image-digits-keras")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3  # one parent, two trials
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    shown = automl("show", "image-digits-keras", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Leaderboard" in shown.stdout and "best trial" in shown.stdout
    listed = automl("show", cwd=tmp_path)
    assert "image-digits-keras" in listed.stdout and "2 trials" in listed.stdout
    missing = automl("show", "image-digits-kras", cwd=tmp_path)
    assert missing.returncode == 2 and "Did you mean 'image-digits-keras'?" in missing.stderr

    exported = automl("export", "image-digits-keras", "--out", "best", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-2000:]
    # the best trial's 2 fold models, averaged (the default --final-model folds): ensemble.json and a folder each
    best = tmp_path / "best"
    assert (best / "ensemble.json").is_file() and (best / "member_1" / "automl.json").is_file()
    assert not (best / "member_2").exists()
    assert (best / "mlflow_model" / "MLmodel").is_file()
    X, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "new.npz", x=(X[:20] / 16.0).reshape(-1, 8, 8, 1))
    predicted = automl("predict", "--model", "best", "--data", "new.npz", "--out", "pred.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    labels = pd.read_csv(tmp_path / "pred.csv")["prediction"].to_numpy()
    assert len(labels) == 20 and (labels == y[:20]).mean() > 0.5


def test_spaces_lists_the_shipped_spaces(tmp_path: Path) -> None:
    done = automl("spaces", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("image")


def test_a_bad_space_file_gets_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "parameters:\n  activation: {type: categorical, choices: [relu, rleu]}\n"
        "  architecture: {family: mlp}\n  optimizer: {name: adam}\n"
    )
    for args in (("spaces", "validate", str(bad)), ("search", "--space", str(bad))):
        done = automl(*args, cwd=tmp_path)
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert "bad.yaml, line 2, at 'activation'" in done.stderr
        assert "'rleu'" in done.stderr and "Did you mean 'relu'?" in done.stderr
    assert not (tmp_path / "runs").exists()  # rejected before any study or run was created


def test_valid_space_file_is_accepted(tmp_path: Path) -> None:
    done = automl("spaces", "validate", str(SPACES / "tiny_image.yaml"), cwd=tmp_path)
    assert done.returncode == 0
    assert "valid" in done.stdout


def test_bad_flags_get_one_clear_line(tmp_path: Path) -> None:
    cases = {
        ("--n-splits", "1"): "n_splits must be an int >= 2, got 1",
        ("--backend", "kears"): "Did you mean 'keras'?",
        ("--sampler", "tpee"): "Did you mean 'tpe'?",
        ("--n-trials", "-3"): "n_trials must be a positive int, got -3",
    }
    for flags, message in cases.items():
        done = automl("search", *flags, cwd=tmp_path)
        assert done.returncode == 2, flags
        assert message in done.stderr
        assert "Traceback" not in done.stderr


def test_spaces_check_trains_draws_and_says_whether_the_space_is_healthy(tmp_path: Path) -> None:
    done = automl("spaces", "check", str(SPACES / "tiny_tabular.yaml"), "--draws", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "accuracy on fold 1, chance 0.6" in done.stdout and "draw   2" in done.stdout
    assert "healthy: 0% of the draws ended at chance" in done.stdout
