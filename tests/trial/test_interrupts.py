"""A stop signal is never lost, even when Python drops the exception its handler raised."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

from automl.run.session import build_search_parts
from automl.run.settings import SearchSettings
from automl.tracking.tracker import Tracker
from automl.trial.interrupts import raise_if_interrupted, stop_on_signals
from automl.trial.objective import Objective
from automl.trial.outcome import INTERRUPTED
from automl.trial.progress import SearchProgress

CNN_ON_FLAT_ROWS = """
parameters:
  architecture: {family: {type: categorical, choices: {cnn: {n_blocks: 1, dense_units: 8}}}}
  optimizer: {name: {type: categorical, choices: {adam: {learning_rate: 0.01}}}}
  training: {epochs: 1, batch_size: 64}
"""


class _SignalledWhileFinalized:
    """Receives SIGTERM inside ``__del__``: Python prints "Exception ignored" and drops the KeyboardInterrupt."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler runs here, inside the finalizer


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception, on purpose
def test_a_signal_swallowed_by_a_finalizer_is_raised_at_the_next_boundary() -> None:
    with stop_on_signals():
        _SignalledWhileFinalized()  # collected at once: the handler's KeyboardInterrupt is dropped
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()


def test_no_signal_no_interrupt_and_the_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        raise_if_interrupted()  # nothing received: returns
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception, on purpose
def test_an_error_raised_after_a_signal_ends_the_trial_as_interrupted(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised inside C code can come back as another error (TensorFlow: SystemError):
    once a signal has arrived, the trial is recorded as interrupted and the search stops."""
    space = tmp_path / "space.yaml"
    space.write_text(CNN_ON_FLAT_ROWS)  # building the model fails: a cnn needs image input, digits rows are flat
    X, y = load_digits(return_X_y=True)
    config = SearchSettings(task="image", data=(X[:100].astype(np.float32), y[:100]), space=space, n_splits=2)
    parts = build_search_parts(config)
    tracker = Tracker(f"sqlite:///{tmp_path}/mlflow.db", "interrupts")
    tracker.start_search("search", {}, tags={})
    objective = Objective(
        space=parts.space,
        dataset=parts.dataset,
        backends=["keras"],
        splits=parts.splits,
        goals=parts.goals,
        tracker=tracker,
        epochs_per_fold=parts.epochs_per_fold,
        seed=0,
        progress=SearchProgress(n_trials=1, n_splits=2, metric=parts.metric.name, enabled=False),
    )
    study = optuna.create_study(direction="maximize")
    with stop_on_signals():
        _SignalledWhileFinalized()  # the signal arrives; its KeyboardInterrupt is dropped
        with pytest.raises(KeyboardInterrupt):
            study.optimize(objective, n_trials=1, catch=(Exception,))

    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs["fail_reason"] == INTERRUPTED
    run = MlflowClient(tracker.tracking_uri).get_run(trial.user_attrs["mlflow_run_id"])
    assert run.info.status == "FAILED" and run.data.tags["fail_reason"] == INTERRUPTED
