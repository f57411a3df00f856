"""The search report: one self-contained HTML file with the summary, the leaderboard and Optuna's plots."""

from __future__ import annotations

import functools
import html
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from automl.tracking.leaderboard import FAIL_REASON_COLUMN
from automl.trial.goals import is_multi_objective, objective_names

PLOTS = {
    "Optimization history": optuna.visualization.plot_optimization_history,
    "Parameter importances": optuna.visualization.plot_param_importances,
    "Parallel coordinates": optuna.visualization.plot_parallel_coordinate,
    "Slice": optuna.visualization.plot_slice,
    "Intermediate values (pruning steps)": optuna.visualization.plot_intermediate_values,
}
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
    "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    "th{background:#f3f3f3}pre{background:#f6f6f6;padding:1em;overflow:auto}"
)


def _plots(study: optuna.Study) -> dict[str, Callable[[], Any]]:
    """The plots of ``study``: with several metrics, the Pareto front of the first two (the others
    shown on hover), then Optuna's plots of the first metric."""
    if not is_multi_objective(study):
        return {title: functools.partial(plot, study) for title, plot in PLOTS.items()}
    names = objective_names(study)
    first = {"target": lambda t: t.values[0], "target_name": names[0]}
    plots: dict[str, Callable[[], Any]] = {
        f"Pareto front: {names[0]} and {names[1]}": functools.partial(
            optuna.visualization.plot_pareto_front,
            study,
            targets=lambda t: (t.values[0], t.values[1]),
            target_names=names[:2],
            include_dominated_trials=True,
        )
    }
    for title, plot in PLOTS.items():
        if plot is not optuna.visualization.plot_intermediate_values:  # trials of several metrics report none
            plots[f"{title} ({names[0]})"] = functools.partial(plot, study, **first)
    return plots


def plot_sections(study: optuna.Study) -> tuple[list[str], list[str]]:
    """HTML of every plot the study's trials allow (plotly.js embedded once), and the skipped plots' reasons."""
    parts, skipped = [], []
    include_js: bool = True  # embed plotly.js once, so the file opens offline
    for title, plot in _plots(study).items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                figure = plot()
        except Exception as exc:  # e.g. importances need two completed trials
            skipped.append(f"{title}: {exc}")
            continue
        figure.update_layout(title=title)
        parts.append(figure.to_html(full_html=False, include_plotlyjs=include_js))
        include_js = False
    return parts, skipped


def write_report(
    study: optuna.Study,
    path: Path,
    *,
    summary: dict[str, Any],
    board: pd.DataFrame,
    best: dict[str, Any] | None,
    top: int = 20,
) -> list[str]:
    """Write the report of ``study`` into ``path``; return the reasons of plots that could not be drawn.

    ``summary`` is shown as a two-column table (settings, data, trial counts), ``board`` is the
    leaderboard (best first) and ``best`` the best trial's score, folds and configuration.
    """
    plots, skipped = plot_sections(study)
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items())
    best_html = "<p>No trial completed.</p>"
    if best is not None:
        best_html = f"<pre>{html.escape(json.dumps(best, indent=2, default=str))}</pre>"
    shown = board.head(top).drop(columns=[FAIL_REASON_COLUMN], errors="ignore")
    failures = board.dropna(subset=[FAIL_REASON_COLUMN]) if FAIL_REASON_COLUMN in board else board.iloc[0:0]
    failed_html = ""
    if len(failures):
        items = "".join(
            f"<li>trial {int(r['trial'])}: {html.escape(str(r[FAIL_REASON_COLUMN]))}</li>"
            for _, r in failures.iterrows()
        )
        failed_html = f"<h2>Failed trials</h2><ul>{items}</ul>"
    front_html = ""
    if "pareto" in board.columns:
        front = board[board["pareto"] == True].drop(columns=[FAIL_REASON_COLUMN, "pareto"], errors="ignore")  # noqa: E712
        front_html = f"<h2>Pareto front ({len(front)} trials)</h2>" + front.to_html(
            index=False, na_rep="-", float_format=lambda v: f"{v:.4g}", border=0
        )
    notes = "".join(f"<li>{html.escape(s)}</li>" for s in skipped)
    name = html.escape(study.study_name)
    document = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>automl report: {name}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Search report: {name}</h1><table>{rows}</table>"
        f"<h2>Best trial{' (on the first metric)' if front_html else ''}</h2>{best_html}{front_html}"
        f"<h2>Leaderboard (top {min(top, len(board))} of {len(board)} finished trials)</h2>"
        + shown.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}", border=0)
        + failed_html
        + "<h2>Plots</h2>"
        + "".join(plots)
        + (f"<h2>Plots not drawn</h2><ul>{notes}</ul>" if notes else "")
        + "</body></html>"
    )
    path.write_text(document, encoding="utf-8")
    return skipped
