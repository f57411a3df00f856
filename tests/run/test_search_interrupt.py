"""Stopping a search with real signals: nothing left RUNNING, and the same command resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient

from automl.run.budget import counts_toward_budget

SPACES = Path(__file__).parents[1] / "spaces"
STUDY = "image-digits-keras"


def _start(cwd: Path, n_trials: int) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "automl.cli",
        "search",
        "--n-trials",
        str(n_trials),
        "--n-splits",
        "2",
        "--space",
        str(SPACES / "tiny_image.yaml"),
        "--no-refit",
    ]
    return subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def _trials(cwd: Path) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=STUDY, storage=f"sqlite:///{cwd}/runs/optuna.db").trials
    except Exception:  # the study does not exist yet
        return []


def _wait_for_a_running_trial_after_a_finished_one(cwd: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        trials = _trials(cwd)
        finished = [t for t in trials if t.state.is_finished()]
        running = trials[-1] if trials else None
        if finished and running.state == optuna.trial.TrialState.RUNNING and "mlflow_run_id" in running.user_attrs:
            return
        assert process.poll() is None, process.communicate()[1][-2000:]
        time.sleep(0.2)
    raise AssertionError("the search never got to a second trial")


def test_sigterm_stops_cleanly_and_the_same_command_resumes(tmp_path: Path) -> None:
    process = _start(tmp_path, n_trials=200)
    _wait_for_a_running_trial_after_a_finished_one(tmp_path, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert "interrupted" in stderr and "run the same command again" in stderr and "Leaderboard" in stderr

    trials = _trials(tmp_path)
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in trials)
    interrupted = trials[-1]
    assert interrupted.state == optuna.trial.TrialState.FAIL
    assert "interrupted" in interrupted.user_attrs["fail_reason"]
    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name(STUDY).experiment_id])
    assert all(r.info.status != "RUNNING" for r in runs)
    assert {r.info.status for r in runs if "mlflow.parentRunId" not in r.data.tags} == {"KILLED"}

    resumed = _start(tmp_path, n_trials=len(trials) + 1)
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr[-2000:]
    assert f"({len(trials)} finished trial(s) so far)" in stderr
    assert len([t for t in _trials(tmp_path) if t.state.is_finished()]) == len(trials) + 1


def test_a_second_ctrl_c_exits_at_once(tmp_path: Path) -> None:
    process = _start(tmp_path, n_trials=200)
    _wait_for_a_running_trial_after_a_finished_one(tmp_path, process)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130


def test_a_search_killed_with_sigkill_fails_and_retries_its_running_trial_when_run_again(tmp_path: Path) -> None:
    process = _start(tmp_path, n_trials=3)
    _wait_for_a_running_trial_after_a_finished_one(tmp_path, process)
    process.kill()  # no handler runs: the trial stays RUNNING in the storage, its MLflow run too
    process.communicate(timeout=60)
    lost = _trials(tmp_path)[-1]
    assert lost.state == optuna.trial.TrialState.RUNNING

    resumed = _start(tmp_path, n_trials=3)
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr[-3000:]
    assert f"trial(s) {lost.number} were left running by a process that is gone" in " ".join(stderr.split())

    trials = _trials(tmp_path)
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in trials)
    assert trials[lost.number].state == optuna.trial.TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == lost.number]
    assert len(retries) == 1 and retries[0].params == lost.params and retries[0].state.is_finished()
    assert sum(counts_toward_budget(t) for t in trials) == 3
    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    lost_run = client.get_run(lost.user_attrs["mlflow_run_id"])
    assert lost_run.info.status == "FAILED"
