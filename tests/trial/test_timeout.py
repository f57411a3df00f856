"""`--timeout` is the search's time budget: a trial still training then is stopped, not waited for."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

import automl
from automl.run import budget
from automl.tracking.leaderboard import describe_outcomes, outcomes

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
    """... and when it was not behind the best trial then, a resumed search runs it to the end first."""
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    X, y = load_digits(return_X_y=True)
    search = dict(
        task="image",
        data=(X[:300].astype(np.float32) / 16, y[:300]),
        space=space,
        n_splits=2,
        pruner="none",
        sampler="random",
        seed=1,
        runs_dir=tmp_path / "runs",
        refit=False,
        verbose=False,
    )
    # the trials stop at 22.5 s: the defaults complete well before, however slow TF's import
    result = automl.search(timeout=30, **search)
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
    # tens of epochs in, it was ahead of the defaults' single epoch: worth running to the end
    assert stopped.user_attrs["promising"] is True and "a resumed search runs it" in stopped.user_attrs["stop_reason"]
    assert "1 promising but unfinished: the same command again" in describe_outcomes(outcomes(result.study))

    # the same search resumed (20 s, so its budget stops the 400 epochs again): the first trial it
    # runs completes the stopped one, before any new draw
    completion = automl.search(timeout=20, **search).study.trials[len(trials)]
    assert completion.user_attrs["completes"] == stopped.number and completion.params == stopped.params


FAST_SPACE = """
parameters:
  architecture:
    family:
      type: categorical
      choices: {mlp: {n_layers: 1, layer: {repeat: n_layers, units: {type: int, low: 4, high: 64}}}}
  optimizer: {name: {type: categorical, choices: {adam: {learning_rate: 0.001}}}}
  training: {batch_size: 64, epochs: 1, early_stopping_patience: 0}
"""


def test_trials_go_on_until_the_deadline_as_the_refit_estimate_moves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before any trial completes, the refit is guessed large (here 18 of 24 s: trials would stop
    6 s in); once fast trials complete, the estimate shrinks and the trials go on until the later
    deadline (at least 19 s in), instead of stopping at the first guess."""
    monkeypatch.setattr(budget, "FINISH_S", 2.0)
    monkeypatch.setattr(budget, "MAX_RESERVE", 0.75)
    monkeypatch.setattr(budget, "REFIT_SHARE_BEFORE_ANY", 1.0)
    space = tmp_path / "space.yaml"
    space.write_text(FAST_SPACE)
    X, y = load_digits(return_X_y=True)
    started = time.time()
    result = automl.search(
        task="image",
        data=(X[:200].astype(np.float32) / 16, y[:200]),
        space=space,
        timeout=24,
        n_trials=200,
        n_splits=2,
        pruner="none",
        sampler="random",
        ensemble_size=0,
        register=False,
        seed=0,
        runs_dir=tmp_path / "runs",
        verbose=False,
    )
    starts = sorted(t.datetime_start.timestamp() - started for t in result.study.trials if t.datetime_start)
    assert starts[-1] > 8.0, starts  # trials started after the first guess's deadline (6 s)
    assert result.model_uri is not None  # the refit still ran within the budget
