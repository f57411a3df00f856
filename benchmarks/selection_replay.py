"""Which trials should a search hand over, and chosen on which score? Rules replayed on the same searches.

A search with fold models (automl's default) keeps each trial's out-of-fold predictions, and the
fold models of each trial that completed among the best so far. This runs the peer benchmark's
automl-folds job (`peer_runs.run_automl`: 300 s, 5-fold CV, fold models handed over) and saves,
beside its record, every kept trial's out-of-fold class probabilities and its fold models' averaged
test probabilities (outside the budget). Any rule for choosing the hand-over among those trials can
then be scored on the test part of the very same searches, paired, without searching again.

The rules (fixed before the records were made; ensembles: 10 picks among the 15 best kept trials,
as `automl.refit.ensemble`):

- `best`: the best mean CV accuracy, ties to the earlier trial (automl's single best today);
- `best-tie-ll`: the best mean CV accuracy, ties to the lower out-of-fold log loss;
- `best-ll`: the lowest out-of-fold log loss;
- `ens-acc`: ensemble selection on out-of-fold accuracy, replacing the best trial only when the
  bootstrap-corrected accuracy of choosing so beats that of choosing the best trial (automl until
  `ens-acc-most`);
- `ens-acc-all`: the same selection, always handed over;
- `ens-ll`: ensemble selection on out-of-fold log loss, gated as `ens-acc` on corrected log loss;
- `ens-ll-all`: the log-loss selection, always handed over;
- `ens-acc-most`: `ens-acc`, handed over only when the ensemble also beats the best trial out of
  bag in most bootstrap rounds (automl's hand-over since this rule was added; written after the
  first 19 searches were replayed, then scored on searches of seeds 5 and up).

    python benchmarks/selection_replay.py --task tabular --seeds 0 1 2 3 4   # resumable, per seed
    python benchmarks/selection_replay.py --report                           # the table, from the records

Records: benchmarks/results/selection-replay/<task>-seed<N>.json and .npz. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from seed_processes import commit, run_each_seed, write_record

RESULTS = Path(__file__).parent / "results" / "selection-replay"
BUDGET_S = 300.0
SIZE, CANDIDATES, ROUNDS = 10, 15, 50


def run_seed(task: str, seed: int, folder: Path, budget: float = BUDGET_S) -> dict[str, Any]:
    """One automl-folds search; its kept trials' predictions go to ``<task>-seed<N>.npz`` in ``folder``."""
    sys.path.insert(0, str(Path(__file__).parent))
    from peer_runs import run_automl
    from peer_space import load_split

    split = load_split(task)

    def save_predictions(result: Any, split: Any, seed: int) -> dict[str, Any]:
        from automl.names import TrialAttr
        from automl.refit.bagging import load_bag
        from automl.tracking.tracker import Tracker

        tracker = Tracker(result.tracking_uri, result.study.study_name)
        classes = np.unique(split.y_train)
        numbers, values, oof, test = [], [], [], []
        for trial in result.study.get_trials(deepcopy=False):
            if trial.state.name != "COMPLETE" or not trial.user_attrs.get(TrialAttr.FOLD_MODELS):
                continue
            run_id = trial.user_attrs[TrialAttr.MLFLOW_RUN_ID]
            predictions = tracker.load_out_of_fold(run_id)
            with tempfile.TemporaryDirectory() as tmp:
                folder_of_models = tracker.download_fold_models(run_id, Path(tmp))
                if predictions is None or folder_of_models is None:
                    continue
                test.append(load_bag(folder_of_models, trial.number).predict_proba(split.raw_test))
            numbers.append(trial.number)
            values.append(trial.value)
            oof.append(predictions)
        np.savez_compressed(
            folder / f"{task}-seed{seed}.npz",
            numbers=np.array(numbers),
            values=np.array(values),
            oof=np.array(oof, dtype=np.float32),
            test=np.array(test, dtype=np.float32),
            y=np.searchsorted(classes, split.y_train),
            y_test=np.searchsorted(classes, split.y_test),
        )
        return {"kept_trials": numbers}

    record = run_automl(task, split, seed, budget, after=save_predictions, refit_first=False, final_model="folds")
    return {"task": task, "seed": seed, "budget_s": budget, "automl_commit": commit(), **record}


def accuracy(y: np.ndarray, stack: np.ndarray) -> np.ndarray:
    """Accuracy of each prediction in ``stack`` (m, n, k); higher is better."""
    return (stack.argmax(axis=-1) == y[None]).mean(axis=1)


def log_loss(y: np.ndarray, stack: np.ndarray) -> np.ndarray:
    """Log loss of each prediction in ``stack`` (m, n, k), negated so that higher is better."""
    picked = np.take_along_axis(stack, y[None, :, None], axis=-1)[..., 0]
    return np.log(np.clip(picked, 1e-15, 1.0)).mean(axis=1)


Score = Callable[[np.ndarray, np.ndarray], np.ndarray]


def greedy(stack: np.ndarray, y: np.ndarray, score: Score, rows: np.ndarray | None = None) -> list[int]:
    """Caruana's forward selection with replacement, ``SIZE`` picks, on ``rows`` only if given."""
    part, target = (stack, y) if rows is None else (stack[:, rows], y[rows])
    picks = [int(np.argmax(score(target, part)))]
    total = part[picks[0]].copy()
    for k in range(1, SIZE):
        picks.append(int(np.argmax(score(target, (total[None] + part) / (k + 1)))))
        total += part[picks[-1]]
    return picks


def gate(stack: np.ndarray, y: np.ndarray, score: Score, seed: int) -> tuple[bool, float]:
    """BBC-CV, as automl: does choosing an ensemble beat choosing the best single trial out of bag, on
    average; and in what share of the rounds does it score better?"""
    rng = np.random.default_rng(seed)
    ensemble, single = [], []
    for _ in range(ROUNDS):
        in_bag = rng.integers(0, len(y), len(y))
        out = np.setdiff1d(np.arange(len(y)), in_bag)
        if len(out) == 0 or len(np.unique(y[in_bag])) < 2:
            continue
        picks = greedy(stack, y, score, rows=in_bag)
        ensemble.append(score(y[out], stack[picks][:, out].mean(axis=0, keepdims=True))[0])
        single.append(score(y[out], stack[picks[0]][None, out])[0])
    wins = float(np.mean(np.array(ensemble) > np.array(single)))
    return float(np.mean(ensemble)) > float(np.mean(single)), wins


def rules(saved: Any, seed: int) -> dict[str, np.ndarray]:
    """Each rule's test probabilities on one saved search."""
    order = sorted(range(len(saved["numbers"])), key=lambda i: (-saved["values"][i], saved["numbers"][i]))
    pool = order[:CANDIDATES]
    oof, test, y = saved["oof"][pool].astype(np.float64), saved["test"][pool].astype(np.float64), saved["y"]
    tied = [i for i in range(len(pool)) if saved["values"][pool[i]] == saved["values"][pool[0]]]
    losses = log_loss(y, oof)
    chosen = {
        "best": test[0],
        "best-tie-ll": test[max(tied, key=lambda i: losses[i])],
        "best-ll": test[int(np.argmax(losses))],
    }
    for name, score in (("acc", accuracy), ("ll", log_loss)):
        ensemble = test[greedy(oof, y, score)].mean(axis=0)
        chosen[f"ens-{name}-all"] = ensemble
        better, wins = gate(oof, y, score, seed)
        chosen[f"ens-{name}"] = ensemble if better else test[0]
        if name == "acc":
            chosen["ens-acc-most"] = ensemble if better and wins > 0.5 else test[0]
    return chosen


def report(folder: Path) -> str:
    tested: list[tuple[str, dict[str, tuple[float, float]]]] = []  # (task, rule -> (accuracy, log loss))
    rows = []
    for path in sorted(folder.glob("*-seed*.npz")):
        record = json.loads(path.with_suffix(".json").read_text())
        saved = np.load(path)
        figures = {
            name: (accuracy(saved["y_test"], p[None])[0], -log_loss(saved["y_test"], p[None])[0])
            for name, p in rules(saved, record["seed"]).items()
        }
        tested.append((record["task"], figures))
        cells = " | ".join(f"{a:.4f} / {ll:.3f}" for a, ll in figures.values())
        rows.append(f"| {record['task']} | {record['seed']} | {len(saved['numbers'])} | {cells} |")
    if not rows:
        return "no records"
    names = list(tested[0][1])
    lines = [
        "test accuracy / test log loss of what each rule hands over, per search",
        "",
        f"| task | seed | kept trials | {' | '.join(names)} |",
        "|---|---|---|" + "---|" * len(names),
        *rows,
    ]
    tasks = sorted({task for task, _ in tested})
    for base in ("best", "ens-acc"):  # the single best trial, and automl's hand-over today
        lines += [
            "",
            f"paired against `{base}`, mean difference (SE) in test accuracy; in test log loss (lower is better)",
            "",
            f"| rule | {' | '.join(tasks)} | all searches |",
            "|---|" + "---|" * (len(tasks) + 1),
        ]
        for name in names:
            if name == base:
                continue
            cells = []
            for group in [*([task] for task in tasks), tasks]:
                pairs = [(f[name], f[base]) for task, f in tested if task in group]
                gains = [a[0] - b[0] for a, b in pairs], [a[1] - b[1] for a, b in pairs]
                cells.append(f"{_mean_se(gains[0])}; {_mean_se(gains[1])}")
            lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _mean_se(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:+.4f}"
    return f"{statistics.mean(values):+.4f} (SE {statistics.stdev(values) / math.sqrt(len(values)):.4f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="tabular", choices=["image", "tabular", "text", "package-docs"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds a search (default 300)")
    parser.add_argument("--report", action="store_true", help="print the table from the records and stop")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one seed in this process
    args = parser.parse_args()
    if args.report:
        print(report(args.results))
        return
    args.results.mkdir(parents=True, exist_ok=True)
    if args.one is not None:
        record = run_seed(args.task, args.one, args.results, args.budget)
        write_record(args.results, args.task, args.one, record)
        return
    run_each_seed(__file__, args.task, args.seeds, args.results, ["--budget", str(args.budget)])
    print(report(args.results))


if __name__ == "__main__":
    main()
