"""The tracking relay: a worker's trial logging written by the parent into a real MLflow SQLite store."""

from __future__ import annotations

import multiprocessing.connection
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from automl.tracking.relay import ADDRESS_ENV, KEY_ENV, RemoteTracker, TrackerRelay
from automl.tracking.tracker import Tracker
from automl.trial.outcome import TrialLost


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerRelay]:
    tmp_path = tmp_path_factory.mktemp("relay")
    tracker = Tracker(f"sqlite:///{tmp_path}/mlflow.db", "relayed", artifact_root=tmp_path / "artifacts")
    tracker.start_search("search", {"n_trials": 2}, tags={})
    relay = TrackerRelay(tracker)
    yield relay
    relay.close()


def test_trial_runs_go_through_the_parent(relay: TrackerRelay, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in relay.environment().items():
        monkeypatch.setenv(name, value)
    remote = RemoteTracker.from_environment(tracking_uri="sqlite:///x", trial_tags={"automl.worker": "w7"})
    assert remote is not None
    finished = remote.start_trial(0, {"optimizer": {"name": "adam"}}, tags={"automl.device": "cpu"})
    remote.end_trial(finished, "COMPLETE", {"score": 0.9}, {})
    lost = remote.start_trial(1, {"optimizer": {"name": "sgd"}}, tags={})
    remote.fail_run(lost, "worker w7 died (signal SIGKILL)")
    remote.fail_run(finished, "too late")  # an ended run is left as it is

    client = MlflowClient(relay.tracker.tracking_uri)
    done, failed = client.get_run(finished), client.get_run(lost)
    assert done.info.status == "FINISHED" and done.data.metrics["score"] == 0.9
    assert done.data.params["optimizer.name"] == "adam"
    assert done.data.tags["automl.worker"] == "w7" and done.data.tags["mlflow.parentRunId"] == relay.tracker.parent_id
    assert done.data.tags["automl.host_pid"].endswith(f":{os.getpid()}")
    assert failed.info.status == "FAILED" and failed.data.tags["fail_reason"] == "worker w7 died (signal SIGKILL)"


def test_a_workers_fold_models_reach_its_trial_run(relay: TrackerRelay, tmp_path: Path) -> None:
    env = relay.environment()
    remote = RemoteTracker(env[ADDRESS_ENV], env[KEY_ENV], tracking_uri="sqlite:///x")
    run_id = remote.start_trial(2, {"optimizer": {"name": "adam"}}, tags={})
    (tmp_path / "saved" / "fold_0").mkdir(parents=True)
    (tmp_path / "saved" / "fold_0" / "automl.json").write_text("{}")
    remote.log_fold_models(run_id, str(tmp_path / "saved"))  # the worker's folder, read by the parent
    fetched = relay.tracker.download_fold_models(run_id, tmp_path / "fetched")
    assert fetched is not None and (fetched / "fold_0" / "automl.json").read_text() == "{}"
    assert relay.tracker.download_fold_models(remote.start_trial(3, {}, tags={}), tmp_path / "none") is None


def test_only_trial_methods_are_relayed(relay: TrackerRelay) -> None:
    env = relay.environment()
    remote = RemoteTracker(env[ADDRESS_ENV], env[KEY_ENV], tracking_uri="sqlite:///x")
    with pytest.raises(RuntimeError, match="'end_search' is not a relayed Tracker method"):
        remote._call("end_search", "FAILED")
    assert remote.start_trial(3, {}, tags={})  # the relay serves on after refusing


def test_a_wrong_key_is_refused(relay: TrackerRelay) -> None:
    host, port = relay.environment()[ADDRESS_ENV].split(":")
    with pytest.raises(multiprocessing.connection.AuthenticationError):
        multiprocessing.connection.Client((host, int(port)), authkey=b"guess")


def test_a_trial_that_starts_after_its_search_died_is_lost_not_failed(dying_relay) -> None:
    """The relay's process is killed after the worker connected: starting a trial raises
    ``TrialLost``, which no ``except Exception`` catches, so it is never charged to the configuration."""
    environment, relay_process = dying_relay
    remote = RemoteTracker(environment[ADDRESS_ENV], environment[KEY_ENV], tracking_uri="sqlite:///x")
    assert relay_process.wait(timeout=60) == -9  # SIGKILL, right after the connection
    with pytest.raises(TrialLost, match="lost: the search process this worker logs through is gone"):
        remote.start_trial(0, {"optimizer": {"name": "adam"}}, tags={})
    assert not issubclass(TrialLost, Exception)
