"""Optuna's plots of a study, written as one self-contained HTML file."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna

PLOTS = {
    "Optimization history": optuna.visualization.plot_optimization_history,
    "Parameter importances": optuna.visualization.plot_param_importances,
    "Parallel coordinates": optuna.visualization.plot_parallel_coordinate,
    "Slice": optuna.visualization.plot_slice,
    "Intermediate values (pruning steps)": optuna.visualization.plot_intermediate_values,
}


def write_plots(study: optuna.Study, path: Path) -> list[str]:
    """Write every plot that the study's trials allow into ``path``; return the skipped ones' reasons."""
    parts, skipped = [], []
    include_js: bool = True  # embed plotly.js once, so the file opens offline
    for title, plot in PLOTS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                figure = plot(study)
        except Exception as exc:  # e.g. importances need two completed trials
            skipped.append(f"{title}: {exc}")
            continue
        figure.update_layout(title=title)
        parts.append(figure.to_html(full_html=False, include_plotlyjs=include_js))
        include_js = False
    notes = "".join(f"<li>{s}</li>" for s in skipped)
    html = (
        f"<html><head><meta charset='utf-8'><title>{study.study_name}</title></head><body>"
        f"<h1>Study {study.study_name}</h1>{''.join(parts)}"
        + (f"<h2>Plots not drawn</h2><ul>{notes}</ul>" if notes else "")
        + "</body></html>"
    )
    path.write_text(html, encoding="utf-8")
    return skipped
