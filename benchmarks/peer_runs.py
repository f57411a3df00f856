"""One search of one tool on one seed, for `compare_peers.py` (each runs in its own process).

Every runner searches the training part for `budget` seconds (no trial starts after that; the peers
finish the one running then, automl stops it at its next epoch), refits the best configuration
on the whole training part and scores it on the test part. It returns a JSON-able record: trials
run and completed, the best search score (CV or validation accuracy), the test accuracy of the
refit best, the search and refit wall times, and the best-so-far search score over time (seconds
since the search started).
"""

from __future__ import annotations

import datetime
import tempfile
import time
from typing import Any

import numpy as np
from peer_space import BATCH_SIZE, MAX_EPOCHS, KerasTunerPicker, OptunaPicker, Split, build_model

AUTOML_FOLDS = 5  # automl's default
OPTUNA_FOLDS = 3
PATIENCE = 5  # early stopping on validation loss, as a user of either peer would add


def best_so_far(events: list[tuple[float, float]]) -> list[list[float]]:
    """[(seconds, score)] of finished trials -> [[seconds, best score so far]] at each improvement."""
    curve: list[list[float]] = []
    for seconds, score in sorted(events):
        if not curve or score > curve[-1][1]:
            curve.append([round(seconds, 2), float(score)])
    return curve


def _accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.asarray(predicted) == truth))


def run_automl(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """automl's Python API on the training part (its shipped space, 5-fold CV, Hyperband pruning)."""
    import optuna

    import automl
    from automl.backends import get_backend

    get_backend("keras")  # import TensorFlow before the clock starts, as the peers do
    with tempfile.TemporaryDirectory() as runs_dir:
        started, t0 = time.perf_counter(), datetime.datetime.now()
        result = automl.search(
            task=task,
            data=(split.X_train, split.y_train),
            timeout=budget,
            n_splits=AUTOML_FOLDS,
            seed=seed,
            runs_dir=runs_dir,
            verbose=False,
        )
        total = time.perf_counter() - started
        trials = result.study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        ends = [(t.datetime_complete - t0).total_seconds() for t in trials if t.datetime_complete]
        search_s = max(ends, default=total)  # the refit (and automl's report and model logging) comes after
        test_accuracy = _accuracy(result.predict(split.X_test), split.y_test)
        scored = time.perf_counter() - started
        return {
            "score_kind": f"{result.metric} ({AUTOML_FOLDS}-fold CV)",
            "trials_run": len(trials),
            "trials_completed": len(complete),
            "best_search_score": result.best_score,
            "test_accuracy": test_accuracy,
            "search_s": search_s,
            "refit_s": scored - search_s,
            "curve": best_so_far([((t.datetime_complete - t0).total_seconds(), t.value) for t in complete]),
        }


def run_kerastuner(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """KerasTuner Hyperband (max 27 epochs, factor 3) with a 20% validation split, stopped at the budget."""
    import keras
    import keras_tuner as kt

    keras.utils.set_random_seed(seed)
    input_shape, n_classes = split.X_train.shape[1:], split.n_classes
    events: list[tuple[float, float]] = []
    counts = {"run": 0, "completed": 0}

    class BudgetedHyperband(kt.Hyperband):
        """Hyperband that records each finished trial's time and best validation accuracy."""

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            counts["run"] += 1
            if trial.status == "COMPLETED" and trial.score is not None:
                counts["completed"] += 1
                events.append((time.perf_counter() - started, float(trial.score)))

    with tempfile.TemporaryDirectory() as directory:
        tuner = BudgetedHyperband(
            lambda hp: build_model(KerasTunerPicker(hp), task, input_shape, n_classes),
            objective="val_accuracy",
            max_epochs=MAX_EPOCHS,
            factor=3,
            hyperband_iterations=1000,  # the budget, not the bracket count, ends the search
            seed=seed,
            directory=directory,
            project_name="bench",
            overwrite=True,
        )
        populate = tuner.oracle.populate_space

        def populate_within_budget(trial_id: str) -> dict[str, Any]:
            if time.perf_counter() - started >= budget:
                return {"status": "STOPPED"}
            return populate(trial_id)

        tuner.oracle.populate_space = populate_within_budget
        started = time.perf_counter()
        tuner.search(
            split.X_train,
            split.y_train,
            validation_split=0.2,
            batch_size=BATCH_SIZE,
            callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=PATIENCE)],
            verbose=0,
        )
        search_s = time.perf_counter() - started
        best_trial = tuner.oracle.get_best_trials(1)[0]
        # KerasTuner's own tutorial: train the best hyperparameters for the full epochs on the
        # validation split to find the best epoch count, then retrain that long on all the data.
        keras.utils.set_random_seed(seed)
        model = build_model(KerasTunerPicker(best_trial.hyperparameters), task, input_shape, n_classes)
        history = model.fit(
            split.X_train,
            split.y_train,
            validation_split=0.2,
            epochs=MAX_EPOCHS,
            batch_size=BATCH_SIZE,
            callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=PATIENCE)],
            verbose=0,
        )
        epochs = int(np.argmax(history.history["val_accuracy"])) + 1
        keras.utils.set_random_seed(seed)
        model = build_model(KerasTunerPicker(best_trial.hyperparameters), task, input_shape, n_classes)
        model.fit(split.X_train, split.y_train, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
        test_accuracy = _accuracy(model.predict(split.X_test, verbose=0).argmax(axis=1), split.y_test)
        return {
            "score_kind": "validation accuracy (20% split)",
            "trials_run": counts["run"],
            "trials_completed": counts["completed"],
            "best_search_score": float(best_trial.score),
            "test_accuracy": test_accuracy,
            "search_s": search_s,
            "refit_s": time.perf_counter() - started - search_s,
            "curve": best_so_far(events),
        }


def run_optuna(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """A hand-written Optuna TPE study: 3-fold stratified CV, MedianPruner on a per-epoch report."""
    import keras
    import optuna
    from sklearn.model_selection import StratifiedKFold

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    input_shape, n_classes = split.X_train.shape[1:], split.n_classes
    folds = list(StratifiedKFold(OPTUNA_FOLDS, shuffle=True, random_state=seed).split(split.X_train, split.y_train))

    class ReportEpochs(keras.callbacks.Callback):
        """Report validation accuracy at step fold * MAX_EPOCHS + epoch; stop training when pruned."""

        def __init__(self, trial: optuna.Trial, fold: int) -> None:
            super().__init__()
            self.trial, self.fold, self.pruned = trial, fold, False

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self.trial.report(float((logs or {})["val_accuracy"]), self.fold * MAX_EPOCHS + epoch)
            if self.trial.should_prune():
                self.pruned, self.model.stop_training = True, True

    def objective(trial: optuna.Trial) -> float:
        scores, epochs = [], []
        for fold, (train, valid) in enumerate(folds):
            keras.backend.clear_session()
            model = build_model(OptunaPicker(trial), task, input_shape, n_classes)
            report = ReportEpochs(trial, fold)
            stop = keras.callbacks.EarlyStopping("val_loss", patience=PATIENCE, restore_best_weights=True)
            history = model.fit(
                split.X_train[train],
                split.y_train[train],
                validation_data=(split.X_train[valid], split.y_train[valid]),
                epochs=MAX_EPOCHS,
                batch_size=BATCH_SIZE,
                callbacks=[report, stop],
                verbose=0,
            )
            if report.pruned:
                raise optuna.TrialPruned()
            losses = history.history["val_loss"]
            epochs.append(int(np.argmin(losses)) + 1)
            scores.append(float(history.history["val_accuracy"][int(np.argmin(losses))]))
        trial.set_user_attr("epochs", epochs)
        return float(np.mean(scores))

    keras.utils.set_random_seed(seed)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.MedianPruner()
    )
    started, t0 = time.perf_counter(), datetime.datetime.now()
    study.optimize(objective, timeout=budget, gc_after_trial=True)
    search_s = time.perf_counter() - started
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise RuntimeError("the Optuna study completed no trial within the budget")
    best = study.best_trial
    keras.utils.set_random_seed(seed)
    model = build_model(OptunaPicker(optuna.trial.FixedTrial(best.params)), task, input_shape, n_classes)
    epochs = max(1, round(float(np.mean(best.user_attrs["epochs"]))))
    model.fit(split.X_train, split.y_train, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
    test_accuracy = _accuracy(model.predict(split.X_test, verbose=0).argmax(axis=1), split.y_test)
    return {
        "score_kind": f"accuracy ({OPTUNA_FOLDS}-fold CV)",
        "trials_run": len(study.trials),
        "trials_completed": len(complete),
        "best_search_score": float(best.value),
        "test_accuracy": test_accuracy,
        "search_s": search_s,
        "refit_s": time.perf_counter() - started - search_s,
        "curve": best_so_far([((t.datetime_complete - t0).total_seconds(), t.value) for t in complete]),
    }


def run_automl_half(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """automl with half the budget: does it reach the peers' full-budget test accuracy in half their time?"""
    return run_automl(task, split, seed, budget / 2)


RUNNERS = {"automl": run_automl, "automl-half": run_automl_half, "kerastuner": run_kerastuner, "optuna": run_optuna}
