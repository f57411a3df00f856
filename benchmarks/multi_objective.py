"""Accuracy and size together: automl's multi-objective search against a hand-written Optuna NSGA-II.

Both search the digits training part of `peer_space.load_split("image")` (the image space shipped in
search_spaces/image.yaml, the space's defaults first) for two objectives, 5-fold stratified CV
accuracy (maximize) and trainable parameters (minimize), within the same wall-clock budget:

- `automl`: `automl.search(metric=["accuracy", "n_params"], timeout=budget, refit=False)`: its
  multi-objective TPE and racing over folds with the Pareto rule; portfolio off (it was chosen on
  these data), no refit or ensemble (the script refits nothing either);
- `optuna-nsga2`: a script as the Optuna docs write one: `NSGAIISampler` (population 10, as
  automl's `--sampler nsga2`: the default 50 would be one random generation at this budget), the
  same 5 folds, the same Keras models and training settings (`peer_space.build_model`,
  `fit_settings`), no pruning (Optuna prunes single-objective studies only).

The measure is the hypervolume of the completed trials' front in (CV error, log10 parameters),
both scaled to [0, 1] (error over [0, 1]; parameters over 10^2..10^6) against the reference point
(1, 1): the share of that box the front dominates, higher is better. Printed at 60, 120 and the full
budget, mean ± std over seeds, with the front sizes; one record per run in
benchmarks/results/multi_objective/.

    python benchmarks/multi_objective.py --seeds 0 1 2 --budget 300
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from peer_space import Split, build_model, fit_settings, load_split, space_of

RESULTS = Path(__file__).resolve().parent / "results" / "multi_objective"
N_SPLITS = 5
LOG_PARAMS = (2.0, 6.0)  # the size axis: log10 parameters scaled over this range
TOOLS = ("automl", "optuna-nsga2")


def scaled(accuracy: float, n_params: float) -> tuple[float, float]:
    """A trial as a point to minimize in the unit box: (error, scaled log10 parameters)."""
    low, high = LOG_PARAMS
    size = (math.log10(max(n_params, 1.0)) - low) / (high - low)
    return min(max(1.0 - accuracy, 0.0), 1.0), min(max(size, 0.0), 1.0)


def hypervolume(points: list[tuple[float, float]]) -> float:
    """The area of the unit box dominated by ``points`` (both coordinates minimized), reference (1, 1)."""
    area, best_y = 0.0, 1.0
    for x, y in sorted(points):
        if y < best_y:
            area += (1.0 - x) * (best_y - y)
            best_y = y
    return area


def front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The non-dominated points, by increasing error."""
    kept: list[tuple[float, float]] = []
    for x, y in sorted(points):
        if not kept or y < kept[-1][1]:
            kept.append((x, y))
    return kept


def curve(events: list[tuple[float, float, float]], checkpoints: list[float]) -> dict[str, float]:
    """[(seconds, accuracy, n_params)] of completed trials -> hypervolume reached by each checkpoint."""
    return {str(int(c)): hypervolume([scaled(a, n) for s, a, n in events if s <= c]) for c in checkpoints}


def _events(study: Any, started: Any) -> list[tuple[float, float, float]]:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return sorted(
        ((t.datetime_complete - started).total_seconds(), float(t.values[0]), float(t.values[1])) for t in complete
    )


def run_automl(split: Split, seed: int, budget: float) -> dict[str, Any]:
    import datetime

    import automl
    from automl.backends import get_backend

    get_backend("keras")  # import TensorFlow before the clock starts, as the script does
    with tempfile.TemporaryDirectory() as runs_dir:
        started = datetime.datetime.now()
        result = automl.search(
            task="image",
            data=(split.raw_train, split.y_train),
            metric=["accuracy", "n_params"],
            timeout=budget,
            n_splits=N_SPLITS,
            seed=seed,
            portfolio=False,
            refit=False,
            ensemble_size=0,
            runs_dir=runs_dir,
        )
        study = result.study
        return {"trials_run": len(study.trials), "events": _events(study, started)}


def run_optuna_nsga2(split: Split, seed: int, budget: float) -> dict[str, Any]:
    import datetime

    import keras
    import optuna
    from sklearn.model_selection import StratifiedKFold

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = space_of("image")
    folds = list(StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed).split(split.X_train, split.y_train))

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        config = space.sample(trial)
        scores, n_params = [], 0
        for train, valid in folds:
            keras.backend.clear_session()
            model, spec = build_model(config, split)
            n_params = int(sum(np.prod(w.shape) for w in model.trainable_weights))
            model.fit(
                split.X_train[train],
                split.y_train[train],
                validation_data=(split.X_train[valid], split.y_train[valid]),
                epochs=spec.epochs,
                verbose=0,
                **fit_settings(spec, split.y_train[train]),
            )
            predicted = model.predict(split.X_train[valid], verbose=0).argmax(axis=1)
            scores.append(float(np.mean(predicted == split.y_train[valid])))
        return float(np.mean(scores)), float(n_params)

    keras.utils.set_random_seed(seed)
    study = optuna.create_study(
        directions=["maximize", "minimize"],
        sampler=optuna.samplers.NSGAIISampler(population_size=10, seed=seed),
    )
    study.enqueue_trial(space.defaults())
    started = datetime.datetime.now()
    study.optimize(objective, timeout=budget, catch=(Exception,), gc_after_trial=True)
    return {"trials_run": len(study.trials), "events": _events(study, started)}


RUNNERS = {"automl": run_automl, "optuna-nsga2": run_optuna_nsga2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--report-only", action="store_true", help="print the table of the stored records")
    args = parser.parse_args()
    checkpoints = sorted({c for c in (60.0, 120.0) if c < args.budget} | {args.budget})
    RESULTS.mkdir(parents=True, exist_ok=True)
    split = load_split("image")
    for seed in [] if args.report_only else args.seeds:
        for tool in args.tools:
            t0 = time.perf_counter()
            record = RUNNERS[tool](split, seed, args.budget)
            points = [scaled(a, n) for _, a, n in record["events"]]
            record.update(
                tool=tool,
                seed=seed,
                budget_s=args.budget,
                wall_s=round(time.perf_counter() - t0, 1),
                completed=len(record["events"]),
                hypervolume=curve(record["events"], checkpoints),
                front=[
                    (round(1 - x, 4), round(10 ** (LOG_PARAMS[0] + y * (LOG_PARAMS[1] - LOG_PARAMS[0]))))
                    for x, y in front(points)
                ],
            )
            (RESULTS / f"{tool}-seed{seed}-{int(args.budget)}s.json").write_text(json.dumps(record, indent=1))
            print(
                f"{tool} seed {seed}: {record['completed']} completed of {record['trials_run']}, "
                f"hypervolume {record['hypervolume'][str(int(args.budget))]:.4f}",
                flush=True,
            )
    report(args.budget, checkpoints)


def report(budget: float, checkpoints: list[float]) -> None:
    """The table of every stored record of this budget, by tool: mean ± std over seeds."""
    rows = []
    for tool in TOOLS:
        records = [json.loads(p.read_text()) for p in sorted(RESULTS.glob(f"{tool}-seed*-{int(budget)}s.json"))]
        if not records:
            continue
        cells = []
        for c in checkpoints:
            values = [r["hypervolume"][str(int(c))] for r in records]
            cells.append(f"{statistics.mean(values):.4f} ± {statistics.pstdev(values):.4f}")
        completed = statistics.mean(r["completed"] for r in records)
        fronts = statistics.mean(len(r["front"]) for r in records)
        rows.append(f"| {tool} | {len(records)} | {' | '.join(cells)} | {completed:.1f} | {fronts:.1f} |")
    header = " | ".join(f"hypervolume at {int(c)} s" for c in checkpoints)
    print(f"| tool | seeds | {header} | trials completed | front size |")
    print("|---|---|" + "---|" * len(checkpoints) + "---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
