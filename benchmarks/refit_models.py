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

import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
from refit_strategy import completed_configurations, mean_interval, record_parser, write_records

RESULTS = Path(__file__).resolve().parent / "results" / "refit_models"


def measure(task: str, seed: int, draws: int, models: int) -> dict[str, Any]:
    """Cross-validate the defaults and ``draws`` random draws; refit each completed one with ``models``
    models and score the average of its first ``r`` models for every ``r``."""
    from automl.refit.refit import refit_trial

    trials, dataset, split = completed_configurations(task, seed, draws)
    configurations = []
    for trial in trials:
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
    parser = record_parser(__doc__, RESULTS)
    parser.add_argument("--models", type=int, default=4, help="models each refit trains (every fewer is scored too)")
    args = parser.parse_args(argv)
    if not args.table:
        write_records(args.out, args.tasks, args.seeds, lambda task, seed: measure(task, seed, args.draws, args.models))
    print(table(args.out))


if __name__ == "__main__":
    main()
