"""How to refit a trial on all the training data: hold rows out to stop on, or train for the folds' epochs.

For each task and seed, automl cross-validates a few configurations of the task's shipped space
on the training part of the peers' split (``peer_space.load_split``: a fixed stratified 20 % test
part): the space's defaults and ``--draws`` random draws, 5 folds, no pruning. Each completed
configuration is then refit on the whole training part in each way below and scored on the test
part:

- ``hold 1/k``: a stratified fifth (1/k) held out to stop on, best epoch's weights kept;
- ``hold 1/10``: the same with a tenth held out;
- ``all rows``: every row, for the folds' mean best epoch count (what the Optuna script and
  AutoGluon's ``refit_full`` do).

Prints the mean test accuracy of each way per task and the paired difference of each against
``hold 1/k`` with its 95 % t-interval; writes one record per (task, seed) under ``--out``.

    python benchmarks/refit_strategy.py --tasks image tabular text --seeds 0 1 2
    python benchmarks/refit_strategy.py --tasks package-docs --seeds 0 1 2   # a text set never tuned on
    python benchmarks/refit_strategy.py --table
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from peer_space import Split, load_split

RESULTS = Path(__file__).resolve().parent / "results" / "refit_strategy"
N_SPLITS = 5
STRATEGIES = {"hold 1/k": 1 / N_SPLITS, "hold 1/10": 0.1, "all rows": 0.0}  # refit_trial's hold_out


def completed_configurations(task: str, seed: int, draws: int) -> tuple[list[Any], Any, Split]:
    """Cross-validate the space's defaults and ``draws`` random draws (5 folds, no pruning, no refit)
    on the training part; return the completed trials, the training part as a ``Dataset`` and the split."""
    import optuna

    import automl
    from automl.data import load_dataset
    from automl.data.text import text_dataset

    split = load_split(task)
    with tempfile.TemporaryDirectory() as tmp:
        data: Any = (split.raw_train, split.y_train)
        if split.task == "text":
            import pandas as pd

            data = f"{tmp}/train.csv"
            pd.DataFrame({"text": split.raw_train, "label": split.y_train}).to_csv(data, index=False)
        result = automl.search(
            task=split.task,
            data=data,
            n_trials=1 + draws,
            n_splits=N_SPLITS,
            sampler="random",
            pruner="none",
            portfolio=False,
            refit=False,
            ensemble_size=0,
            register=False,
            seed=seed,
            runs_dir=f"{tmp}/runs",
            verbose=False,
        )
    if split.task == "text":
        dataset = text_dataset(np.asarray(split.raw_train, dtype=object), split.y_train, name="train")
    else:
        dataset = load_dataset(task, (split.raw_train, split.y_train), n_splits=N_SPLITS)
    return result.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)), dataset, split


def measure(task: str, seed: int, draws: int) -> dict[str, Any]:
    """Cross-validate the defaults and ``draws`` random draws, refit each completed one every way."""
    from automl.refit.refit import refit_trial

    trials, dataset, split = completed_configurations(task, seed, draws)
    configurations = []
    for trial in trials:
        scores = {}
        for name, hold_out in STRATEGIES.items():
            model = refit_trial(trial, dataset, seed, hold_out=hold_out)
            scores[name] = float(np.mean(model.predict(split.raw_test) == split.y_test))
        configurations.append({"trial": trial.number, "cv_score": trial.value, "test_accuracy": scores})
        print(f"  {task} seed {seed} trial {trial.number} (CV {trial.value:.4f}): {scores}", flush=True)
    return {"task": task, "seed": seed, "configurations": configurations}


def table(folder: Path) -> str:
    """Per task: mean test accuracy of each way, and each way minus ``hold 1/k`` (paired, 95 % t)."""
    records = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    lines = [
        "| task | refits | "
        + " | ".join(STRATEGIES)
        + " | "
        + " | ".join(f"{name} − hold 1/k" for name in list(STRATEGIES)[1:])
        + " |",
        "|---" * (2 + 2 * len(STRATEGIES) - 1) + "|",
    ]
    for task in sorted({r["task"] for r in records}):
        rows = [c["test_accuracy"] for r in records if r["task"] == task for c in r["configurations"]]
        means = [f"{statistics.mean(row[name] for row in rows):.4f}" for name in STRATEGIES]
        diffs = []
        for name in list(STRATEGIES)[1:]:
            mean, low, high = mean_interval([row[name] - row["hold 1/k"] for row in rows])
            diffs.append(f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]")
        lines.append(f"| {task} | {len(rows)} | " + " | ".join(means + diffs) + " |")
    return "\n".join(lines)


def mean_interval(differences: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval."""
    from scipy import stats

    mean = statistics.mean(differences)
    if len(differences) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(differences) - 1) * statistics.stdev(differences) / len(differences) ** 0.5
    return mean, mean - half, mean + half


def record_parser(description: str | None, results: Path) -> argparse.ArgumentParser:
    """The options every refit benchmark takes: tasks, seeds, draws, the records' folder, --table."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=["image", "tabular", "text"])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--draws", type=int, default=2, help="random draws cross-validated beside the defaults")
    parser.add_argument("--out", type=Path, default=results)
    parser.add_argument("--table", action="store_true", help="only print the table of the records in --out")
    return parser


def write_records(out: Path, tasks: list[str], seeds: list[int], measure_one: Callable[[str, int], dict]) -> None:
    """One record per (task, seed) under ``out``, skipping those already there (resumable)."""
    from automl.logs import quiet_frameworks

    quiet_frameworks()
    out.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        for seed in seeds:
            path = out / f"{task}-seed{seed}.json"
            if not path.exists():
                path.write_text(json.dumps(measure_one(task, seed), indent=1))


def main(argv: list[str] | None = None) -> None:
    args = record_parser(__doc__, RESULTS).parse_args(argv)
    if not args.table:
        write_records(args.out, args.tasks, args.seeds, lambda task, seed: measure(task, seed, args.draws))
    print(table(args.out))


if __name__ == "__main__":
    main()
