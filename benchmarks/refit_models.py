"""How many models a refit should train and average (``--refit-models``).

For each task and seed, automl cross-validates a few configurations of the task's shipped space
on the training part of the peers' split (``peer_space.load_split``: a fixed stratified 20 % test
part): the space's defaults and ``--draws`` random draws, 5 folds, no pruning. Each completed
configuration is then refit with ``--models`` models (``refit_trial(models=...)``: model ``i``
starts from seed ``seed + i`` and holds out its own rows to stop on). Because model ``i`` of a
refit of 4 is model ``i`` of a refit of 2, the average of its first ``r`` models is exactly what
``--refit-models r`` hands over, so one refit measures every ``r``.

Prints, per task, the mean test accuracy of each ``r`` and its paired difference from one model
(95 % t-interval over configurations), and the share of configurations it improved; writes one
record per (task, seed) under ``--out``.

    python benchmarks/refit_models.py --tasks image tabular text --seeds 0 1 2
    python benchmarks/refit_models.py --table
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from peer_space import load_split
from refit_strategy import mean_interval

RESULTS = Path(__file__).resolve().parent / "results" / "refit_models"
N_SPLITS = 5


def measure(task: str, seed: int, draws: int, models: int) -> dict[str, Any]:
    """Cross-validate the defaults and ``draws`` random draws; refit each completed one with ``models``
    models and score the average of its first ``r`` models for every ``r``."""
    import optuna

    import automl
    from automl.data import load_dataset
    from automl.data.text import text_dataset
    from automl.refit.refit import refit_trial

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
    configurations = []
    for trial in result.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        refit = refit_trial(trial, dataset, seed, models=models)
        outputs = [member.predict_proba(split.raw_test) for member in refit.members]
        classes = np.asarray(refit.classes)
        accuracy = {
            str(r): float(np.mean(classes[np.mean(outputs[:r], axis=0).argmax(axis=1)] == split.y_test))
            for r in range(1, models + 1)
        }
        members = [float(np.mean(classes[o.argmax(axis=1)] == split.y_test)) for o in outputs]
        configurations.append(
            {"trial": trial.number, "cv_score": trial.value, "test_accuracy": accuracy, "each_model": members}
        )
        print(f"  {task} seed {seed} trial {trial.number} (CV {trial.value:.4f}): {accuracy}", flush=True)
    return {"task": task, "seed": seed, "models": models, "configurations": configurations}


def table(folder: Path) -> str:
    """Per task: mean test accuracy of each number of models, and each minus one model (paired, 95 % t)."""
    records = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    counts = sorted({int(r) for record in records for c in record["configurations"] for r in c["test_accuracy"]})
    lines = [
        "| task | configurations | "
        + " | ".join(f"{r} model{'s' * (r > 1)}" for r in counts)
        + " | "
        + " | ".join(f"{r} − 1 (better/worse)" for r in counts[1:])
        + " |",
        "|---" * (2 + 2 * len(counts) - 1) + "|",
    ]
    for task in sorted({r["task"] for r in records}):
        rows = [c["test_accuracy"] for r in records if r["task"] == task for c in r["configurations"]]
        means = [f"{statistics.mean(row[str(r)] for row in rows):.4f}" for r in counts]
        diffs = []
        for r in counts[1:]:
            differences = [row[str(r)] - row["1"] for row in rows]
            mean, low, high = mean_interval(differences)
            better, worse = sum(d > 1e-9 for d in differences), sum(d < -1e-9 for d in differences)
            diffs.append(f"{mean:+.4f} [{low:+.4f}, {high:+.4f}] ({better}/{worse})")
        lines.append(f"| {task} | {len(rows)} | " + " | ".join(means + diffs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=["image", "tabular", "text"])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--draws", type=int, default=2, help="random draws cross-validated beside the defaults")
    parser.add_argument("--models", type=int, default=4, help="models each refit trains (every fewer is scored too)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="only print the table of the records in --out")
    args = parser.parse_args(argv)
    if not args.table:
        from automl.logs import quiet_frameworks

        quiet_frameworks()
        args.out.mkdir(parents=True, exist_ok=True)
        for task in args.tasks:
            for seed in args.seeds:
                path = args.out / f"{task}-seed{seed}.json"
                if not path.exists():  # resumable
                    path.write_text(json.dumps(measure(task, seed, args.draws, args.models), indent=1))
    print(table(args.out))


if __name__ == "__main__":
    main()
