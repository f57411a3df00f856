"""The Optuna objective: sample a configuration, cross-validate it, log it to MLflow."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import optuna

from automl.backends import get_backend
from automl.data import Dataset
from automl.logs import get_logger
from automl.model import build_spec_for
from automl.model.params import count_params
from automl.names import BACKEND_PARAM, Tag, TrialAttr
from automl.space import SearchSpace
from automl.trial.costs import COSTS as COST_NAMES
from automl.trial.costs import latency_ms, model_bytes
from automl.trial.cv import CVResult, FoldData, FoldResult, Folds, cross_validate
from automl.trial.goals import Goals, best_trial
from automl.trial.interrupts import interrupted, raise_if_interrupted
from automl.trial.metrics import CLASSIFICATION, Metric
from automl.trial.outcome import INTERRUPTED, OUT_OF_TIME, OutOfTime
from automl.trial.progress import SearchProgress
from automl.trial.racing import FoldRacing, ParetoRacing, StepAxis, Stop, not_behind_the_best
from automl.trial.repeats import DuplicateConfiguration, skip_if_repeated

log = get_logger(__name__)

LOG_LOSS = CLASSIFICATION["log_loss"]  # of the out-of-fold predictions: breaks ties of the best trial
KEPT_FOLD_MODELS = 5  # a trial keeps its fold models when it completes among the best this many so far
FoldModelSink = Callable[[str, Any, CVResult, Folds], None]  # (run id, backend, cv, folds): save and log them


class TrialTracker(Protocol):
    """What a search needs from MLflow logging for its trials: ``automl.tracking.Tracker`` in the
    process that owns the store, ``automl.tracking.relay.RemoteTracker`` in a worker that logs
    through it."""

    def start_trial(self, number: int, params: dict[str, Any], tags: dict[str, str]) -> str:
        """Open the run of trial ``number``; return its run id."""

    def log_fold(self, run_id: str, fold: FoldResult) -> None:
        """Log one fold's scores and curves."""

    def log_out_of_fold(self, run_id: str, predictions: np.ndarray) -> None:
        """Keep a completed trial's out-of-fold predictions (for ensembles)."""

    def log_fold_models(self, run_id: str, directory: str) -> None:
        """Keep the fold models saved in ``directory`` (a final model of averaged fold models)."""

    def end_trial(self, run_id: str, state: str, metrics: dict[str, float], tags: dict[str, Any]) -> None:
        """Log the trial's outcome and close its run."""

    def fail_run(self, run_id: str, reason: str) -> None:
        """End a run left RUNNING by a trial that was lost, as FAILED with ``reason``."""


@dataclass
class Objective:
    """Callable for ``study.optimize``: one trial = one cross-validated configuration.

    With one metric, reports to Optuna's pruner on a fixed step axis
    (``automl.trial.racing.StepAxis``): the validation score of each epoch of the first fold, then
    the running mean of the fold scores at the end of every fold. With several (``goals.multi``),
    Optuna's pruners cannot take them: ``racing`` (a ``ParetoRacing``) decides, and the trial
    returns one value per metric. Why a pruned trial stopped is recorded in the trial
    (``stop_reason``, ``stopped_by``; ``promising`` when it deserves a run to the end). A trial
    that breaks a constraint ends pruned (before training when its parameter count breaks one),
    its violations stored for the sampler. Every trial gets its own nested MLflow run, ended with
    the trial's state whatever happens.
    """

    space: SearchSpace
    dataset: Dataset
    backends: list[str]
    splits: list[tuple[np.ndarray, np.ndarray]]
    goals: Goals
    tracker: TrialTracker
    epochs_per_fold: int
    seed: int
    progress: SearchProgress
    deadline: float | None = None  # time.time() at which a running trial stops, once one trial has completed
    racing: ParetoRacing | None = None  # several metrics: the racing rule (None: no pruning)
    keep_fold_models: FoldModelSink | None = None  # --final-model folds: where the best trials' fold models go

    def __post_init__(self) -> None:
        self.folds = Folds(self.dataset, self.splits)  # preprocessed once, shared by every trial
        self.axis = StepAxis(self.epochs_per_fold)

    @property
    def metric(self) -> Metric:
        """The first metric: the one scored per epoch, raced on and shown first."""
        return self.goals.metric

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        start = time.perf_counter()
        state, cv, reason, run_id, backend = "FAIL", CVResult(), "", None, None
        costs: dict[str, float] = {}
        try:  # from the first line: an interrupt at any point still records why the trial ended
            config = self.space.sample(trial)
            backend_name = (
                trial.suggest_categorical(BACKEND_PARAM, self.backends) if len(self.backends) > 1 else self.backends[0]
            )
            skip_if_repeated(trial)
            backend = get_backend(backend_name)
            trial.set_user_attr(TrialAttr.CONFIG, config)
            trial.set_user_attr(TrialAttr.BACKEND, backend_name)
            tags = {Tag.BACKEND: backend_name, Tag.ENGINE: backend.engine, Tag.DEVICE: backend.device()}
            attrs = trial.user_attrs  # one copy: each access of Trial.user_attrs deep-copies them
            if TrialAttr.MOVE in attrs:
                tags[Tag.MOVE] = f"from trial {attrs[TrialAttr.MOVED_FROM]}: {attrs[TrialAttr.MOVE]}"
            run_id = self.tracker.start_trial(trial.number, {**config, BACKEND_PARAM: backend_name}, tags=tags)
            trial.set_user_attr(TrialAttr.MLFLOW_RUN_ID, run_id)
            self.progress.trial_started(trial.number, _summary(config, backend_name))

            def spec_of(input_shape: tuple[int, ...]) -> Any:
                return build_spec_for(config, self.dataset, input_shape)

            costs["n_params"] = count_params(spec_of(tuple(self.folds[0].X_train.shape[1:])), backend_name)
            self._record_costs(trial, costs)
            self._stop_if_broken(trial, costs, "before training")
            cv = cross_validate(
                spec_of,
                backend,
                self.folds,
                self.metric,
                seed=self.seed + 1000 * trial.number,
                on_epoch=self._epoch_hook(trial),
                on_fold=self._fold_hook(trial, run_id, costs),
                on_first_model=self._measure_hook(trial, backend, costs),
                keep_models=self.keep_fold_models is not None,
            )
            trial.set_user_attr(TrialAttr.SCORE_STD, cv.std)
            trial.set_user_attr(TrialAttr.FOLD_SCORES, cv.scores.tolist())
            trial.set_user_attr(TrialAttr.BEST_EPOCHS, cv.best_epochs)
            if cv.stopped:
                state = "PRUNED"
                reason = trial.user_attrs.get(TrialAttr.STOP_REASON, "")
                raise optuna.TrialPruned(reason or f"pruned after {len(cv.folds)} fold(s)")
            if not math.isfinite(cv.mean):
                raise ValueError(f"the cross-validated {self.metric.name} is {cv.mean}")
            known = {**_fold_means(cv), **costs}
            trial.set_user_attr(TrialAttr.CV_MEANS, _fold_means(cv))
            self._stop_if_broken(trial, known, f"after {len(cv.folds)} folds")
            state = "COMPLETE"
            return self.goals.values(known) if self.goals.multi else cv.mean
        except optuna.TrialPruned:
            state = "PRUNED"
            reason = trial.user_attrs.get(TrialAttr.STOP_REASON, reason)
            raise
        except OutOfTime as exc:
            state, reason = "PRUNED", str(exc)
            if not_behind_the_best(trial.study, trial.study.get_trials(deepcopy=False)[trial.number]):
                reason += "; not behind the best trial: a resumed search runs it to the end"
                trial.set_user_attr(TrialAttr.PROMISING, True)
            trial.set_user_attr(TrialAttr.STOP_REASON, reason)
            trial.set_user_attr(TrialAttr.STOPPED_BY, "budget")
            raise optuna.TrialPruned(reason) from None
        except DuplicateConfiguration:
            reason = trial.user_attrs[TrialAttr.FAIL_REASON]
            raise
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: Optuna marks the trial failed, the search stops
            reason = INTERRUPTED
            trial.set_user_attr(TrialAttr.FAIL_REASON, reason)
            raise
        except Exception as exc:
            if interrupted():  # the signal's KeyboardInterrupt, turned into another error inside C code
                reason = INTERRUPTED
                trial.set_user_attr(TrialAttr.FAIL_REASON, reason)
                raise KeyboardInterrupt from exc
            reason = f"{type(exc).__name__}: {exc}"
            trial.set_user_attr(TrialAttr.FAIL_REASON, reason)
            raise
        finally:
            seconds = time.perf_counter() - start
            trial.set_user_attr(TrialAttr.DURATION_S, seconds)
            if state == "COMPLETE" and run_id is not None:
                self._keep_fold_models(trial, run_id, backend, cv)
            self._finish(trial, run_id, state, cv, reason, seconds)
            if backend is not None:
                backend.release()

    def _keep_fold_models(self, trial: optuna.Trial, run_id: str, backend: Any, cv: CVResult) -> None:
        """Save a completed trial's fold models to its run when it is among the best so far."""
        if self.keep_fold_models is None:
            return
        complete = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        as_good = sum(not _better(cv.mean, t.values[0], self.metric.direction) for t in complete)
        if as_good >= KEPT_FOLD_MODELS:
            return
        try:
            self.keep_fold_models(run_id, backend, cv, self.folds)
            trial.set_user_attr(TrialAttr.FOLD_MODELS, True)
        except Exception:  # logging must never turn a finished trial into a lost one
            log.warning("could not keep the fold models of trial %d", trial.number, exc_info=True)

    def _epoch_hook(self, trial: optuna.Trial) -> Any:
        key = f"val_{self.metric.name}"

        def on_epoch(fold: int, epoch: int, logs: dict[str, float]) -> bool:
            raise_if_interrupted()
            self.progress.epoch_finished(fold, epoch, logs)
            self._stop_if_out_of_time(trial)
            # Only the first fold reports per epoch; its last step is taken by the fold's end.
            if fold != 0 or key not in logs or epoch >= self.epochs_per_fold - 1:
                return False
            if self.goals.multi:
                return self._stopped(
                    trial, None if self.racing is None else self.racing.epoch(trial.study, epoch + 1, logs[key])
                )
            trial.report(logs[key], step=epoch)
            return self._should_stop(trial)

        return on_epoch

    def _measure_hook(self, trial: optuna.Trial, backend: Any, costs: dict[str, float]) -> Any:
        """Measure the first fold's model: its saved size and latency, when a goal names them."""
        needed = self.goals.costs_needed() - {"n_params"}
        if not needed:
            return None

        def on_first_model(model: Any, spec: Any, data: FoldData) -> None:
            if "model_bytes" in needed:
                costs["model_bytes"] = float(model_bytes(backend, model, spec))
            if "latency_ms" in needed:
                costs["latency_ms"] = latency_ms(backend, model, data.X_valid)
            self._record_costs(trial, costs)

        return on_first_model

    def _record_costs(self, trial: optuna.Trial, known: dict[str, float]) -> None:
        trial.set_user_attr(TrialAttr.COSTS, {k: v for k, v in known.items() if k in COST_NAMES})
        if self.goals.constraints:
            trial.set_user_attr(TrialAttr.CONSTRAINTS, self.goals.violations(known))

    def _stop_if_broken(self, trial: optuna.Trial, known: dict[str, float], when: str) -> None:
        """End the trial pruned when ``known`` values break a constraint (its violations recorded)."""
        broken = self.goals.broken(known)
        if broken:
            self._record_costs(trial, known)
            self._stopped(trial, Stop(f"breaks {'; '.join(broken)} {when}", "constraint"))
            raise optuna.TrialPruned(trial.user_attrs[TrialAttr.STOP_REASON])

    def _stop_if_out_of_time(self, trial: optuna.Trial) -> None:
        """Past the deadline, stop this trial, unless the study has no completed trial yet to show for it."""
        if self.deadline is None or time.time() < self.deadline:
            return
        if trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            raise OutOfTime(OUT_OF_TIME)

    def _fold_hook(self, trial: optuna.Trial, run_id: str, costs: dict[str, float]) -> Any:
        def on_fold(fold: FoldResult, cv: CVResult) -> bool:
            raise_if_interrupted()
            try:
                self.tracker.log_fold(run_id, fold)
            except Exception as exc:  # logging must never throw a computed fold away: the trial goes on
                log.warning("could not log fold %d of trial %d to MLflow (%s)", fold.fold, trial.number, exc)
            self.progress.fold_finished(fold.fold, fold.score, cv.mean)
            if fold.fit.stopped_by_callback:  # cut short by epoch pruning: not a real fold score
                return True
            broken = self.goals.broken(costs)
            if broken:  # the first fold's model measured too big or too slow
                return self._stopped(trial, Stop(f"breaks {'; '.join(broken)} (first fold's model)", "constraint"))
            if len(cv.folds) == len(self.splits):
                return False
            if self.goals.multi:
                own = {**_fold_means(cv), **costs}
                stop = None if self.racing is None else self.racing.fold(trial.study, own, cv.mean, fold.fold)
                return self._stopped(trial, stop)
            trial.report(cv.mean, step=self.axis.fold_end(fold.fold))
            return self._should_stop(trial)

        return on_fold

    def _should_stop(self, trial: optuna.Trial) -> bool:
        """Ask the pruner; when it stops the trial, record why (its ``Stop``, for a ``FoldRacing`` pruner)."""
        if not trial.should_prune():
            return False
        pruner = trial.study.pruner
        stop = pruner.stop_of(trial.number) if isinstance(pruner, FoldRacing) else None
        return self._stopped(trial, stop or Stop(f"pruned by {type(pruner).__name__}", "pruner"))

    @staticmethod
    def _stopped(trial: optuna.Trial, stop: Stop | None) -> bool:
        """Record why ``stop`` ends the trial; False when there is no stop."""
        if stop is None:
            return False
        trial.set_user_attr(TrialAttr.STOP_REASON, stop.reason)
        trial.set_user_attr(TrialAttr.STOPPED_BY, stop.kind)
        if stop.promising:
            trial.set_user_attr(TrialAttr.PROMISING, True)
        return True

    def _finish(
        self, trial: optuna.Trial, run_id: str | None, state: str, cv: CVResult, reason: str, seconds: float
    ) -> None:
        metrics: dict[str, float] = {"duration_s": seconds, "n_folds": len(cv.folds)}
        metrics.update(trial.user_attrs.get(TrialAttr.COSTS) or {})
        if cv.folds:
            metrics["score"] = cv.mean
            metrics["score_std"] = cv.std
            for name in cv.folds[0].scores:
                values = [f.scores[name] for f in cv.folds]
                metrics[f"cv_mean.{name}"] = float(np.mean(values))
                metrics[f"cv_std.{name}"] = float(np.std(values))
        tags = {(Tag.FAIL_REASON if state == "FAIL" else Tag.STOP_REASON): reason} if reason else {}
        try:
            if state == "COMPLETE":
                out_of_fold = cv.out_of_fold(self.splits, len(self.dataset.y))
                if self.metric.problem_type == "classification" and np.isfinite(out_of_fold).all():
                    # recorded before the trial ends: it breaks ties of the best trial (``ranked_trials``)
                    log_loss = float(LOG_LOSS.fn(self.dataset.y, out_of_fold))
                    trial.set_user_attr(TrialAttr.OUT_OF_FOLD_LOG_LOSS, log_loss)
                if run_id is not None:
                    self.tracker.log_out_of_fold(run_id, out_of_fold)
            if run_id is not None:  # None: the trial ended before its MLflow run was opened
                self.tracker.end_trial(run_id, state, metrics, tags)
        except Exception:  # logging must never turn a finished trial into a lost one
            log.warning("could not log the end of trial %d to MLflow", trial.number, exc_info=True)
        leader = best_trial(trial.study)
        best = None if leader is None else leader.values[0]
        if state == "COMPLETE" and (best is None or _better(cv.mean, best, self.metric.direction)):
            best = cv.mean
        score = ""
        if cv.folds:
            score = f"{self.metric.name} {cv.mean:.4f}" + (f" ± {cv.std:.4f}" if state == "COMPLETE" else "")
        costs = trial.user_attrs.get(TrialAttr.COSTS) or {}
        shown = [n for n in (*self.goals.others, *(c.name for c in self.goals.constraints)) if n in costs]
        score += "".join(f"  {name} {costs[name]:.4g}" for name in dict.fromkeys(shown))
        detail = (
            reason if state == "FAIL" else (reason or f"after {len(cv.folds)} fold(s)") if state == "PRUNED" else ""
        )
        summary = _summary(trial.user_attrs.get(TrialAttr.CONFIG, {}), trial.user_attrs.get(TrialAttr.BACKEND, ""))
        self.progress.trial_finished(trial.number, state, f"{score}  {detail}  ({seconds:.1f}s)  {summary}", best)


def _summary(config: dict[str, Any], backend: str) -> str:
    arch = config.get("architecture", {}).get("family", "?")
    optimizer = config.get("optimizer", {})
    lr = optimizer.get("learning_rate")
    lr_text = f" lr={lr:.2g}" if isinstance(lr, float) else ""
    return f"{backend} {arch} {config.get('activation', '')} {optimizer.get('name', '')}{lr_text}".strip()


def _fold_means(cv: CVResult) -> dict[str, float]:
    """The mean over the folds so far of every metric scored."""
    return {name: float(np.mean([f.scores[name] for f in cv.folds])) for name in cv.folds[0].scores} if cv.folds else {}


def _better(value: float, best: float, direction: str) -> bool:
    return value > best if direction == "maximize" else value < best
