"""Which rows a refit trains on: image and tabular models hold 1/k out to stop on, text models
train on every row for the folds' mean best epoch count."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from automl.data import load_dataset
from automl.data.text import text_dataset
from automl.names import TrialAttr
from automl.refit.fitted import FittedEnsemble
from automl.refit.refit import refit_hold_out, refit_trial
from automl.space import load_space

WORDS = {0: "alpha beta gamma delta epsilon", 1: "red green blue yellow purple"}


def _texts(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    texts = [" ".join(rng.choice(WORDS[label].split(), size=6)) for label in labels]
    return np.asarray(texts, dtype=object), labels


def _trial(config: dict, best_epochs: list[int]) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        value=0.9,
        user_attrs={
            TrialAttr.CONFIG: config,
            TrialAttr.BACKEND: "keras",
            TrialAttr.FOLD_SCORES: [0.9] * len(best_epochs),
            TrialAttr.BEST_EPOCHS: best_epochs,
        },
    )


def test_image_and_tabular_refits_hold_out_one_fold_and_text_refits_hold_out_nothing() -> None:
    three_folds = _trial({}, [3, 3, 3])
    tabular = load_dataset("tabular", None)
    assert refit_hold_out(three_folds, tabular) == pytest.approx(1 / 3)
    assert refit_hold_out(_trial({}, []), tabular) == pytest.approx(1 / 5)  # no fold scores: k = 5
    assert refit_hold_out(three_folds, text_dataset(*_texts(60), name="texts")) == 0.0


def test_a_text_refit_trains_every_row_for_the_folds_mean_best_epoch_count() -> None:
    space = load_space("text")
    config = space.sample(optuna.trial.FixedTrial(space.defaults()))
    config["training"] |= {"batch_size": 12, "epochs": 10, "early_stopping_patience": 3}
    texts, labels = _texts(60)
    fitted = refit_trial(_trial(config, [4, 4, 5]), text_dataset(texts, labels, name="texts"), seed=0)
    assert fitted.spec.epochs == 4  # round(mean(4, 4, 5)), not an early-stopped count
    assert int(fitted.model.optimizer.iterations) == 4 * 60 // 12  # every row: 5 steps an epoch (48 held-in rows: 4)
    assert np.mean(fitted.predict(texts) == labels) > 0.5


def test_a_refit_of_several_models_averages_models_from_other_weights_and_other_held_out_rows() -> None:
    space = load_space("tabular")
    config = space.sample(optuna.trial.FixedTrial(space.defaults()))
    config["training"] |= {"epochs": 2, "early_stopping_patience": 1}
    dataset = load_dataset("tabular", None)
    trial = _trial(config, [2, 2, 2, 2, 2])
    one = refit_trial(trial, dataset, seed=3)
    three = refit_trial(trial, dataset, seed=3, models=3)
    assert isinstance(three, FittedEnsemble) and len(three.members) == 3
    assert three.weights == pytest.approx([1 / 3] * 3) and three.trials == [trial.number] * 3
    # the first model is the single refit's (same seed, same held-out rows); the others start elsewhere
    first, second, third = (m.model.get_weights()[0] for m in three.members)
    np.testing.assert_allclose(first, one.model.get_weights()[0])
    assert not np.allclose(first, second) and not np.allclose(second, third)
    X = dataset.X[:20]
    mean = np.mean([m.predict_proba(X) for m in three.members], axis=0)
    np.testing.assert_allclose(three.predict_proba(X), mean, rtol=1e-5)
