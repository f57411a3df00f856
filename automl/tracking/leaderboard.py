"""The leaderboard of a study: one row per finished trial, best first."""

from __future__ import annotations

from collections import Counter

import optuna
import pandas as pd
from rich.table import Table

from automl.names import TrialAttr
from automl.tracking.tracker import flatten
from automl.trial.outcome import FINISHED

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
    duration and key parameters.

    Completed trials come first, best score first; pruned and failed trials follow.
    """
    rows = []
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        attrs = trial.user_attrs
        if TrialAttr.DUPLICATE_OF in attrs:  # a repeat skipped before training: nothing to show
            continue
        fold_scores = attrs.get(TrialAttr.FOLD_SCORES) or []
        row = {
            "trial": trial.number,
            "state": trial.state.name,
            "score": trial.value if trial.state == optuna.trial.TrialState.COMPLETE else None,
            "std": attrs.get(TrialAttr.SCORE_STD) if trial.state == optuna.trial.TrialState.COMPLETE else None,
            "folds": len(fold_scores),
            "backend": attrs.get(TrialAttr.BACKEND),
            "duration_s": attrs.get(TrialAttr.DURATION_S),
        }
        config = flatten(attrs.get(TrialAttr.CONFIG) or {})
        row.update({key: config.get(key) for key in KEY_PARAMS})
        row["stopped_by"] = attrs.get(TrialAttr.STOPPED_BY)
        row[FAIL_REASON_COLUMN] = attrs.get(TrialAttr.FAIL_REASON)
        rows.append(row)
    columns = [
        "trial",
        "state",
        "score",
        "std",
        "folds",
        "backend",
        "duration_s",
        *KEY_PARAMS,
        "stopped_by",
        FAIL_REASON_COLUMN,
    ]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    ascending = study.direction == optuna.study.StudyDirection.MINIMIZE
    frame["_complete"] = frame["state"] == "COMPLETE"
    frame = frame.sort_values(["_complete", "score"], ascending=[False, ascending], na_position="last")
    return frame.drop(columns="_complete").reset_index(drop=True)


def outcomes(study: optuna.Study) -> dict[str, int]:
    """How the study's trials ended: evaluated (trained at all), completed, and why the others stopped."""
    trials = study.get_trials(deepcopy=False, states=FINISHED)
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
    return f"{counts['evaluated']} evaluated: " + ", ".join(shown) + completions


def leaderboard_table(frame: pd.DataFrame, metric: str, top: int = 10) -> Table:
    """A Rich table of the top rows of ``frame``."""
    table = Table(title=f"Leaderboard (top {min(top, len(frame))} of {len(frame)} trials, {metric})")
    for column in (
        "#",
        "trial",
        "state",
        f"{metric} ± std",
        "backend",
        "family",
        "activation",
        "optimizer",
        "lr",
        "dropout",
        "batch",
        "time",
    ):
        table.add_column(column, justify="right" if column in ("#", "trial", "time") else "left")
    for rank, values in enumerate(frame.head(top).to_dict("records"), 1):
        score = "-" if _missing(values["score"]) else f"{values['score']:.4f} ± {values['std']:.4f}"
        table.add_row(
            str(rank),
            str(values["trial"]),
            values["state"].lower(),
            score,
            _text(values["backend"]),
            _text(values["architecture.family"]),
            _text(values["activation"]),
            _text(values["optimizer.name"]),
            _text(values["optimizer.learning_rate"], "{:.2g}"),
            _text(values["regularization.dropout"], "{:.2f}"),
            _text(values["training.batch_size"], "{:.0f}"),
            _text(values["duration_s"], "{:.1f}s"),
        )
    return table


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _text(value: object, number_format: str = "{}") -> str:
    """A cell: '-' for a missing value, numbers through ``number_format``."""
    if _missing(value):
        return "-"
    return number_format.format(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
