"""A trial that cannot train fails alone: the study finishes and says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

import automl
from automl.errors import EveryTrialFails
from automl.run.failfast import FAILURES_BEFORE_STOP

CNN_ONLY = """
parameters:
  architecture:
    family:
      type: categorical
      choices: {cnn: {n_blocks: 1, dense_units: 8}, mlp: {n_layers: 1}}
  optimizer: {name: {type: categorical, choices: {adam: {learning_rate: 0.01}}}}
  training: {epochs: 1, batch_size: 64}
"""


def test_failed_trials_are_recorded_and_the_study_goes_on(tmp_path: Path) -> None:
    space = tmp_path / "cnn.yaml"
    space.write_text(CNN_ONLY)
    X, y = load_digits(return_X_y=True)  # flat rows: the cnn family cannot build on them
    result = automl.search(
        task="image",
        data=(X[:300].astype(np.float32) / 16, y[:300]),
        space=space,
        n_trials=6,
        n_splits=2,
        runs_dir=tmp_path / "runs",
        sampler="random",
        pruner="none",  # every trial that builds completes: only the cnn ones fail
        verbose=False,
        refit=False,
    )
    states = {t.state for t in result.study.trials}
    assert states == {optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE}
    failed = [
        t for t in result.study.trials if t.state == optuna.trial.TrialState.FAIL and "duplicate_of" not in t.user_attrs
    ]  # this space has two configurations: the others are repeats, skipped before training
    assert failed and all("cnn" in t.user_attrs["fail_reason"] for t in failed)
    runs = MlflowClient(result.tracking_uri).search_runs([result.experiment_id])
    failed_runs = [r for r in runs if r.data.tags.get("automl.state") == "FAIL"]
    assert len(failed_runs) == len(failed)
    assert all(r.info.status == "FAILED" and "image input" in r.data.tags["fail_reason"] for r in failed_runs)
    assert result.leaderboard["fail_reason"].notna().sum() == len(failed)


def test_a_search_whose_every_trial_fails_stops_early_and_says_why(tmp_path: Path) -> None:
    space = tmp_path / "cnn.yaml"
    # every trial: a cnn on flat rows (many configurations: a repeat would be skipped, not failed)
    space.write_text(
        CNN_ONLY.replace(", mlp: {n_layers: 1}", "").replace(
            "dense_units: 8", "dense_units: {type: int, low: 4, high: 512}"
        )
    )
    X, y = load_digits(return_X_y=True)
    with pytest.raises(EveryTrialFails) as info:
        automl.search(
            task="image",
            data=(X[:200].astype(np.float32) / 16, y[:200]),
            space=space,
            n_trials=20,
            n_splits=2,
            runs_dir=tmp_path / "runs",
            verbose=False,
        )
    message = str(info.value)
    assert f"the first {FAILURES_BEFORE_STOP} trials all failed" in message
    assert "the 'cnn' family needs image input" in message and "fix the search space or the data" in message
    study = optuna.load_study(study_name="image-arrays-keras", storage=f"sqlite:///{tmp_path}/runs/optuna.db")
    assert len(study.trials) == FAILURES_BEFORE_STOP  # stopped early, not after the 20 trials asked for
