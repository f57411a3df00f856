"""A trial that cannot train fails alone: the study finishes and says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

import automl

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
        verbose=False,
        refit=False,
    )
    states = {t.state for t in result.study.trials}
    assert states == {optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE}
    failed = [t for t in result.study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert all("cnn" in t.user_attrs["fail_reason"] for t in failed)
    runs = MlflowClient(result.tracking_uri).search_runs([result.experiment_id])
    failed_runs = [r for r in runs if r.data.tags.get("automl.state") == "FAIL"]
    assert len(failed_runs) == len(failed)
    assert all(r.info.status == "FAILED" and "image input" in r.data.tags["fail_reason"] for r in failed_runs)
    assert result.leaderboard["fail_reason"].notna().sum() == len(failed)
