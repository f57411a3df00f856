"""Live progress of a search (Rich): trials, the folds of the running trial, the best score.

On a terminal the bars redraw in place; in a log (no terminal) each finished trial is one line.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class SearchProgress:
    """Receives events from the objective and shows them; ``enabled=False`` shows nothing."""

    def __init__(
        self, *, n_trials: int | None, n_splits: int, metric: str, enabled: bool = True, console: Console | None = None
    ) -> None:
        self.enabled, self.n_splits, self.metric = enabled, n_splits, metric
        self.console = console or Console(stderr=True)
        self.best: float | None = None
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._trials = self._progress.add_task("trials", total=n_trials, info="")
        self._folds = self._progress.add_task("folds", total=n_splits, info="", visible=False)

    def __enter__(self) -> SearchProgress:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self._progress.stop()

    def trial_started(self, number: int, summary: str) -> None:
        self._progress.reset(
            self._folds, total=self.n_splits, visible=True, description=f"trial {number}", info=summary
        )

    def epoch_finished(self, fold: int, epoch: int, logs: dict[str, float]) -> None:
        """Show the running fold's epoch and validation loss on the folds bar."""
        loss = logs.get("val_loss")
        loss_text = "" if loss is None else f"  val_loss {loss:.4f}"
        self._progress.update(self._folds, info=f"fold {fold} epoch {epoch + 1}{loss_text}")

    def fold_finished(self, fold: int, score: float, running_mean: float) -> None:
        self._progress.update(
            self._folds, completed=fold + 1, info=f"fold {fold}: {score:.4f}  running mean {running_mean:.4f}"
        )

    def trial_finished(self, number: int, state: str, line: str, best: float | None) -> None:
        self.best = best
        best_text = "" if best is None else f"best {self.metric} {best:.4f}"
        self._progress.update(self._trials, advance=1, info=best_text)
        self._progress.update(self._folds, visible=False)
        if self.enabled:
            colour = {"COMPLETE": "green", "PRUNED": "yellow"}.get(state, "red")
            self._progress.console.print(
                f"trial {number:>3} [{colour}]{state.lower():<8}[/] {line}", highlight=False, soft_wrap=True
            )
