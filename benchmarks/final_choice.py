"""Which completed trial should a search hand over? Every completed trial refit and tested, per search.

automl hands over its best trial by mean CV score. On digits most best trials are local moves
that beat their parent by less than one standard error of the paired fold differences, and on
two of the five sweep seeds (benchmarks/results/peers-refit3) the refit best tested below the
refit defaults. This runs the peer benchmark's automl job (`peer_runs.run_automl`: 300 s, 5-fold
CV, the averaged refit) on seeds the sweep did not use, then refits every completed trial of the
search the same way (outside the budget) and scores it on the test part, so that any rule for
choosing the final trial can be read off the records:

- `best`: the best mean CV score (automl today);
- `parent`: from the best trial, step back to a local move's parent while the move's mean paired
  fold difference over it is at most one standard error of those differences (a tie goes to
  the configuration the move started from). Fixed before these seeds ran.

    python benchmarks/final_choice.py --task image --seeds 5 6 7 8 9   # resumable; records per seed
    python benchmarks/final_choice.py --report                         # the table, from the records

Records: benchmarks/results/final-choice/<task>-seed<N>.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from seed_processes import commit, run_each_seed, write_record

RESULTS = Path(__file__).parent / "results" / "final-choice"
BUDGET_S = 300.0


def parent_rule(trials: list[dict[str, Any]], best: int) -> int:
    """The trial the `parent` rule hands over, from the records' trial summaries."""
    by_number = {t["number"]: t for t in trials}
    chosen = by_number[best]
    while chosen.get("moved_from") is not None:
        parent = by_number.get(chosen["moved_from"])
        if parent is None or parent["state"] != "COMPLETE" or not parent.get("fold_scores"):
            break
        differences = [a - b for a, b in zip(chosen["fold_scores"], parent["fold_scores"], strict=True)]
        error = statistics.stdev(differences) / math.sqrt(len(differences))
        if statistics.mean(differences) > error:
            break
        chosen = parent
    return chosen["number"]


def run_seed(task: str, seed: int) -> dict[str, Any]:
    """One search and every completed trial's refit test accuracy (in this process)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from peer_runs import _refit_accuracy, run_automl
    from peer_space import load_split

    split = load_split(task)

    def refit_every_trial(result: Any, split: Any, seed: int) -> dict[str, Any]:
        import optuna

        models = getattr(result, "refit_models", 1)
        complete = result.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        return {"refit_test_accuracy": {str(t.number): _refit_accuracy(t, split, seed, models) for t in complete}}

    record = run_automl(task, split, seed, BUDGET_S, after=refit_every_trial, final_model="refit")
    return {"task": task, "seed": seed, "budget_s": BUDGET_S, "automl_commit": commit(), **record}


def report(folder: Path) -> str:
    rows, best_scores, parent_scores = [], [], []
    for path in sorted(folder.glob("*-seed*.json")):
        record = json.loads(path.read_text())
        tested = {int(k): v for k, v in record["refit_test_accuracy"].items()}
        best, chosen = record["best_trial"], parent_rule(record["trials"], record["best_trial"])
        best_scores.append(tested[best])
        parent_scores.append(tested[chosen])
        ranked = sorted(tested.items(), key=lambda kv: -kv[1])
        rows.append(
            f"| {record['task']} | {record['seed']} | {record['trials_completed']} | {best} | {tested[best]:.4f} | "
            f"{chosen} | {tested[chosen]:.4f} | {tested.get(0, float('nan')):.4f} | "
            f"{ranked[0][1]:.4f} (trial {ranked[0][0]}) | {record['test_accuracy']:.4f} |"
        )
    lines = [
        "| task | seed | completed | best (CV) | its test | parent rule | its test | trial 0 test | best test of any "
        "completed | the search's own refit best |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    if len(best_scores) > 1:
        differences = [p - b for p, b in zip(parent_scores, best_scores, strict=True)]
        error = statistics.stdev(differences) / math.sqrt(len(differences))
        lines.append(
            f"\nparent rule − best: {statistics.mean(differences):+.4f} (SE {error:.4f}) over {len(differences)} "
            f"searches; mean test: best {statistics.mean(best_scores):.4f}, "
            f"parent rule {statistics.mean(parent_scores):.4f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="image", choices=["image", "tabular", "text"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[5, 6, 7, 8, 9])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true", help="print the table from the records and stop")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one seed in this process
    args = parser.parse_args()
    if args.report:
        print(report(args.results))
        return
    args.results.mkdir(parents=True, exist_ok=True)
    if args.one is not None:
        record = run_seed(args.task, args.one)
        write_record(args.results, args.task, args.one, record)
        return
    run_each_seed(__file__, args.task, args.seeds, args.results)
    print(report(args.results))


if __name__ == "__main__":
    main()
