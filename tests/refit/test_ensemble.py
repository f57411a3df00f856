"""Ensemble selection on out-of-fold predictions (Caruana et al., with replacement), its
bootstrap-corrected score and the gate that hands it over only when it wins most bootstrap rounds;
then an ensemble made by a real search, logged, exported and served."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss

import automl
from automl.data import Dataset
from automl.names import TrialAttr
from automl.refit.ensemble import EnsembleChoice, _scores, choose_ensemble
from automl.refit.export import export_fitted
from automl.refit.fitted import FittedEnsemble, FittedModel, load_fitted
from automl.refit.refit import FinalModel, refit_final
from automl.run.search import _ensemble_summary
from automl.tracking.tracker import Tracker
from automl.trial.metrics import get_metric

SPACES = Path(__file__).parents[1] / "spaces"
ACCURACY = get_metric("accuracy", "classification")


def _complementary(n: int = 300, seed: int = 0) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Three models of 3 classes: two right on different halves of the rows, one poor everywhere."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    truth = np.eye(3)[y]
    noise = rng.dirichlet(np.ones(3), n)
    first = np.where((np.arange(n) < n // 2)[:, None], 0.6 * truth + 0.4 * noise, noise)
    second = np.where((np.arange(n) >= n // 2)[:, None], 0.6 * truth + 0.4 * noise, noise)
    poor = rng.dirichlet(np.ones(3), n)
    return y, {3: first, 7: second, 9: poor}


def test_selection_mixes_complementary_trials_and_beats_the_best_alone() -> None:
    y, predictions = _complementary()
    choice = choose_ensemble(predictions, y, ACCURACY, size=10)
    assert set(choice.counts) >= {3, 7} and sum(choice.counts.values()) == 10
    assert choice.weights[3] > choice.weights.get(9, 0) and abs(sum(choice.weights.values()) - 1) < 1e-9
    assert choice.score > choice.best_single_score + 0.03
    assert choice.best_single in (3, 7)
    # chosen on these rows, the scores are optimistic; out of bag they are lower, and the ensemble still wins
    assert choice.corrected_score <= choice.score and choice.corrected_single_score <= choice.best_single_score + 0.02
    assert choice.corrected_score > choice.corrected_single_score
    assert choice.wins_most_rounds and choice.wins > 0.9


def _one_row_each(n: int = 300, seed: int = 0) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Two trials, right and sure on every row but one each: trial 1 unsure and wrong on row 0,
    trial 2 on row 1. Their average is right everywhere, better than either by one row."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    first, second = 0.8 * np.eye(3)[y] + 0.2 / 3, 0.8 * np.eye(3)[y] + 0.2 / 3
    for trial, row in ((first, 0), (second, 1)):
        trial[row] = 0.45 * np.eye(3)[(y[row] + 1) % 3] + 0.35 * np.eye(3)[y[row]] + 0.2 * np.eye(3)[(y[row] + 2) % 3]
    return y, {1: first, 2: second}


def test_an_ensemble_better_on_average_but_in_few_bootstrap_rounds_does_not_win_most() -> None:
    """The gain lives in two rows: out of bag the ensemble wins only the rounds that leave out the
    row its in-bag best trial gets wrong, and ties the rest; its mean gain is positive all the same."""
    y, predictions = _one_row_each()
    choice = choose_ensemble(predictions, y, ACCURACY, size=10)
    assert choice.score > choice.best_single_score and choice.corrected_score > choice.corrected_single_score
    assert 0 < choice.wins < 0.5 and not choice.wins_most_rounds


@pytest.mark.parametrize(("make", "handed_over"), [(_complementary, "ensemble"), (_one_row_each, "best")])
def test_the_final_model_is_the_ensemble_only_when_it_wins_most_bootstrap_rounds(make, handed_over: str) -> None:
    y, predictions = make()
    study = optuna.create_study(direction="maximize")
    bags, stored = {}, {}
    for number, (_, oof) in enumerate(sorted(predictions.items())):
        run_id = f"run-{number}"
        study.add_trial(
            optuna.trial.create_trial(
                value=float(_scores(ACCURACY, y, oof[None])[0]),
                user_attrs={TrialAttr.MLFLOW_RUN_ID: run_id, TrialAttr.FOLD_MODELS: True},
            )
        )
        bags[number] = FittedEnsemble([object()], [1.0], [number])  # type: ignore[list-item] - never predicts here
        stored[run_id] = oof
    dataset = Dataset("made-up", "tabular", np.zeros((len(y), 1)), y, "classification", classes=[0, 1, 2])
    final = refit_final(
        study,
        dataset,
        ACCURACY,
        seed=0,
        ensemble_size=10,
        load_out_of_fold=stored.get,
        seconds_left=lambda: None,
        load_bag=lambda trial: bags[trial.number],
    )
    assert final.choice is not None
    if handed_over == "ensemble":
        assert final.model is not final.best and len(final.model.members) >= 2
    else:
        assert final.model is final.best and "bootstrap rounds" in final.note


def test_one_pick_is_the_best_trial_alone() -> None:
    y, predictions = _complementary()
    choice = choose_ensemble(predictions, y, ACCURACY, size=1)
    assert list(choice.counts) == [choice.best_single] and choice.score == choice.best_single_score


def test_vectorised_scores_are_scikit_learns() -> None:
    y, predictions = _complementary()
    stack = np.stack(list(predictions.values()))
    assert _scores(ACCURACY, y, stack) == pytest.approx([accuracy_score(y, p.argmax(1)) for p in stack])
    rmse = get_metric("rmse", "regression")
    values = np.random.default_rng(1).normal(size=(3, 50))
    target = np.random.default_rng(2).normal(size=50)
    assert _scores(rmse, target, values) == pytest.approx([rmse.fn(target, v) for v in values])


def test_a_best_trial_alone_of_several_models_is_one_member_with_all_the_weight() -> None:
    """An averaged refit (or fold models) handed over alone is one trial in the ensemble summary."""
    averaged = FittedEnsemble([object(), object(), object()], [1 / 3] * 3, [4, 4, 4])  # type: ignore[list-item]
    choice = EnsembleChoice(Counter({4: 3, 2: 1}), 0.91, 4, 0.90, 0.89, 0.89, 0.4)
    summary = _ensemble_summary(FinalModel(averaged, averaged, choice, "the best trial alone scores as well"))
    assert summary is not None and summary["members"] == {"4": 1.0}
    assert summary["selection"] == {"4": 0.75, "2": 0.25}


@pytest.fixture(scope="module")
def ensemble_search(tmp_path_factory: pytest.TempPathFactory) -> automl.SearchResult:
    X, y = load_digits(return_X_y=True)
    return automl.search(
        task="image",
        data=((X / 16.0).reshape(-1, 8, 8).astype(np.float32)[:600], y[:600]),
        space=SPACES / "tiny_image.yaml",
        n_trials=6,
        n_splits=2,
        pruner="none",
        sampler="random",
        ensemble_size=8,
        runs_dir=tmp_path_factory.mktemp("ensemble") / "runs",
        verbose=False,
    )


def test_a_search_reports_its_ensemble_selection(ensemble_search: automl.SearchResult) -> None:
    summary = ensemble_search.ensemble
    assert summary is not None
    assert summary["ensemble_oof_score"] >= summary["best_single_oof_score"]
    # each completed trial keeps its out-of-fold log loss, which breaks ties of the best trial
    tracker = Tracker(ensemble_search.tracking_uri, ensemble_search.study.study_name)
    y = load_digits(return_X_y=True)[1][:600]
    for trial in ensemble_search.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        out_of_fold = tracker.load_out_of_fold(trial.user_attrs[TrialAttr.MLFLOW_RUN_ID])
        assert trial.user_attrs[TrialAttr.OUT_OF_FOLD_LOG_LOSS] == pytest.approx(log_loss(y, out_of_fold), rel=1e-5)
    assert set(summary) >= {"members", "selection", "ensemble_corrected_score", "best_single_corrected_score"}
    client = mlflow.MlflowClient(ensemble_search.tracking_uri)
    logged = json.loads(Path(client.download_artifacts(ensemble_search.parent_run_id, "ensemble.json")).read_text())
    assert logged["selection"] == summary["selection"]


def test_the_logged_model_is_the_chosen_model_and_predicts_through_mlflow(
    ensemble_search: automl.SearchResult, tmp_path: Path
) -> None:
    model = ensemble_search.best_model
    X = (load_digits().images[600:700] / 16.0).astype(np.float32)[..., None]
    assert isinstance(model, FittedEnsemble)  # seeded: trials 0, 2 and 5 mix better than trial 0 alone
    assert len(model.members) >= 2 and abs(sum(model.weights) - 1) < 1e-6
    assert ensemble_search.best_single_model in model.members
    mixed = sum(w * m.predict_proba(X) for m, w in zip(model.members, model.weights, strict=True))
    np.testing.assert_allclose(model.predict_proba(X), mixed, atol=1e-6)
    model.save(tmp_path / "saved")
    np.testing.assert_array_equal(load_fitted(tmp_path / "saved").predict(X), model.predict(X))
    served = mlflow.pyfunc.load_model(ensemble_search.model_uri).predict(X.reshape(len(X), -1))
    np.testing.assert_array_equal(np.asarray(served), model.predict(X))


def test_an_ensemble_exports_and_predicts_from_the_command_line(
    ensemble_search: automl.SearchResult, tmp_path: Path
) -> None:
    runs = Path(ensemble_search.tracking_uri.removeprefix("sqlite:///")).parent
    study = ensemble_search.study.study_name
    command = [sys.executable, "-m", "automl.cli"]
    exported = subprocess.run(
        [*command, "export", study, "--out", str(tmp_path / "best"), "--runs-dir", str(runs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    members = len(ensemble_search.best_model.members)
    assert f"{members} members in {tmp_path / 'best' / 'member_'}*" in exported.stdout
    X = (load_digits().images[600:650] / 16.0).astype(np.float32)
    np.savez(tmp_path / "new.npz", x=X)
    predicted = subprocess.run(
        [*command, "predict", "--model", str(tmp_path / "best"), "--data", str(tmp_path / "new.npz")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    labels = [int(v) for v in predicted.stdout.split()[1:]]
    assert labels == ensemble_search.best_model.predict(X[..., None]).tolist()


def test_a_single_model_exported_over_an_ensemble_replaces_it(
    ensemble_search: automl.SearchResult, tmp_path: Path
) -> None:
    ensemble = ensemble_search.best_model
    one = ensemble.leaves()[0]
    X = (load_digits().images[600:650] / 16.0).astype(np.float32)[..., None]
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "notes.txt").write_text("mine")
    export_fitted(ensemble, X[:5], tmp_path / "best", "the ensemble")
    written = export_fitted(one, X[:5], tmp_path / "best", "one fold model")
    assert written.layout().startswith(f"native model in {tmp_path / 'best' / 'native'}")
    assert not list((tmp_path / "best").glob("member_*")) and not (tmp_path / "best" / "ensemble.json").exists()
    assert (tmp_path / "best" / "notes.txt").read_text() == "mine"
    reloaded = load_fitted(tmp_path / "best")
    assert isinstance(reloaded, FittedModel)
    np.testing.assert_array_equal(reloaded.predict(X), one.predict(X))
    served = mlflow.pyfunc.load_model(str(tmp_path / "best" / "mlflow_model")).predict(X.reshape(len(X), -1))
    np.testing.assert_array_equal(np.asarray(served), one.predict(X))


def test_the_python_api_exports_the_final_model_or_a_chosen_trial(
    ensemble_search: automl.SearchResult, tmp_path: Path
) -> None:
    X = (load_digits().images[600:650] / 16.0).astype(np.float32)[..., None]
    written = ensemble_search.export(tmp_path / "final")
    assert written.model_uri == ensemble_search.model_uri
    assert set(written.costs) == {"n_params", "model_bytes", "latency_ms"}
    final = automl.load_model(tmp_path / "final")
    np.testing.assert_array_equal(final.predict(X), ensemble_search.best_model.predict(X))
    trial = ensemble_search.study.best_trial.number
    chosen = ensemble_search.export(tmp_path / "final", trial=trial)  # a refit of the best trial replaces it
    assert chosen.model_uri == f"trial {trial} of {ensemble_search.study.study_name}"
    refit = automl.load_model(tmp_path / "final")
    assert refit.predict(X).shape == (50,) and set(refit.predict(X)) <= set(range(10))
    assert len(list((tmp_path / "final").glob("member_*"))) == len(getattr(refit, "members", []))
