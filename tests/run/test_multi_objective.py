"""Multi-objective search end to end: accuracy and parameter count, a constraint, the front in the
leaderboard, the report, MLflow and `automl show`, and choosing a trial to export (real Keras and
MXNet training, real Optuna SQLite, real MLflow store)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient

import automl
from automl.backends import get_backend
from automl.errors import ConfigError
from automl.names import TrialAttr

SPACE = Path(__file__).parents[1] / "spaces" / "tiny_image.yaml"
LIMIT = 2000  # the space's default (an MLP of 32 units on 64 pixels: 2,410 parameters) breaks it


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> automl.SearchResult:
    runs = tmp_path_factory.mktemp("mo") / "runs"
    return automl.search(
        task="image",
        space=SPACE,
        metric=["accuracy", "n_params"],
        constraints=[f"n_params<={LIMIT}"],
        n_trials=8,
        n_splits=2,
        study_name="mo",
        runs_dir=runs,
        seed=0,
        verbose=False,
    )


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def test_the_study_has_two_objectives_and_keeps_the_constraint(result: automl.SearchResult) -> None:
    study = result.study
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["accuracy", "n_params"]
    complete = _complete(study)
    assert complete, "no trial completed"
    for trial in complete:
        assert trial.values[1] <= LIMIT and trial.user_attrs[TrialAttr.CONSTRAINTS][0] <= 0
    default = study.trials[0]  # the space's defaults come first: 2,410 parameters, rejected before training
    assert default.state == optuna.trial.TrialState.PRUNED
    assert default.user_attrs[TrialAttr.STOPPED_BY] == "constraint"
    assert default.user_attrs[TrialAttr.COSTS]["n_params"] == 2410
    assert default.user_attrs[TrialAttr.CONSTRAINTS] == [2410 - LIMIT]
    assert list(default.system_attrs["constraints"]) == [2410 - LIMIT]  # what Optuna's samplers read
    assert "breaks n_params<=2000" in default.user_attrs[TrialAttr.STOP_REASON]
    assert not default.user_attrs.get(TrialAttr.FOLD_SCORES)  # it never trained


def test_the_front_is_marked_everywhere(result: automl.SearchResult) -> None:
    study, board = result.study, result.leaderboard
    front = {t.number for t in study.best_trials}
    assert set(board.loc[board["pareto"] == True, "trial"]) == front  # noqa: E712
    assert set(result.pareto["trial"]) == front and "n_params" in result.pareto.columns
    assert result.best_score == max(t.values[0] for t in _complete(study))
    runs = MlflowClient(result.tracking_uri).search_runs([result.experiment_id], max_results=100)
    tags = {r.data.tags.get("optuna.trial_number"): r.data.tags.get("automl.pareto") for r in runs}
    for trial in _complete(study):
        assert tags[str(trial.number)] == str(trial.number in front).lower()
    parent = MlflowClient(result.tracking_uri).get_run(result.parent_run_id)
    assert parent.data.tags.get("automl.model_uri")  # the best on the first metric is refit
    client = MlflowClient(result.tracking_uri)
    report = Path(client.download_artifacts(result.parent_run_id, "report.html"))
    text = report.read_text()
    assert "Pareto front: accuracy and n_params" in text and f"Pareto front ({len(front)} trials)" in text


def test_show_lists_the_front_and_export_picks_a_trial(result: automl.SearchResult, tmp_path: Path) -> None:
    runs = Path(result.storage.removeprefix("sqlite:///")).parent
    shown = _automl("show", "mo", "--runs-dir", str(runs))
    assert shown.returncode == 0, shown.stderr[-2000:]
    front = sorted(t.number for t in result.study.best_trials)
    assert "Pareto front" in shown.stdout and all(f"trial {n}:" in shown.stdout for n in front)

    smallest = min(result.study.best_trials, key=lambda t: t.values[1])
    condition = f"n_params<={int(smallest.values[1])} and accuracy>=0"
    exported = _automl("export", "mo", "--out", str(tmp_path / "small"), "--pick", condition, "--runs-dir", str(runs))
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert f"trial {smallest.number} of mo" in exported.stdout
    costs = json.loads((tmp_path / "small" / "costs.json").read_text())
    assert costs["n_params"] == smallest.values[1] and costs["latency_ms"] > 0 and costs["model_bytes"] > 0
    predicted = _automl("predict", "--model", str(tmp_path / "small"), "--data", str(_digits(tmp_path)))
    assert predicted.returncode == 0 and len(predicted.stdout.split()) == 1 + 5

    pruned = result.study.trials[0].number
    refused = _automl("export", "mo", "--out", str(tmp_path / "no"), "--trial", str(pruned), "--runs-dir", str(runs))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"trial {pruned} is PRUNED" in refused.stderr and "breaks n_params<=2000" in refused.stderr
    nothing = _automl("export", "mo", "--out", str(tmp_path / "no"), "--pick", "accuracy>2", "--runs-dir", str(runs))
    assert nothing.returncode == 2 and "no completed trial meets 'accuracy>2'" in nothing.stderr
    bad = _automl("export", "mo", "--out", str(tmp_path / "no"), "--pick", "__import__('os')", "--runs-dir", str(runs))
    assert bad.returncode == 2 and "is not of the form NAME<=NUMBER" in bad.stderr


def test_pick_in_python_refits_the_chosen_trial(result: automl.SearchResult) -> None:
    smallest = min(result.study.best_trials, key=lambda t: t.values[1])
    model = result.pick(f"n_params<={int(smallest.values[1])}")
    assert get_backend(model.backend).count_params(model.model) == smallest.values[1]
    assert model.predict(np.zeros((3, 8, 8, 1), dtype=np.float32)).shape == (3,)
    with pytest.raises(ConfigError, match="no completed trial meets"):
        result.pick("n_params<1")


def test_costs_are_measured_on_both_backends(tmp_path: Path) -> None:
    done = automl.search(
        task="tabular",
        space=Path(__file__).parents[1] / "spaces" / "tiny_tabular.yaml",
        backend="keras,mxnet",
        metric="accuracy,latency_ms,model_bytes",
        n_trials=4,
        n_splits=2,
        refit=False,
        runs_dir=tmp_path / "runs",
        verbose=False,
    )
    measured = [t for t in done.study.trials if "latency_ms" in (t.user_attrs.get(TrialAttr.COSTS) or {})]
    assert {t.user_attrs[TrialAttr.BACKEND] for t in measured} == {"keras", "mxnet"}
    for trial in _complete(done.study):
        costs = trial.user_attrs[TrialAttr.COSTS]
        assert trial.values[1:] == [costs["latency_ms"], costs["model_bytes"]]
        assert costs["latency_ms"] > 0 and costs["model_bytes"] > 1000


def _automl(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line, run outside the source tree (``-m`` would import ./automl, not the install)."""
    return subprocess.run(
        [sys.executable, "-m", "automl.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tempfile.gettempdir(),
    )


def _digits(tmp_path: Path) -> Path:
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path / "five.npz"
    np.savez(path, x=(digits.images[:5] / 16.0)[..., None].astype(np.float32), y=digits.target[:5])
    return path
