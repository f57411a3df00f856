"""End to end through the Python API: real Keras training, real Optuna SQLite, real MLflow store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

import automl
from automl.run.local_moves import proposed_by_sampler

SPACES = Path(__file__).parents[1] / "spaces"
N_TRIALS = 3


@pytest.fixture(scope="module")
def first_search(tmp_path_factory: pytest.TempPathFactory) -> automl.SearchResult:
    runs = tmp_path_factory.mktemp("e2e") / "runs"
    return automl.search(
        task="image",
        space=SPACES / "tiny_image.yaml",
        n_trials=N_TRIALS,
        n_splits=2,
        runs_dir=runs,
        seed=0,
        verbose=False,
    )


def _runs(result: automl.SearchResult) -> list[mlflow.entities.Run]:
    return MlflowClient(result.tracking_uri).search_runs([result.experiment_id], max_results=1000)


def test_study_has_the_requested_trials(first_search: automl.SearchResult) -> None:
    storage = first_search.study._storage  # reopen the SQLite file through a fresh study object
    study = optuna.load_study(study_name=first_search.study.study_name, storage=storage)
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == N_TRIALS
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in study.trials)
    assert study.trials[0].params["architecture.family"] == "mlp"  # the space's defaults come first


def test_mlflow_has_one_parent_and_a_child_per_trial(first_search: automl.SearchResult) -> None:
    runs = _runs(first_search)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == first_search.parent_run_id]
    assert [p.info.run_id for p in parents] == [first_search.parent_run_id]
    assert len(children) == N_TRIALS
    assert {c.data.tags["optuna.trial_number"] for c in children} == {"0", "1", "2"}
    for child in children:
        assert child.info.status in ("FINISHED", "FAILED")
        assert child.data.tags["automl.state"] in ("COMPLETE", "PRUNED", "FAIL")
        assert child.data.tags["automl.backend"] == "keras"
        assert "duration_s" in child.data.metrics
        assert "architecture.family" in child.data.params
        if child.data.tags["automl.state"] == "COMPLETE":
            assert {"fold_0.accuracy", "fold_1.accuracy", "score", "score_std"} <= set(child.data.metrics)


def test_epoch_curves_are_logged_with_epoch_steps(first_search: automl.SearchResult) -> None:
    child = next(r for r in _runs(first_search) if r.data.tags.get("automl.state") == "COMPLETE")
    history = MlflowClient(first_search.tracking_uri).get_metric_history(child.info.run_id, "fold_0.val_loss")
    assert [m.step for m in history][:2] == [1, 2]


def test_parent_run_holds_the_search_artifacts(first_search: automl.SearchResult) -> None:
    client = MlflowClient(first_search.tracking_uri)
    names = {a.path for a in client.list_artifacts(first_search.parent_run_id)}
    assert {
        "leaderboard.csv",
        "report.html",
        "search_config.json",
        "data_summary.json",
        "search_space.yaml",
        "best_config.json",
    } <= names
    parent = client.get_run(first_search.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert "best_accuracy" in parent.data.metrics


def test_report_summarises_the_search(first_search: automl.SearchResult, tmp_path: Path) -> None:
    path = MlflowClient(first_search.tracking_uri).download_artifacts(
        first_search.parent_run_id, "report.html", str(tmp_path)
    )
    text = Path(path).read_text(encoding="utf-8")
    assert f"Search report: {first_search.study.study_name}" in text
    assert f"{first_search.best_score:.4f} ± {first_search.best_score_std:.4f}" in text
    assert "Leaderboard (top 3 of 3 finished trials)" in text
    assert "Optimization history" in text and "plotly" in text


def test_logged_model_loads_through_pyfunc_and_predicts(first_search: automl.SearchResult) -> None:
    X, y = load_digits(return_X_y=True)
    mlflow.set_tracking_uri(first_search.tracking_uri)
    model = mlflow.pyfunc.load_model(first_search.model_uri)
    predictions = np.asarray(model.predict((X[:50] / 16.0).astype("float32")))
    assert predictions.shape == (50,)
    assert set(predictions) <= set(range(10))
    assert (predictions == y[:50]).mean() > 0.5  # trained on digits, far above chance (0.1)


def test_result_exposes_best_params_leaderboard_and_model(first_search: automl.SearchResult) -> None:
    board = first_search.leaderboard
    assert len(board) == N_TRIALS
    assert board.iloc[0]["state"] == "COMPLETE"
    assert first_search.best_score == pytest.approx(board.iloc[0]["score"])
    assert "architecture.family" in first_search.best_params
    assert first_search.predict(load_digits().images[:3] / 16.0).shape == (3,)


def test_after_the_samplers_proposal_comes_a_local_move_of_the_best(first_search: automl.SearchResult) -> None:
    defaults, proposed, moved = first_search.study.trials[:3]
    assert not proposed_by_sampler(defaults) and proposed_by_sampler(proposed) and not proposed_by_sampler(moved)
    complete = [t for t in (defaults, proposed) if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(complete, key=lambda t: (t.value, -t.number))
    assert moved.user_attrs["moved_from"] == best.number
    name = moved.user_attrs["move"].split(": ")[0]
    assert moved.params[name] != best.params[name]
    assert all(moved.params[key] == best.params[key] for key in set(moved.params) & set(best.params) - {name})
    (run,) = [r for r in _runs(first_search) if r.data.tags.get("optuna.trial_number") == "2"]
    assert run.data.tags["automl.move"] == f"from trial {best.number}: {moved.user_attrs['move']}"
    assert first_search.leaderboard.set_index("trial").loc[2, "moved_from"] == best.number


def test_same_call_resumes_the_study(first_search: automl.SearchResult) -> None:
    runs_dir = first_search.storage.removeprefix("sqlite:///").rsplit("/", 1)[0]
    again = automl.search(
        task="image",
        space=SPACES / "tiny_image.yaml",
        n_trials=N_TRIALS + 1,
        n_splits=2,
        runs_dir=runs_dir,
        seed=0,
        verbose=False,
        refit=False,
    )
    assert again.study.study_name == first_search.study.study_name
    assert len([t for t in again.study.trials if t.state.is_finished()]) == N_TRIALS + 1
    parents = [r for r in _runs(again) if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 2
