"""automl against KerasTuner and a hand-written Optuna script, at the same wall-clock budget.

For each seed, each tool searches the same training part (stratified 80%, split seed 0; the
search seed varies) for `--budget` seconds, one tool at a time, each in its own process; then the
best configuration is refit on the whole training part and scored on the held-out 20%:

- automl: `automl.search(task, data=(X_train, y_train), timeout=budget, seed=seed)`, its shipped
  space, 5-fold CV, Hyperband pruning; `result.predict(X_test)`;
- KerasTuner 1.4.8 Hyperband (max 27 epochs, factor 3, 20% validation split) over a CNN (image)
  or MLP (tabular) space like automl's (see peer_space.py), no trial started after the budget;
- a hand-written Optuna TPE study over that same space, 3-fold stratified CV, MedianPruner;
- automl-half: automl again with half the budget, to check whether it reaches KerasTuner's
  full-budget test accuracy in at most half KerasTuner's time (a test-accuracy measure of speed).

Prints one table (mean ± std over seeds; peers' figures also as a ratio to automl's) and writes
every run's record to `--out` (JSON). "search s" is the wall time of the search (no trial starts
after the budget; the peers finish the one running then, automl stops it at its next epoch as
its `timeout` does, once it has a completed trial); "refit s" is the refit plus the test scoring
(for automl also its end-of-search report and MLflow model logging; for KerasTuner also the
fit on the validation split that picks the refit's epoch count, as KerasTuner's tutorial does).
"t→target" is the time at which the tool's best-so-far search score (CV or validation accuracy:
refitting during the search would change the search) first reaches `--target`.

    pip install '.[bench]'
    python benchmarks/compare_peers.py --task image --budget 300 --seeds 0 1 2
    python benchmarks/compare_peers.py --task tabular --budget 300 --seeds 0 1 2
    python benchmarks/compare_peers.py --merge runs/a.json runs/b.json   # one table from separate runs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOOLS = ("automl", "automl-half", "kerastuner", "optuna")
DEFAULT_TARGET = {"image": 0.97, "tabular": 0.97}
BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.one:
        _run_one(args)
        return
    target = args.target if args.target is not None else DEFAULT_TARGET[args.task]
    if args.merge:  # reprint one table from earlier runs' records (e.g. seeds run separately)
        runs = [run for path in args.merge for run in json.loads(Path(path).read_text())["runs"]]
        args.task, args.budget, args.seeds = runs[0]["task"], runs[0]["budget_s"], sorted({r["seed"] for r in runs})
    else:
        runs = []
        for seed in args.seeds:
            for tool in args.tools:
                print(
                    f"[{time.strftime('%H:%M:%S')}] {tool}, seed {seed}, {args.task}, {args.budget:g} s ...", flush=True
                )
                runs.append(_run_in_subprocess(tool, args.task, seed, args.budget))
    out = Path(args.out or f"runs/peers-{args.task}-{args.budget:g}s.json")
    for run in runs:
        run["time_to_target_s"] = _time_to_target(run.get("curve", []), target)
    tools = [tool for tool in TOOLS if any(r["tool"] == tool for r in runs)]
    table = format_table(runs, tools, target) + "\n" + format_goals(runs)
    print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"task": args.task, "budget_s": args.budget, "seeds": args.seeds, "target": target}
    out.write_text(json.dumps({"settings": settings, "runs": runs, "table": table}, indent=2))
    print(f"raw results: {out}")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("image", "tabular"), default="image")
    parser.add_argument("--budget", type=float, default=300.0, help="search seconds per tool and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--target", type=float, help="search-score level for t→target (default 0.97)")
    parser.add_argument("--out", help="JSON file for the raw results (default runs/peers-<task>-<budget>s.json)")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="print one table from earlier --out files")
    parser.add_argument("--one", choices=TOOLS, help=argparse.SUPPRESS)  # internal: run one tool, one seed
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _run_one(args: argparse.Namespace) -> None:
    """Child process: one tool, one seed; the record goes to ``--result``."""
    sys.path.insert(0, str(BENCH_DIR))
    from peer_runs import RUNNERS
    from peer_space import load_split

    record = RUNNERS[args.one](args.task, load_split(args.task), args.seeds[0], args.budget)
    Path(args.result).write_text(json.dumps(record))


def _run_in_subprocess(tool: str, task: str, seed: int, budget: float) -> dict[str, Any]:
    base = {"tool": tool, "task": task, "seed": seed, "budget_s": budget}
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--one", tool, "--task", task]
        command += ["--seeds", str(seed), "--budget", str(budget), "--result", str(result)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        base["process_s"] = round(time.perf_counter() - started, 1)
        if done.returncode != 0 or not result.exists():
            tail = (done.stdout + done.stderr)[-3000:]
            print(f"  {tool} failed (exit {done.returncode}):\n{tail}", flush=True)
            return {**base, "error": tail}
        return {**base, **json.loads(result.read_text())}


def _time_to_target(curve: list[list[float]], target: float) -> float | None:
    """The first time the best-so-far search score reaches ``target`` (None: never)."""
    return next((seconds for seconds, score in curve if score >= target), None)


COLUMNS = (
    ("trials run", "trials_run", "{:.0f}"),
    ("completed", "trials_completed", "{:.0f}"),
    ("best search score", "best_search_score", "{:.4f}"),
    ("test acc", "test_accuracy", "{:.4f}"),
    ("search s", "search_s", "{:.0f}"),
    ("refit s", "refit_s", "{:.1f}"),
    ("t→target s", "time_to_target_s", "{:.0f}"),
    ("score−test gap", "gap", "{:+.4f}"),
)


def format_table(runs: list[dict[str, Any]], tools: list[str], target: float) -> str:
    """One text table: per tool, mean ± std over seeds; peers also as (× automl's mean)."""
    for run in runs:
        if "error" not in run:
            run["gap"] = run["best_search_score"] - run["test_accuracy"]
    means: dict[str, dict[str, float | None]] = {}
    rows = []
    for tool in tools:
        ok = [r for r in runs if r["tool"] == tool and "error" not in r]
        failed = sum(1 for r in runs if r["tool"] == tool and "error" in r)
        means[tool] = {}
        cells = [tool + (f" ({failed} failed)" if failed else "")]
        for _, key, fmt in COLUMNS:
            values = [r[key] for r in ok if r.get(key) is not None]
            if not values:
                means[tool][key] = None
                cells.append("-" if key != "time_to_target_s" or not ok else f"not reached (0/{len(ok)})")
                continue
            mean = statistics.fmean(values)
            means[tool][key] = mean
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cell = f"{fmt.format(mean)} ± {fmt.format(abs(spread)).lstrip('+')}"
            if key == "time_to_target_s":
                cell += f" ({len(values)}/{len(ok)})"
            reference = means.get("automl", {}).get(key)
            if tool != "automl" and reference and key != "gap":
                cell += f" (×{mean / reference:.2f})"
            cells.append(cell)
        rows.append(cells)
    header = ["tool", *(name for name, _, _ in COLUMNS)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]]
    kinds = {r["tool"]: r["score_kind"] for r in runs if "score_kind" in r}
    task, budget = runs[0]["task"], runs[0]["budget_s"]
    seeds = sorted({r["seed"] for r in runs})
    notes = [
        f"{task}, budget {budget:g} s per search, seeds {seeds}: mean ± std over seeds; (×r): peer's mean / automl's",
        "best search score: " + "; ".join(f"{tool}: {kind}" for tool, kind in kinds.items()),
        f"t→target: seconds until the best-so-far search score first reached {target} (seeds that reached it / seeds)",
        "refit s: refit on the whole training part + test scoring (automl: also its report and MLflow model logging;",
        "         kerastuner: also the validation-split fit that picks the epoch count, as in its tutorial)",
    ]
    rule = "-" * len(lines[0])
    return "\n".join([rule, lines[0], rule, *lines[1:], rule, *notes])


def _mean(runs: list[dict[str, Any]], tool: str, key: str) -> float | None:
    values = [r[key] for r in runs if r["tool"] == tool and r.get(key) is not None]
    return statistics.fmean(values) if values else None


def format_goals(runs: list[dict[str, Any]]) -> str:
    """The issue's goals, each with the figures it is judged on."""
    ours, half, peer = (_mean(runs, tool, "test_accuracy") for tool in ("automl", "automl-half", "kerastuner"))
    lines = ["goals (mean test accuracy over seeds):"]
    if ours is not None and peer is not None:
        lines.append(f"  automl ≥ kerastuner at the full budget: {ours:.4f} vs {peer:.4f} -> {_verdict(ours >= peer)}")
    if half is not None and peer is not None:
        lines.append(
            f"  automl at half the budget ≥ kerastuner at the full budget: {half:.4f} vs {peer:.4f} "
            f"-> {_verdict(half >= peer)}"
        )
    for tool in ("automl", "automl-half"):
        gap = _mean(runs, tool, "gap")
        if gap is not None:
            lines.append(f"  {tool}: CV score − test accuracy = {gap:+.4f} (CV's estimate of the test accuracy)")
    return "\n".join(lines)


def _verdict(holds: bool) -> str:
    return "holds" if holds else "does not hold"


if __name__ == "__main__":
    main()
