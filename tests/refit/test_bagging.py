"""``--final-model folds``: the best trials hand over their cross-validation's fold models, averaged,
instead of a refit (a real search on both backends, its MLflow store and its logged model)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.models import infer_signature
from sklearn.datasets import load_digits

import automl
from automl.model.params import count_params
from automl.names import TrialAttr
from automl.refit.bagging import load_bag
from automl.refit.fitted import FittedEnsemble, FittedModel, load_fitted
from automl.tracking.tracker import OUT_OF_FOLD_FILE, Tracker
from automl.trial.cv import make_splits

SPACES = Path(__file__).parents[1] / "spaces"
N_SPLITS = 3


@pytest.fixture(scope="module")
def bagged_search(tmp_path_factory: pytest.TempPathFactory) -> automl.SearchResult:
    X, y = load_digits(return_X_y=True)
    return automl.search(
        task="image",
        data=((X / 16.0).reshape(-1, 8, 8).astype(np.float32)[:450], y[:450]),
        space=SPACES / "tiny_image.yaml",
        backend="keras,mxnet",
        n_trials=4,
        n_splits=N_SPLITS,
        pruner="none",
        sampler="random",
        seed=1,
        ensemble_size=6,
        final_model="folds",
        portfolio=False,
        register=False,
        runs_dir=tmp_path_factory.mktemp("bagged") / "runs",
        verbose=False,
    )


def _kept_trials(result: automl.SearchResult) -> list:
    return [t for t in result.study.trials if t.user_attrs.get(TrialAttr.FOLD_MODELS)]


def test_each_kept_fold_model_is_the_one_its_fold_scored(bagged_search: automl.SearchResult, tmp_path: Path) -> None:
    """Fold k's saved model predicts fold k's validation rows as the trial's out-of-fold predictions say:
    the models kept are the trained ones (Keras: one model put back in each fold's state; MXNet: a
    model per fold)."""
    kept = _kept_trials(bagged_search)
    assert {t.user_attrs[TrialAttr.BACKEND] for t in kept} == {"keras", "mxnet"}
    dataset = bagged_search.dataset
    splits = make_splits(dataset, N_SPLITS, seed=1)
    client = mlflow.MlflowClient(bagged_search.tracking_uri)
    tracker = Tracker(bagged_search.tracking_uri, bagged_search.study.study_name)
    for trial in kept:
        run_id = trial.user_attrs[TrialAttr.MLFLOW_RUN_ID]
        out_of_fold = np.load(client.download_artifacts(run_id, OUT_OF_FOLD_FILE, str(tmp_path)))
        folder = tracker.download_fold_models(run_id, tmp_path / f"trial_{trial.number}")
        assert folder is not None
        bag = load_bag(folder, trial.number)
        assert len(bag.members) == N_SPLITS and bag.trials == [trial.number] * N_SPLITS
        for member, (_, valid) in zip(bag.members, splits, strict=True):
            assert isinstance(member, FittedModel)
            np.testing.assert_allclose(member.predict_proba(dataset.X[valid]), out_of_fold[valid], atol=1e-5)


def test_the_best_trial_is_its_fold_models_averaged(bagged_search: automl.SearchResult) -> None:
    best = bagged_search.best_single_model
    leader = max(
        (t for t in bagged_search.study.trials if t.values), key=lambda t: (t.values[0], -t.number)
    )  # the best trial: the first of the highest
    assert isinstance(best, FittedEnsemble) and best.trials == [leader.number] * N_SPLITS
    X = (load_digits().images[450:520] / 16.0).astype(np.float32)[..., None]
    mean = np.mean([m.predict_proba(X) for m in best.members], axis=0)
    np.testing.assert_allclose(best.predict_proba(X), mean, atol=1e-6)


def test_the_handed_over_model_saves_loads_and_serves_through_mlflow(
    bagged_search: automl.SearchResult, tmp_path: Path
) -> None:
    model = bagged_search.best_model
    assert isinstance(model, FittedEnsemble)
    X = (load_digits().images[450:520] / 16.0).astype(np.float32)[..., None]
    model.save(tmp_path / "saved")
    np.testing.assert_array_equal(load_fitted(tmp_path / "saved").predict(X), model.predict(X))
    served = mlflow.pyfunc.load_model(bagged_search.model_uri).predict(X.reshape(len(X), -1))
    np.testing.assert_array_equal(np.asarray(served), model.predict(X))
    # the output schema was inferred from one member's predictions: the whole ensemble's have it too
    logged = mlflow.models.get_model_info(bagged_search.model_uri).signature
    assert logged.outputs == infer_signature(X.reshape(len(X), -1), model.predict(X)).outputs


def test_a_search_with_a_constraint_hands_over_one_refit_model_that_meets_it(tmp_path: Path) -> None:
    """A constraint on a model cost holds for one model: the search keeps no fold models and hands
    over a single refit model, whose parameter count is the one the constraint checked."""
    X, y = load_digits(return_X_y=True)
    limit = 5000
    result = automl.search(
        task="image",
        data=((X / 16.0).reshape(-1, 8, 8).astype(np.float32)[:300], y[:300]),
        space=SPACES / "tiny_image.yaml",
        constraints=[f"n_params<={limit}"],
        n_trials=2,
        n_splits=2,
        pruner="none",
        ensemble_size=0,
        portfolio=False,
        register=False,
        runs_dir=tmp_path / "runs",
        verbose=False,
    )
    assert not _kept_trials(result)
    assert isinstance(result.best_model, FittedModel)
    assert count_params(result.best_model.spec, result.best_model.backend) <= limit
