"""`--timeout` is the search's time budget: a trial still training then is stopped, not waited for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

import automl

# The first trial (the defaults) trains 1 epoch; later ones may sample 400 epochs (minutes here).
SPACE = """
parameters:
  architecture: {family: {type: categorical, choices: {mlp: {n_layers: 1, layer: {repeat: n_layers, units: 16}}}}}
  optimizer: {name: {type: categorical, choices: {adam: {learning_rate: 0.001}}}}
  training:
    batch_size: 64
    epochs: {type: categorical, choices: [1, 400], default: 1}
    early_stopping_patience: 0
"""


def test_a_trial_running_at_the_timeout_is_stopped_once_one_trial_has_completed(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    X, y = load_digits(return_X_y=True)
    result = automl.search(
        task="image",
        data=(X[:300].astype(np.float32) / 16, y[:300]),
        space=space,
        timeout=15,
        n_splits=2,
        pruner="none",
        sampler="random",
        seed=1,
        runs_dir=tmp_path / "runs",
        refit=False,
        verbose=False,
    )
    trials = result.study.trials
    assert trials[0].state == optuna.trial.TrialState.COMPLETE  # the defaults: 1 epoch
    long_ones = [t for t in trials if t.params.get("training.epochs") == 400]
    assert long_ones, [t.params for t in trials]  # the random sampler drew 400 epochs before the deadline
    stopped = long_ones[-1]
    assert stopped.state == optuna.trial.TrialState.PRUNED
    assert "time budget" in stopped.user_attrs["stop_reason"]
    (run,) = MlflowClient(result.tracking_uri).search_runs(
        [result.experiment_id], filter_string=f"tags.optuna.trial_number = '{stopped.number}'"
    )
    assert run.data.tags["automl.state"] == "PRUNED" and "time budget" in run.data.tags["stop_reason"]
