"""Which at-chance stops of past searches would the incumbent-relative line have let go on?

Racing's at-chance rule stops a trial whose first-fold validation accuracy, after 3 epochs, is at
most a tenth of the way from chance to a reference: 1 until 8057f34, the incumbent's first-fold
score since ce325a3 (chance itself before any trial completed). This reads search records of
`compare_peers.py` (their trials' first-fold curves and fold scores) and counts, per folder and
task, the trials that the old line stopped and the new line would not have (each stop's last
first-fold score above the new line, the incumbent being the best trial completed before it).
Chance is the majority rate of the task's training part (`peer_space.load_split`).

    python benchmarks/chance_line_replay.py benchmarks/results/linear-tabular/base \
        benchmarks/results/peers-reserve-4028029 benchmarks/results/selection-replay

Asserts nothing; prints one line per (folder, task) and one per trial that would have gone on.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from automl.trial.racing import chance_line


def majority_rate(task: str) -> float:
    from peer_space import load_split

    y = load_split(task).y_train
    return float(np.bincount(y).max() / len(y))


def replay(folders: list[Path]) -> list[str]:
    rates: dict[str, float] = {}
    stops: Counter[tuple[str, str]] = Counter()
    freed: Counter[tuple[str, str]] = Counter()
    lines = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            record = json.loads(path.read_text())
            task, trials = record.get("task"), record.get("trials") or []
            if task is None:
                continue
            for trial in trials:
                if trial.get("stopped_by") != "chance":
                    continue
                if task not in rates:
                    rates[task] = majority_rate(task)
                chance = rates[task]
                earlier = [
                    t
                    for t in trials
                    if t["number"] < trial["number"] and t["state"] == "COMPLETE" and t.get("fold_scores")
                ]
                incumbent = max(earlier, key=lambda t: t["value"]) if earlier else None
                reference = incumbent["fold_scores"][0] if incumbent else None
                line = chance_line(chance, reference)
                last = trial["curve"][-1] if trial.get("curve") else trial["value"]
                stops[(str(folder), task)] += 1
                if last > line:
                    freed[(str(folder), task)] += 1
                    lines.append(f"  {path.name} trial {trial['number']}: {last:.4f} above the new line {line:.4f}")
    summary = [
        f"{folder} {task}: {count} stopped at chance, {freed[(folder, task)]} above the new line"
        for (folder, task), count in sorted(stops.items())
    ]
    return summary + lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    print("\n".join(replay(parser.parse_args().folders)))


if __name__ == "__main__":
    main()
