"""The leaderboard of a study: one row per finished trial, best first."""

from __future__ import annotations

from collections import Counter

import optuna
import pandas as pd
from rich.table import Table

from automl.names import TrialAttr
from automl.tracking.tracker import flatten
from automl.trial.goals import is_multi_objective, maximizes, objective_names, pareto_front, trial_values
from automl.trial.outcome import FINISHED, unfinished_promising

FAIL_REASON_COLUMN = "fail_reason"
KEY_PARAMS = (
    "architecture.family",
    "activation",
    "optimizer.name",
    "optimizer.learning_rate",
    "regularization.dropout",
    "regularization.batch_norm",
    "training.batch_size",
)


def leaderboard(study: optuna.Study) -> pd.DataFrame:
    """Finished trials (but repeats skipped before training) with score ± std, state, backend,
    duration, parameter count and key parameters.

    Completed trials come first, best score (the first metric) first; pruned and failed trials
    follow. A study of several metrics has a column per metric and ``pareto`` marks the front.
    """
    names = objective_names(study)
    multi = is_multi_objective(study)
    front = {t.number for t in pareto_front(study)} if multi else set()
    rows = []
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        attrs = trial.user_attrs
        if TrialAttr.DUPLICATE_OF in attrs:  # a repeat skipped before training: nothing to show
            continue
        fold_scores = attrs.get(TrialAttr.FOLD_SCORES) or []
        complete = trial.state == optuna.trial.TrialState.COMPLETE
        row = {
            "trial": trial.number,
            "state": trial.state.name,
            "score": trial.values[0] if complete else None,
            "std": attrs.get(TrialAttr.SCORE_STD) if complete else None,
            "folds": len(fold_scores),
        }
        if multi:
            row["pareto"] = trial.number in front
            values = trial_values(trial, names) if complete else {}
            row.update({name: values.get(name) for name in names[1:]})
        row.update(
            {
                "backend": attrs.get(TrialAttr.BACKEND),
                "duration_s": attrs.get(TrialAttr.DURATION_S),
                "n_params": (attrs.get(TrialAttr.COSTS) or {}).get("n_params"),
            }
        )
        config = flatten(attrs.get(TrialAttr.CONFIG) or {})
        row.update({key: config.get(key) for key in KEY_PARAMS})
        row["stopped_by"] = attrs.get(TrialAttr.STOPPED_BY)
        row["moved_from"] = attrs.get(TrialAttr.MOVED_FROM)  # a local move: the trial whose configuration it changed
        row[FAIL_REASON_COLUMN] = attrs.get(TrialAttr.FAIL_REASON)
        rows.append(row)
    columns = [  # a cost that is also a metric keeps its place among the metrics
        "trial",
        "state",
        "score",
        "std",
        "folds",
        *(["pareto", *names[1:]] if multi else []),
        "backend",
        "duration_s",
        "n_params",
        *KEY_PARAMS,
        "stopped_by",
        "moved_from",
        FAIL_REASON_COLUMN,
    ]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))
    if frame.empty:
        return frame
    ascending = not maximizes(study)
    frame["_complete"] = frame["state"] == "COMPLETE"
    frame = frame.sort_values(["_complete", "score"], ascending=[False, ascending], na_position="last")
    return frame.drop(columns="_complete").reset_index(drop=True)


def pareto_frame(study: optuna.Study) -> pd.DataFrame:
    """The leaderboard's rows of the Pareto front (with one metric: the best trial's row)."""
    board = leaderboard(study)
    numbers = {t.number for t in pareto_front(study)}
    return board[board["trial"].isin(numbers)].reset_index(drop=True)


def outcomes(study: optuna.Study) -> dict[str, int]:
    """How the study's trials ended: evaluated (trained at all), completed, why the others stopped, and
    the promising ones left unfinished."""
    every = study.get_trials(deepcopy=False)  # queued completions too: they take their promising trial
    trials = [t for t in every if t.state in FINISHED]
    skipped = (TrialAttr.SURPLUS, TrialAttr.DUPLICATE_OF)
    trained = [t for t in trials if not any(t.user_attrs.get(key) is not None for key in skipped)]
    stopped = Counter(t.user_attrs.get(TrialAttr.STOPPED_BY, "pruner") for t in trained if t.state.name == "PRUNED")
    return {
        "evaluated": len(trained),
        "completed": sum(t.state == optuna.trial.TrialState.COMPLETE for t in trained),
        "raced": stopped["raced"],
        "at_chance": stopped["chance"],
        "first_fold": stopped["epochs"] + stopped["pruner"],
        "budget": stopped["budget"],
        "failed": sum(t.state == optuna.trial.TrialState.FAIL for t in trained),
        "completions": sum(TrialAttr.COMPLETES in t.user_attrs for t in trained),
        "unfinished": len(unfinished_promising(every)),  # a resumed search completes them
        "local_moves": sum(TrialAttr.MOVED_FROM in t.user_attrs for t in trained),
    }


def describe_outcomes(counts: dict[str, int]) -> str:
    """``outcomes`` in words: "25 evaluated: 8 completed, 12 dropped by racing over folds, ..."."""
    parts = [
        f"{counts['completed']} completed",
        f"{counts['raced']} dropped by racing over folds",
        f"{counts['at_chance']} stopped at chance",
        f"{counts['first_fold']} pruned in their first fold",
        f"{counts['budget']} stopped at the time budget",
        f"{counts['failed']} failed",
    ]
    shown = [p for p in parts if not p.startswith("0 ")] or parts[:1]
    completions = f"; {counts['completions']} run again to the end (promising)" if counts["completions"] else ""
    moves = counts["local_moves"]
    local = f"; {moves} of them local moves (a neighbour of the best so far)" if moves else ""
    unfinished = counts.get("unfinished", 0)
    resume = (
        f"; {unfinished} promising but unfinished: the same command again (more --timeout or --n-trials) "
        "runs them to the end first"
        if unfinished
        else ""
    )
    return f"{counts['evaluated']} evaluated: " + ", ".join(shown) + completions + local + resume


def leaderboard_table(frame: pd.DataFrame, metric: str, top: int = 10) -> Table:
    """A Rich table of the top rows of ``frame`` (a study of several metrics: one column per metric,
    ``*`` marking the Pareto front)."""
    others = [c for c in frame.columns[frame.columns.get_loc("folds") + 1 : frame.columns.get_loc("backend")]]
    others = [c for c in others if c != "pareto"]
    table = Table(title=f"Leaderboard (top {min(top, len(frame))} of {len(frame)} trials, {metric})")
    if "pareto" in frame.columns:
        table.caption = "* on the Pareto front (no other completed trial is as good on every metric and better on one)"
    for column in (
        "#",
        "trial",
        "state",
        f"{metric} ± std",
        *others,
        "backend",
        "family",
        "activation",
        "optimizer",
        "lr",
        "dropout",
        "batch",
        "time",
        "move of",
    ):
        table.add_column(column, justify="right" if column in ("#", "trial", "time", "move of") else "left")
    for rank, values in enumerate(frame.head(top).to_dict("records"), 1):
        score = "-" if _missing(values["score"]) else f"{values['score']:.4f} ± {values['std']:.4f}"
        pareto = " *" if values.get("pareto") else ""
        table.add_row(
            str(rank),
            str(values["trial"]),
            values["state"].lower() + pareto,
            score,
            *(_text(values[c], "{:.4g}") for c in others),
            _text(values["backend"]),
            _text(values["architecture.family"]),
            _text(values["activation"]),
            _text(values["optimizer.name"]),
            _text(values["optimizer.learning_rate"], "{:.2g}"),
            _text(values["regularization.dropout"], "{:.2f}"),
            _text(values["training.batch_size"], "{:.0f}"),
            _text(values["duration_s"], "{:.1f}s"),
            _text(values["moved_from"], "{:.0f}"),  # a local move: the trial it changed one parameter of
        )
    return table


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _text(value: object, number_format: str = "{}") -> str:
    """A cell: '-' for a missing value, numbers through ``number_format``."""
    if _missing(value):
        return "-"
    return number_format.format(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
