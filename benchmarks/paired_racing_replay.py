"""Replay the paired racing rule on the committed searches: folds it saves, good trials it drops.

Every automl record under benchmarks/results/ that lists its trials' fold scores is one search
(5-fold CV, accuracy). Its trials are replayed in order into an in-memory Optuna study, and
after each fold but the last the rule of the package (`automl.trial.racing.paired_race`, against
the best completed trial so far) is asked whether it would have stopped the trial there. The
searches ran with the forgiving rule only (records from c8b6e06 on, which hold each trial's
`stop_reason`, ran with the paired rule too and are left out), so what the paired rule adds shows as:

- folds saved: the folds a trial trained after the fold where the paired rule stops it;
- trials that became the best: completed trials whose mean beat the best trial before them, and
  how many of those the paired rule would have dropped (a dropped future incumbent is the cost).

A replay, not a re-run: a search that had saved those folds would have spent them on other
configurations, which this cannot show (compare_peers.py measures that). The same search can sit
in two folders (a sweep's records copied into another's); it is counted once.

    python benchmarks/paired_racing_replay.py                # the package's rule (5 %)
    python benchmarks/paired_racing_replay.py --alpha 0.1    # the same rule at another threshold

Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from automl.names import TrialAttr
from automl.trial.racing import PAIRED_ALPHA, best_completed, paired_race

RESULTS = Path(__file__).parent / "results"
FOLDS = 5


def searches() -> list[dict]:
    """The distinct automl records with per-trial fold scores of a 5-fold CV search."""
    found, seen = [], set()
    for path in sorted(RESULTS.rglob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or record.get("score_kind") != f"accuracy ({FOLDS}-fold CV)":
            continue
        trials = record.get("trials")
        if not trials or "fold_scores" not in trials[0] or not str(record.get("tool", "")).startswith("automl"):
            continue
        if "stop_reason" in trials[0]:  # recorded since c8b6e06: these searches ran with the paired rule
            continue
        key = json.dumps([record.get("task"), [t["fold_scores"] for t in trials]])
        if key not in seen:
            seen.add(key)
            found.append(record)
    return found


def replay(record: dict, alpha: float) -> dict[str, int]:
    """Folds trained and saved, future incumbents and those the paired rule drops, in one search."""
    study = optuna.create_study(direction="maximize")
    counts = {"folds": 0, "saved": 0, "became_best": 0, "dropped_best": 0}
    for trial in record["trials"]:
        scores = trial["fold_scores"] or []
        counts["folds"] += len(scores)
        incumbent = best_completed(study)
        stop_after = None
        if incumbent is not None:
            completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            for k in range(1, min(len(scores), FOLDS - 1) + 1):
                if paired_race(completed, incumbent, scores[:k], maximize=True, alpha=alpha) is not None:
                    stop_after = k
                    break
        if stop_after is not None:
            counts["saved"] += len(scores) - stop_after
        if trial["state"] == "COMPLETE" and len(scores) == FOLDS:
            mean = sum(scores) / FOLDS
            if incumbent is not None and mean > incumbent.value:
                counts["became_best"] += 1
                counts["dropped_best"] += stop_after is not None
            study.add_trial(
                optuna.create_trial(
                    state=TrialState.COMPLETE,
                    value=mean,
                    params={"n": float(trial["number"])},
                    distributions={"n": FloatDistribution(0, 1e6)},
                    user_attrs={TrialAttr.FOLD_SCORES: scores},
                )
            )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpha", type=float, default=PAIRED_ALPHA, help="stop below this chance of ending ahead")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for record in searches():
        task = record.get("task", "?")
        totals[task]["searches"] += 1
        for key, value in replay(record, args.alpha).items():
            totals[task][key] += value
            totals["all"][key] += value
        totals["all"]["searches"] += 1
    print(f"{'task':<18} {'searches':>8} {'folds':>6} {'saved':>6} {'share':>6} {'became best':>12} {'dropped':>8}")
    for task, c in sorted(totals.items(), key=lambda item: item[0] == "all"):
        share = c["saved"] / c["folds"] if c["folds"] else 0.0
        print(
            f"{task:<18} {c['searches']:>8} {c['folds']:>6} {c['saved']:>6} {share:>6.1%} "
            f"{c['became_best']:>12} {c['dropped_best']:>8}"
        )


if __name__ == "__main__":
    main()
