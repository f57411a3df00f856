"""One job of one tool on one seed, for `compare_peers.py` (each runs in its own process).

Every runner searches the training part of `peer_space.load_split(task)` within `budget` seconds,
hands over its final model (a refit on the whole training part, or automl's fold models) and
scores it on the test part. It returns a JSON-able
record: trials evaluated and completed, the best search score, the test accuracy, the job's wall
time (search + refit + scoring), and the best-so-far search score over time.

- `automl`: `automl.search(timeout=budget, final_model="refit")`: the budget covers search, refit and
  ensemble. (The refit was automl's default hand-over until fold models took its place; the tool
  keeps meaning the refit, so that every record of it measures the same thing.) The
  record holds the refit best trial's test accuracy (`test_accuracy`), the ensemble's
  (`ensemble_test_accuracy`, the same search), the first configuration's (`first_test_accuracy`:
  the space's defaults refit on the same data, outside the budget) and the share of search time
  spent on configurations that ended at chance. The shipped portfolio is off (it is chosen on
  these same data sets): automl starts from the space's defaults, as the peers do.
- `automl-folds`: the same search handing over its best trials' fold models averaged
  (`final_model="folds"`, automl's default, no refit); the record also holds the same best and first trials refit,
  outside the budget, for a comparison paired within one search.
- `automl-3-folds`, `automl-5-folds`: `automl-folds` over 3 folds or 5, without the refits beside
  (for `distorted-digits`, where they would take minutes): does breadth (3 folds: each trial about
  2 passes over the data instead of 4) beat the fold models' training on more rows?
- `automl-main`: the same call to the automl of commit 99e8542 (`--main-tree`), for the number of
  configurations it evaluates in the same time.
- `kerastuner`: KerasTuner 1.4.8 Hyperband over the same space (max epochs = the space's epoch
  ceiling, factor 3), 20% validation split; searches for the budget, then refits as its tutorial
  does (a validation run picks the epoch count).
- `optuna`: a hand-written Optuna script: TPE, the same 5-fold stratified CV, MedianPruner on the
  first fold's epochs, the space's defaults enqueued first; searches for the budget, refits the best
  for its folds' mean best epoch count.
"""

from __future__ import annotations

import datetime
import inspect
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from peer_space import KerasTunerTrial, Split, build_model, fit_settings, own_space_file, space_of

N_SPLITS = 5
VALIDATION_SPLIT = 0.2


def best_so_far(events: list[tuple[float, float]]) -> list[list[float]]:
    """[(seconds, score)] of finished trials -> [[seconds, best score so far]] at each improvement."""
    curve: list[list[float]] = []
    for seconds, score in sorted(events):
        if not curve or score > curve[-1][1]:
            curve.append([round(seconds, 2), float(score)])
    return curve


def _accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.asarray(predicted) == truth))


def _automl_data(split: Split, directory: str) -> tuple[Any, dict[str, Any]]:
    """What automl is given: arrays, or for text a CSV of the raw training texts."""
    if split.task != "text":
        return (split.raw_train, split.y_train), {}
    import pandas as pd

    path = f"{directory}/train.csv"
    pd.DataFrame({"text": split.raw_train, "label": split.y_train}).to_csv(path, index=False)
    return path, {}


def run_automl(
    task: str,
    split: Split,
    seed: int,
    budget: float,
    space: str | None = None,
    after: Callable[[Any, Split, int], dict[str, Any]] | None = None,
    n_splits: int = N_SPLITS,
    refit_first: bool = True,
    **settings: Any,
) -> dict[str, Any]:
    """automl's Python API on the training part: its shipped space, ``n_splits``-fold CV, racing,
    ensemble (and any other ``settings``); ``after(result, split, seed)`` adds to the record, outside
    the budget, and so does the first configuration refit unless ``refit_first`` is False."""
    import optuna

    import automl
    from automl.backends import get_backend

    get_backend("keras")  # import TensorFlow before the clock starts, as the peers do
    with tempfile.TemporaryDirectory() as runs_dir:
        data, options = _automl_data(split, runs_dir)
        if "portfolio" in inspect.signature(automl.search).parameters:  # chosen on these data; not in 99e8542
            options["portfolio"] = False
        started, t0 = time.perf_counter(), datetime.datetime.now()
        result = automl.search(
            task=split.task,
            data=data,
            timeout=budget,
            n_splits=n_splits,
            seed=seed,
            runs_dir=f"{runs_dir}/runs",
            verbose=False,
            space=space or own_space_file(split.task),
            **options,
            **settings,
        )
        job_s = time.perf_counter() - started
        trials = result.study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = _best_number(complete)
        single = getattr(result, "best_single_model", None) or result.best_model
        record = {
            "score_kind": f"{result.metric} ({len(trials[best].user_attrs['fold_scores'])}-fold CV)",
            "trials_run": len(trials),
            "trials_completed": len(complete),
            "best_search_score": result.best_score,
            "test_accuracy": _accuracy(single.predict(split.raw_test), split.y_test),
            "ensemble_test_accuracy": _accuracy(result.best_model.predict(split.raw_test), split.y_test),
            "ensemble": getattr(result, "ensemble", None),
            "job_s": job_s,
            "search_s": max(
                ((t.datetime_complete - t0).total_seconds() for t in trials if t.datetime_complete), default=0
            ),
            "curve": best_so_far([((t.datetime_complete - t0).total_seconds(), t.value) for t in complete]),
            "at_chance": _time_at_chance(result.study, split),
            "local_moves": sum("moved_from" in t.user_attrs for t in trials),
            # promising configurations run again to the end: counted in trials_run, not new configurations
            "completions": sum("completes" in t.user_attrs for t in trials),
            "best_trial": best,
            "best_is_local_move": "moved_from" in trials[best].user_attrs,
            "trials": [_trial_summary(t) for t in trials],
        }
        if hasattr(result, "best_single_model"):  # not the automl of commit 99e8542 (automl-main)
            record["refit_models"] = getattr(result, "refit_models", 1)  # added after 7102703
            if refit_first:
                record["first_test_accuracy"] = _first_configuration_accuracy(
                    result.study, split, seed, record["refit_models"]
                )
            labels = np.unique(split.y_train, return_inverse=True)[1]  # the class indices automl trained on
            record["ensemble_sizes"] = _ensemble_sizes(result, labels, seed)
        if after is not None:
            record.update(after(result, split, seed))
        return record


def _best_number(complete: list[Any]) -> int:
    """The best of the completed trials' number (ties: the earlier trial, as automl picks)."""
    return min(complete, key=lambda t: (-t.value, t.number)).number


def _trial_summary(trial: Any) -> dict[str, Any]:
    """What a trial was and how it ended: for reading a search's course from its record."""
    attrs = trial.user_attrs
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "fold_scores": attrs.get("fold_scores"),
        "stopped_by": attrs.get("stopped_by"),
        "stop_reason": attrs.get("stop_reason"),
        "seconds": (trial.datetime_complete - trial.datetime_start).total_seconds()
        if trial.datetime_complete and trial.datetime_start
        else None,
        "moved_from": attrs.get("moved_from"),
        "move": attrs.get("move"),
        "completes": attrs.get("completes"),
        "family": trial.params.get("architecture.family"),
        "params": trial.params,
        "curve": [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)],
    }


def run_automl_refit(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """The search handing over its best trials refit (``final_model="refit"``)."""
    return run_automl(task, split, seed, budget, final_model="refit")


def run_automl_no_moves(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """The same search as ``automl`` without local moves: the sampler alone proposes configurations."""
    return run_automl(task, split, seed, budget, local_moves=False, final_model="refit")


def run_automl_folds(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """The same search handing over fold models averaged (``final_model="folds"``): ``test_accuracy``
    is the best trial's fold models', ``first_test_accuracy`` the first configuration's; beside them,
    outside the budget, the same two trials refit (``refit_test_accuracy``, ``first_refit_test_accuracy``)."""
    return run_automl(task, split, seed, budget, after=_refits_beside_the_folds, final_model="folds")


def run_automl_three_folds(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """automl's default search and hand-over (fold models) over 3 folds instead of 5; no refits beside
    them (on a large set they would take minutes)."""
    return run_automl(
        task, split, seed, budget, after=_first_fold_models, n_splits=3, refit_first=False, final_model="folds"
    )


def run_automl_five_folds(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """automl's default search and hand-over over its default 5 folds, without the refits beside."""
    return run_automl(task, split, seed, budget, after=_first_fold_models, refit_first=False, final_model="folds")


def _refits_beside_the_folds(result: Any, split: Split, seed: int) -> dict[str, Any]:
    trials = {t.number: t for t in result.study.get_trials(deepcopy=False)}
    best = trials[_best_number([t for t in trials.values() if t.state.name == "COMPLETE"])]
    return {
        "first_refit_test_accuracy": _first_configuration_accuracy(result.study, split, seed, result.refit_models),
        "refit_test_accuracy": _refit_accuracy(best, split, seed, result.refit_models),
        **_first_fold_models(result, split, seed),
    }


def _first_fold_models(result: Any, split: Split, seed: int) -> dict[str, Any]:
    """The first configuration's test accuracy as handed over: its fold models averaged (NaN when it
    did not complete)."""
    from automl.names import TrialAttr
    from automl.refit.bagging import load_bag
    from automl.tracking.tracker import Tracker

    record = {"first_test_accuracy": float("nan")}
    first = next((t for t in result.study.get_trials(deepcopy=False) if t.number == 0), None)
    if first is not None and first.user_attrs.get(TrialAttr.FOLD_MODELS):
        tracker = Tracker(result.tracking_uri, result.study.study_name)
        with tempfile.TemporaryDirectory() as tmp:
            folder = tracker.download_fold_models(first.user_attrs[TrialAttr.MLFLOW_RUN_ID], Path(tmp))
            if folder is not None:
                bag = load_bag(folder, 0)
                record["first_test_accuracy"] = _accuracy(bag.predict(split.raw_test), split.y_test)
    return record


ENSEMBLE_SIZES = (1, 2, 5, 10, 25, 50)


def _ensemble_sizes(result: Any, y: np.ndarray, seed: int) -> dict[str, dict[str, float]]:
    """For choosing ``--ensemble-size``: the selection's out-of-fold and bootstrap-corrected scores at
    several sizes, on this search's completed trials (after the job: outside its budget)."""
    from automl.refit.ensemble import CANDIDATES, choose_ensemble
    from automl.tracking.tracker import Tracker
    from automl.trial.metrics import get_metric

    tracker = Tracker(result.tracking_uri, result.study.study_name)
    complete = sorted(
        (t for t in result.study.get_trials(deepcopy=False) if t.value is not None and t.state.name == "COMPLETE"),
        key=lambda t: -t.value,
    )[:CANDIDATES]
    predictions = {t.number: tracker.load_out_of_fold(t.user_attrs["mlflow_run_id"]) for t in complete}
    predictions = {k: v for k, v in predictions.items() if v is not None}
    if len(predictions) < 2:
        return {}
    metric = get_metric("accuracy", "classification")
    sizes = {}
    for size in ENSEMBLE_SIZES:
        choice = choose_ensemble(predictions, y, metric, size, seed)
        sizes[str(size)] = {
            "oof": choice.score,
            "corrected": choice.corrected_score,
            "corrected_single": choice.corrected_single_score,
            "members": len(choice.counts),
        }
    return sizes


def run_automl_main(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """The automl of commit 99e8542, called the same way (compare_peers.py puts its tree first on
    PYTHONPATH) with its own shipped space: its budget covered the search only, its refit came after."""
    return run_automl(task, split, seed, budget)


def _time_at_chance(study: Any, split: Split) -> dict[str, float]:
    """Search time on trials whose best reported accuracy ended below chance + ½·(first trial − chance)."""
    from optuna.trial import TrialState

    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start and t.datetime_complete]
    first = next((t for t in trials if t.number == 0), None)
    reference = _reached(first) if first is not None else None
    chance = split.chance
    total = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in trials)
    if reference is None or not total:
        return {"threshold": float("nan"), "trials": 0, "seconds": 0.0, "share": 0.0}
    threshold = chance + 0.5 * (reference - chance)
    low = [t for t in trials if t.state != TrialState.COMPLETE or t.number != 0]
    low = [t for t in low if (_reached(t) or 0.0) < threshold]
    seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in low)
    return {"threshold": threshold, "trials": len(low), "seconds": seconds, "share": seconds / total}


def _reached(trial: Any) -> float | None:
    """The best accuracy a trial reported (its CV mean, or its best epoch or fold value)."""
    values = [v for v in trial.intermediate_values.values() if v is not None]
    if trial.value is not None:
        values.append(trial.value)
    return max(values) if values else None


def _first_configuration_accuracy(study: Any, split: Split, seed: int, models: int) -> float:
    """The space's default configuration (trial 0), refit on the training part like the best."""
    first = next(t for t in study.get_trials(deepcopy=False) if t.number == 0)
    return _refit_accuracy(first, split, seed, models)


def _refit_accuracy(trial: Any, split: Split, seed: int, models: int) -> float:
    """``trial``'s configuration refit on the training part as automl refits (``models`` models,
    averaged), scored on the test part."""
    from automl.data import load_dataset
    from automl.refit.refit import refit_trial

    if "config" not in trial.user_attrs:
        return float("nan")
    data = split.raw_train if split.task != "text" else np.asarray(split.raw_train, dtype=object)
    if split.task == "text":
        from automl.data.text import text_dataset

        dataset = text_dataset(data, split.y_train, name="train")
    else:
        dataset = load_dataset(split.task, (data, split.y_train), n_splits=N_SPLITS)
    # one model: the call older commits (automl-main) take too, without ``models``
    model = refit_trial(trial, dataset, seed, models=models) if models > 1 else refit_trial(trial, dataset, seed)
    return _accuracy(model.predict(split.raw_test), split.y_test)


def run_kerastuner(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """KerasTuner Hyperband over automl's space with a 20% validation split, stopped at the budget."""
    import keras
    import keras_tuner as kt

    space = space_of(task)
    defaults = space.defaults()
    max_epochs = int(space.upper_bound("training.epochs") or 10)
    keras.utils.set_random_seed(seed)
    events: list[tuple[float, float]] = []
    counts = {"run": 0, "completed": 0}

    class SpaceModel(kt.HyperModel):
        """automl's space: a configuration drawn through KerasTuner, built and trained as automl does."""

        def build(self, hp: Any) -> Any:
            self.config = space.sample(KerasTunerTrial(hp, defaults))
            model, self.spec = build_model(self.config, split)
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            settings = fit_settings(self.spec, split.y_train)
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), *settings.pop("callbacks")]
            return model.fit(*args, **{**kwargs, **settings})

    class BudgetedHyperband(kt.Hyperband):
        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            counts["run"] += 1
            if trial.status == "COMPLETED" and trial.score is not None:
                counts["completed"] += 1
                events.append((time.perf_counter() - started, float(trial.score)))

    with tempfile.TemporaryDirectory() as directory:
        tuner = BudgetedHyperband(
            SpaceModel(),
            objective="val_accuracy",
            max_epochs=max_epochs,
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
        tuner.search(split.X_train, split.y_train, validation_split=VALIDATION_SPLIT, verbose=0)
        search_s = time.perf_counter() - started
        best = tuner.oracle.get_best_trials(1)[0]
        config = space.sample(KerasTunerTrial(best.hyperparameters, defaults))
        keras.utils.set_random_seed(seed)
        model, spec = build_model(config, split)
        settings = fit_settings(spec, split.y_train)
        history = model.fit(
            split.X_train, split.y_train, validation_split=VALIDATION_SPLIT, epochs=spec.epochs, verbose=0, **settings
        )
        epochs = int(np.argmin(history.history["val_loss"])) + 1
        keras.utils.set_random_seed(seed)
        model, spec = build_model(config, split)
        settings = fit_settings(spec, split.y_train)
        settings.pop("callbacks")
        model.fit(split.X_train, split.y_train, epochs=epochs, verbose=0, **settings)
        test_accuracy = _accuracy(model.predict(split.X_test, verbose=0).argmax(axis=1), split.y_test)
        return {
            "score_kind": "validation accuracy (20% split)",
            "trials_run": counts["run"],
            "trials_completed": counts["completed"],
            "best_search_score": float(best.score),
            "test_accuracy": test_accuracy,
            "job_s": time.perf_counter() - started,
            "search_s": search_s,
            "curve": best_so_far(events),
        }


def run_optuna(task: str, split: Split, seed: int, budget: float) -> dict[str, Any]:
    """A hand-written Optuna script over automl's space: TPE, 5-fold CV, MedianPruner, defaults first."""
    import keras
    import optuna
    from sklearn.model_selection import StratifiedKFold

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = space_of(task)
    folds = list(StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed).split(split.X_train, split.y_train))

    class ReportEpochs(keras.callbacks.Callback):
        """Report the first fold's validation accuracy per epoch; stop training when pruned."""

        def __init__(self, trial: optuna.Trial) -> None:
            super().__init__()
            self.trial, self.pruned = trial, False

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self.trial.report(float((logs or {})["val_accuracy"]), epoch)
            if self.trial.should_prune():
                self.pruned, self.model.stop_training = True, True

    def objective(trial: optuna.Trial) -> float:
        config = space.sample(trial)
        trial.set_user_attr("config", config)
        scores, epochs = [], []
        for fold, (train, valid) in enumerate(folds):
            keras.backend.clear_session()
            model, spec = build_model(config, split)
            settings = fit_settings(spec, split.y_train[train])
            report = ReportEpochs(trial)
            if fold == 0:
                settings["callbacks"].append(report)
            history = model.fit(
                split.X_train[train],
                split.y_train[train],
                validation_data=(split.X_train[valid], split.y_train[valid]),
                epochs=spec.epochs,
                verbose=0,
                **settings,
            )
            if report.pruned:
                raise optuna.TrialPruned()
            best_epoch = int(np.argmin(history.history["val_loss"]))
            epochs.append(best_epoch + 1)
            scores.append(
                _accuracy(model.predict(split.X_train[valid], verbose=0).argmax(axis=1), split.y_train[valid])
            )
        trial.set_user_attr("epochs", epochs)
        return float(np.mean(scores))

    keras.utils.set_random_seed(seed)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_warmup_steps=2),
    )
    study.enqueue_trial(space.defaults())
    started, t0 = time.perf_counter(), datetime.datetime.now()
    study.optimize(objective, timeout=budget, gc_after_trial=True)
    search_s = time.perf_counter() - started
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise RuntimeError("the Optuna study completed no trial within the budget")
    best = study.best_trial
    keras.utils.set_random_seed(seed)
    model, spec = build_model(best.user_attrs["config"], split)
    settings = fit_settings(spec, split.y_train)
    settings.pop("callbacks")
    epochs = max(1, round(float(np.mean(best.user_attrs["epochs"]))))
    model.fit(split.X_train, split.y_train, epochs=epochs, verbose=0, **settings)
    test_accuracy = _accuracy(model.predict(split.X_test, verbose=0).argmax(axis=1), split.y_test)
    return {
        "score_kind": f"accuracy ({N_SPLITS}-fold CV)",
        "trials_run": len(study.trials),
        "trials_completed": len(complete),
        "best_search_score": float(best.value),
        "test_accuracy": test_accuracy,
        "job_s": time.perf_counter() - started,
        "search_s": search_s,
        "curve": best_so_far([((t.datetime_complete - t0).total_seconds(), t.value) for t in complete]),
    }


RUNNERS = {
    "automl": run_automl_refit,
    "automl-no-moves": run_automl_no_moves,
    "automl-folds": run_automl_folds,
    "automl-3-folds": run_automl_three_folds,
    "automl-5-folds": run_automl_five_folds,
    "automl-main": run_automl_main,
    "kerastuner": run_kerastuner,
    "optuna": run_optuna,
}
