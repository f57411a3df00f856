"""Which values of a parameter end at chance in real searches? Read off the searches' records.

`space_health.py` trains random draws outside any search. This reads the records that the peer
benchmark (`compare_peers.py`, automl's tools) and `selection_replay.py` wrote under
``benchmarks/results/``: every configuration a search's sampler drew (not the first trial, which
is the space's defaults, and not a local move from another trial), grouped by one parameter. A
trial is at chance when its score ended below the record's at-chance line
(``automl.run.health.chance_line``, stored in the record), whether its folds completed or a
rung or race stopped it; ``completed`` counts those that finished every fold.

    python benchmarks/sampled_health.py --task text --by optimizer.name --until 9d4603f
    python benchmarks/sampled_health.py --task text --by architecture.family

Asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def search_records(folder: Path, task: str) -> list[tuple[Path, dict[str, Any]]]:
    """Every search record of ``task`` by this automl under ``folder`` that lists its trials and its at-chance line."""
    paths = [*folder.glob(f"*/{task}-automl*-seed*.json"), *folder.glob(f"selection-replay/{task}-seed*.json")]
    found = []
    for path in sorted(paths):
        record = json.loads(path.read_text())
        if record.get("tool") == "automl-main":  # the automl of 99e8542 searches that commit's own spaces
            continue
        if record.get("trials") and record.get("at_chance", {}).get("threshold") is not None:
            found.append((path, record))
    return found


def tally(records: list[dict[str, Any]], by: str) -> dict[str, dict[str, float]]:
    """Per value of parameter ``by``: sampled configurations, how many ended at chance, completed, seconds."""
    groups: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for record in records:
        line = record["at_chance"]["threshold"]
        for trial in record["trials"]:
            params = trial.get("params") or {}
            if trial["number"] == 0 or trial.get("move") or trial.get("value") is None or by not in params:
                continue
            group = groups[str(params[by])]
            seconds = trial.get("seconds") or 0.0
            at_chance = trial["value"] < line
            group["draws"] += 1
            group["at chance"] += at_chance
            group["completed"] += trial["state"] == "COMPLETE"
            group["seconds"] += seconds
            group["seconds at chance"] += seconds if at_chance else 0.0
    return groups


def table(groups: dict[str, dict[str, float]], by: str) -> str:
    lines = [
        f"| {by} | sampled configurations | ended at chance | completed every fold | their time at chance |",
        "|---|---|---|---|---|",
    ]
    for value, group in sorted(groups.items(), key=lambda item: -item[1]["draws"]):
        share = group["seconds at chance"] / group["seconds"] if group["seconds"] else 0.0
        lines.append(
            f"| {value} | {group['draws']:.0f} | {group['at chance']:.0f} ({group['at chance'] / group['draws']:.0%})"
            f" | {group['completed']:.0f} | {share:.0%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="text", help="the records' task name (image, tabular, text, ...)")
    parser.add_argument("--by", default="optimizer.name", help="the parameter to group by, as the records name it")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--until", default=None, help="only records whose automl commit is this one or an ancestor")
    args = parser.parse_args(argv)
    found = search_records(args.results, args.task)
    if args.until is not None:
        found = [(path, record) for path, record in found if _is_ancestor(record.get("automl_commit"), args.until)]
    print(f"{len(found)} search records of {args.task}, from {len({path.parent.name for path, _ in found})} folders")
    print(table(tally([record for _, record in found], args.by), args.by))


@functools.cache  # many records share a commit: one git call each
def _is_ancestor(commit: str | None, until: str) -> bool:
    if not commit:
        return False
    command = ["git", "merge-base", "--is-ancestor", commit, until]
    return subprocess.run(command, capture_output=True, cwd=Path(__file__).parent).returncode == 0


if __name__ == "__main__":
    main()
