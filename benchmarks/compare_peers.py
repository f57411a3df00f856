"""automl against KerasTuner and a hand-written Optuna script, like for like, and against its own past.

Every tool searches automl's shipped space for the task with the same first configuration and
the same training settings (see peer_space.py and peer_runs.py), within the same wall-clock
budget per job, one tool at a time, each in its own process, on the same train/test split (split
seed 0; with ``--split seed`` each seed's jobs share a test part drawn with that seed, so that the
seeds also sample the test part instead of scoring every search on the same rows). The
sweep is resumable: one record per (task, tool, seed) in ``--results`` (committed under
``benchmarks/results/peers/``); a record that exists is not run again.

    pip install '.[bench]'
    python benchmarks/compare_peers.py --tasks image tabular text --seeds 0 1 2 3 4        # the sweep
    python benchmarks/compare_peers.py --tasks image --seeds 0 1 --budget 120            # a quick look
    python benchmarks/compare_peers.py --tasks text --split seed --results <folder>     # a test part per seed
    python benchmarks/compare_peers.py --report                                          # tables only

``automl-main`` is the automl of commit 99e8542 (before racing, healthy spaces and ensembles), run
from a git worktree that is made on first use (``--main-tree``). ``--tasks distorted-digits`` is a
larger image set automl was never tuned on (10,000 generated 28x28 images, peer_space.py), for
``automl-3-folds`` against ``automl-5-folds`` and the peers (``automl-main`` cannot run there:
99e8542 has no space for it). ``--tasks package-docs`` is a text set automl's text space was never
tuned on (docstrings of installed packages labelled by topic, peer_space.py); ``--tasks affairs`` a
table it was never tuned on (statsmodels' affairs survey, peer_space.py).

The report prints, per task, each tool's mean ± std over seeds, then the goals with paired
differences (by seed) and their 95 % t-intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOOLS = (
    "automl",
    "automl-no-moves",
    "automl-folds",
    "automl-3-folds",
    "automl-5-folds",
    "automl-main",
    "kerastuner",
    "optuna",
)
OWN_TOOLS = tuple(t for t in TOOLS if t.startswith("automl") and t != "automl-main")  # this checkout's automl
TASKS = ("image", "tabular", "text", "distorted-digits", "package-docs", "affairs")
BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "peers"
MAIN_COMMIT = "99e8542"
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
TIE = 1e-9  # |mean difference| below this is a tie: equal test rows on average


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.one:
        _run_one(args)
        return
    if not args.report:
        for seed in args.seeds:
            for task in args.tasks:
                for tool in args.tools:
                    path = args.results / f"{task}-{tool}-seed{seed}.json"
                    if path.exists():
                        continue
                    print(
                        f"[{time.strftime('%H:%M:%S')}] {task} {tool} seed {seed} ({args.budget:g} s) ...", flush=True
                    )
                    record = _run_in_subprocess(tool, task, seed, args.budget, args.main_tree, args.split)
                    args.results.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(record, indent=1, default=str))
    print(report(args.results) if args.against is None else against(args.results, args.against))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS[:3]))
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per job (automl: search + refit)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the per-seed records")
    parser.add_argument("--main-tree", type=Path, default=Path(tempfile.gettempdir()) / f"automl-{MAIN_COMMIT}")
    parser.add_argument(
        "--split",
        choices=("fixed", "seed"),
        default="fixed",
        help="test part: the same for every job (split seed 0), or drawn with each job's seed",
    )
    parser.add_argument("--report", action="store_true", help="print the tables of the records only")
    parser.add_argument(
        "--against", type=Path, default=None, help="with --report: pair --results with this folder's runs, seed by seed"
    )
    parser.add_argument("--one", choices=TOOLS, help=argparse.SUPPRESS)  # internal: one tool, one seed
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _run_one(args: argparse.Namespace) -> None:
    """Child process: one tool, one seed, one task; the record goes to ``--result``."""
    sys.path.insert(0, str(BENCH_DIR))
    from peer_runs import RUNNERS
    from peer_space import load_split

    task, seed = args.tasks[0], args.seeds[0]
    record = RUNNERS[args.one](task, load_split(task, split_seed_of(args.split, seed)), seed, args.budget)
    Path(args.result).write_text(json.dumps(record, default=str))


def _main_tree(path: Path) -> Path:
    """A git worktree of commit 99e8542 (made once)."""
    if not (path / "automl").is_dir():
        subprocess.run(["git", "-C", str(BENCH_DIR), "worktree", "add", "--detach", str(path), MAIN_COMMIT], check=True)
    return path


def split_seed_of(split: str, seed: int) -> int:
    """The seed of a job's train/test split: 0 for ``fixed``, the job's seed for ``seed``."""
    from peer_space import SPLIT_SEED

    return seed if split == "seed" else SPLIT_SEED


def _run_in_subprocess(
    tool: str, task: str, seed: int, budget: float, main_tree: Path, split: str = "fixed"
) -> dict[str, Any]:
    base: dict[str, Any] = {"tool": tool, "task": task, "seed": seed, "budget_s": budget}
    base["split_seed"] = split_seed_of(split, seed)
    if tool in OWN_TOOLS:  # the automl of this checkout (or of the worktree the sweep runs from)
        head = ["git", "-C", str(BENCH_DIR), "rev-parse", "--short", "HEAD"]
        base["automl_commit"] = subprocess.run(head, capture_output=True, text=True).stdout.strip()
    env = dict(os.environ)
    if tool == "automl-main":
        base["automl_commit"] = MAIN_COMMIT
        env["PYTHONPATH"] = os.pathsep.join([str(_main_tree(main_tree)), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--one", tool, "--tasks", task]
        command += ["--seeds", str(seed), "--budget", str(budget), "--result", str(result), "--split", split]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp)
        base["process_s"] = round(time.perf_counter() - started, 1)
        if done.returncode != 0 or not result.exists():
            tail = (done.stdout + done.stderr)[-3000:]
            print(f"  {tool} failed (exit {done.returncode}):\n{tail}", flush=True)
            return {**base, "error": tail}
        return {**base, **json.loads(result.read_text())}


# ---------------------------------------------------------------------------------------- report
def paired(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, float, int] | None:
    """Mean of a - b over the seeds both have, with its 95 % t-interval: (mean, low, high, n)."""
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds if not (math.isnan(a[s]) or math.isnan(b[s]))]
    if not diffs:
        return None
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, float("nan"), float("nan"), 1
    half = T95.get(len(diffs) - 1, 1.96) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return mean, mean - half, mean + half, len(diffs)


def _by_seed(records: list[dict[str, Any]], tool: str, key: str) -> dict[int, float]:
    return {r["seed"]: float(r[key]) for r in records if r["tool"] == tool and r.get(key) is not None}


def report(folder: Path) -> str:
    """Per task: each tool's figures (mean ± std over seeds), then the goals, paired by seed."""
    records = _records(folder)
    lines = []
    for task in TASKS:
        runs = [r for r in records if r["task"] == task and "error" not in r]
        if runs:
            seeds = sorted({r["seed"] for r in runs})
            splits = sorted({r.get("split_seed", 0) for r in runs})
            test_part = "test part drawn per seed" if len(splits) > 1 else f"split seed {splits[0]}"
            heading = f"## {task} (seeds {seeds}, {runs[0]['budget_s']:g} s per job, {test_part})"
            lines += [heading, "", *_tool_rows(runs), ""]
            lines += ["goals (paired by seed, automl minus the other):", *_goals(runs)]
            failed = [f"{r['tool']} seed {r['seed']}" for r in records if r["task"] == task and "error" in r]
            lines += [f"  failed runs: {', '.join(failed)}"] if failed else []
            lines.append("")
    return "\n".join(lines)


def _records(folder: Path) -> list[dict[str, Any]]:
    """The run records in ``folder``, failed runs included (not other notes kept beside them)."""
    found = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []
    return [r for r in found if "tool" in r and "task" in r]


def against(folder: Path, other: Path) -> str:
    """The runs in ``folder`` minus the same task, tool and seed in ``other`` (e.g. one commit against
    another): per-seed figures and paired mean differences with 95 % t-intervals."""
    ours, theirs = ([r for r in _records(f) if "error" not in r] for f in (folder, other))
    lines = [f"# {folder} minus {other}", ""]
    for task in TASKS:
        for tool in TOOLS:
            a = {r["seed"]: r for r in ours if r["task"] == task and r["tool"] == tool}
            b = {r["seed"]: r for r in theirs if r["task"] == task and r["tool"] == tool}
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            lines.append(f"## {task}, {tool} (seeds {seeds})")
            for label, value in PAIRED_FIGURES:
                mine = {s: value(a[s]) for s in seeds if value(a[s]) is not None}
                base = {s: value(b[s]) for s in seeds if value(b[s]) is not None}
                per_seed = ", ".join(f"{mine.get(s, float('nan')):.4g}/{base.get(s, float('nan')):.4g}" for s in seeds)
                result = paired(mine, base)
                interval = "" if result is None else f"{result[0]:+.4f} [95% CI {result[1]:+.4f}, {result[2]:+.4f}]"
                lines.append(f"  {label}: {interval}  (per seed, ours/theirs: {per_seed})")
            lines.append("")
    return "\n".join(lines)


PAIRED_FIGURES: tuple[tuple[str, Any], ...] = (
    ("test accuracy", lambda r: r.get("test_accuracy")),
    ("ensemble test accuracy", lambda r: r.get("ensemble_test_accuracy")),
    ("first configuration test accuracy", lambda r: r.get("first_test_accuracy")),
    ("configurations evaluated", lambda r: r.get("trials_run")),
    ("completed", lambda r: r.get("trials_completed")),
    ("share of search time at chance", lambda r: (r.get("at_chance") or {}).get("share")),
)


COLUMNS = (
    ("configurations evaluated", "trials_run", 0),
    ("completed", "trials_completed", 0),
    ("best search score", "best_search_score", 4),
    ("test accuracy", "test_accuracy", 4),
    ("ensemble test accuracy", "ensemble_test_accuracy", 4),
    ("first configuration test accuracy", "first_test_accuracy", 4),
    ("best trial refit (folds runs)", "refit_test_accuracy", 4),
    ("first configuration refit (folds runs)", "first_refit_test_accuracy", 4),
    ("job s", "job_s", 0),
)


def _tool_rows(runs: list[dict[str, Any]]) -> list[str]:
    rows = ["| tool | " + " | ".join(name for name, _, _ in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for tool in TOOLS:
        mine = [r for r in runs if r["tool"] == tool]
        if mine:
            cells = [
                _mean_sd([float(r[key]) for r in mine if _number(r.get(key))], digits) for _, key, digits in COLUMNS
            ]
            rows.append(f"| {tool} | " + " | ".join(cells) + " |")
    return rows


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not math.isnan(float(value))


def _mean_sd(values: list[float], digits: int = 4) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {spread:.{digits}f}"


def _goals(runs: list[dict[str, Any]]) -> list[str]:
    ours = _by_seed(runs, "automl", "test_accuracy")
    ensemble = _by_seed(runs, "automl", "ensemble_test_accuracy")
    lines = []
    if ours:  # the tool automl (the refit) ran on this task
        lines += _against_peers(runs, "automl", {"refit best": ours, "ensemble": ensemble})
        lines.append(_diff("test accuracy, ensemble − best single of the same search", paired(ensemble, ours)))
        lines += _search_earns(runs, "automl")
    before = _by_seed(runs, "automl-main", "trials_run")
    evaluated = _by_seed(runs, "automl", "trials_run")
    ratio = mean_ratio(evaluated, before)
    if ratio is not None:
        verdict = "holds" if ratio >= 1.5 else "does not hold"
        lines.append(f"  configurations evaluated, automl / automl-main: ×{ratio:.2f} -> {verdict} (goal ×1.5)")
        lines += _configurations_beside_main(runs, "automl")
        lines.append(
            _diff("test accuracy, automl − automl-main", paired(ours, _by_seed(runs, "automl-main", "test_accuracy")))
        )
    without = _by_seed(runs, "automl-no-moves", "test_accuracy")
    if without:
        lines.append(_diff("test accuracy, automl − automl without local moves", paired(ours, without)))
        lines.append(
            _diff(
                "configurations evaluated, automl − automl without local moves",
                paired(evaluated, _by_seed(runs, "automl-no-moves", "trials_run")),
            )
        )
        lines += _search_earns(runs, "automl-no-moves")
    lines += _folds_goals(runs, ours, evaluated)
    lines += _three_against_five_folds(runs)
    for tool in (*OWN_TOOLS, "automl-main"):
        shares = [r["at_chance"]["share"] for r in runs if r["tool"] == tool and r.get("at_chance")]
        if shares:
            verdict = "holds" if statistics.fmean(shares) <= 0.05 else "does not hold"
            goal = f" -> {verdict} (goal ≤ 5 %)" if tool == "automl" else ""
            lines.append(
                f"  {tool}: search time on configurations that ended at chance {statistics.fmean(shares):.1%}{goal}"
            )
    return lines


def mean_ratio(a: dict[int, float], b: dict[int, float]) -> float | None:
    """Mean of ``a`` over the mean of ``b``, on the seeds both have (None: no such seed)."""
    seeds = sorted(set(a) & set(b))
    return statistics.fmean(a[s] for s in seeds) / statistics.fmean(b[s] for s in seeds) if seeds else None


def _configurations_beside_main(runs: list[dict[str, Any]], tool: str) -> list[str]:
    """Two more readings of ``tool``'s ×1.5 ratio: new configurations only (automl runs a promising
    one again to the end, a repeat; records since the field was added), and per second of search
    (automl's budget also holds its final models and ensemble, 99e8542's does not)."""
    evaluated, main = _by_seed(runs, tool, "trials_run"), _by_seed(runs, "automl-main", "trials_run")
    repeats = {s: n for s, n in _by_seed(runs, tool, "completions").items() if s in main}
    lines = []
    if repeats:
        ratio = mean_ratio({s: evaluated[s] - n for s, n in repeats.items()}, main)
        counts = ", ".join(str(int(n)) for n in repeats.values())
        lines.append(
            f"    new configurations only (seeds {sorted(repeats)}; repeats of promising ones: {counts}): ×{ratio:.2f}"
        )

    def per_second(tool: str) -> dict[int, float]:
        seconds = _by_seed(runs, tool, "search_s")
        return {s: n / seconds[s] for s, n in _by_seed(runs, tool, "trials_run").items() if seconds.get(s)}

    ratio = mean_ratio(per_second(tool), per_second("automl-main"))
    if ratio is not None:
        lines.append(f"    per second of search (before the final models): ×{ratio:.2f}")
    return lines


def _folds_goals(runs: list[dict[str, Any]], ours: dict[int, float], evaluated: dict[int, float]) -> list[str]:
    """The search that hands over fold models averaged: against the same trial refit (same search),
    against automl's refit (another search, paired by seed), and whether its search earns its result."""
    bags = _by_seed(runs, "automl-folds", "test_accuracy")
    if not bags:
        return []
    refits = _by_seed(runs, "automl-folds", "refit_test_accuracy")
    ensemble = _by_seed(runs, "automl-folds", "ensemble_test_accuracy")
    lines = [
        _diff(
            "test accuracy, best trial's fold models averaged − the same trial refit (same search)",
            paired(bags, refits),
        ),
        _diff("test accuracy, automl-folds best − automl refit best", paired(bags, ours)),
        _diff(
            "test accuracy, automl-folds ensemble − automl ensemble",
            paired(ensemble, _by_seed(runs, "automl", "ensemble_test_accuracy")),
        ),
        _diff(
            "configurations evaluated, automl-folds − automl",
            paired(_by_seed(runs, "automl-folds", "trials_run"), evaluated),
        ),
    ]
    main = _by_seed(runs, "automl-main", "trials_run")
    folds = _by_seed(runs, "automl-folds", "trials_run")
    ratio = mean_ratio(folds, main)
    if ratio is not None:
        common = sorted(set(main) & set(folds))
        lines.append(f"  configurations evaluated, automl-folds / automl-main: ×{ratio:.2f} (seeds {common})")
        lines += _configurations_beside_main(runs, "automl-folds")
        main_accuracy = _by_seed(runs, "automl-main", "test_accuracy")
        lines.append(_diff("test accuracy, automl-folds best − automl-main", paired(bags, main_accuracy)))
    lines += _against_peers(runs, "automl-folds", {"best": bags, "ensemble": ensemble}, when_run=True)
    return lines + _search_earns(runs, "automl-folds")


def _three_against_five_folds(runs: list[dict[str, Any]]) -> list[str]:
    """automl over 3 folds against its default 5, both handing over fold models, and each against
    the peers that ran on the same task."""
    three, five = "automl-3-folds", "automl-5-folds"
    lines = []
    for tool in (three, five):
        models = {
            "best": _by_seed(runs, tool, "test_accuracy"),
            "ensemble": _by_seed(runs, tool, "ensemble_test_accuracy"),
        }
        if models["best"]:
            lines += _against_peers(runs, tool, models, when_run=True)
    if not _by_seed(runs, three, "trials_run") or not _by_seed(runs, five, "trials_run"):
        return lines + _search_earns(runs, three) + _search_earns(runs, five)
    ratio = mean_ratio(_by_seed(runs, three, "trials_run"), _by_seed(runs, five, "trials_run"))
    lines.append(f"  configurations evaluated, {three} / {five}: ×{ratio:.2f}")
    for key, what in (("test_accuracy", "best"), ("first_test_accuracy", "first configuration")):
        lines.append(
            _diff(
                f"test accuracy, {what} (fold models): {three} − {five}",
                paired(_by_seed(runs, three, key), _by_seed(runs, five, key)),
            )
        )
    ensemble = "ensemble_test_accuracy"
    lines.append(
        _diff(
            f"test accuracy, ensemble: {three} − {five}",
            paired(_by_seed(runs, three, ensemble), _by_seed(runs, five, ensemble)),
        )
    )
    return lines + _search_earns(runs, three) + _search_earns(runs, five)


def _against_peers(
    runs: list[dict[str, Any]], tool: str, models: dict[str, dict[int, float]], *, when_run: bool = False
) -> list[str]:
    """``tool``'s test accuracy per model it hands over (name: by seed) minus each peer's, paired by
    seed; with ``when_run``, only against the peers that have records."""
    lines = []
    for peer in ("kerastuner", "optuna"):
        theirs = _by_seed(runs, peer, "test_accuracy")
        if theirs or not when_run:
            lines += [_diff(f"test accuracy, {tool} {name} − {peer}", paired(v, theirs)) for name, v in models.items()]
    return lines


def _search_earns(runs: list[dict[str, Any]], tool: str) -> list[str]:
    """The goal that the search, not the defaults, earns the result: ``tool``'s best configuration beats
    its first, each as the tool hands it over (refit, or fold models), by more than one standard error."""
    result = paired(_by_seed(runs, tool, "test_accuracy"), _by_seed(runs, tool, "first_test_accuracy"))
    if result is None or result[3] < 2:
        return []
    se = (result[2] - result[0]) / T95.get(result[3] - 1, 1.96)  # the half-width back to one standard error
    text = (
        f"test accuracy, {tool} best − first configuration, as handed over"
        f" (goal: more than one standard error, {se:.4f})"
    )
    return [_diff(text, result, result[0] > se + TIE)]  # a mean equal to its SE (one seed apart) is not more


def _diff(text: str, result: tuple[float, float, float, int] | None, holds: bool | None = None) -> str:
    if result is None:
        return f"  {text}: no paired seeds"
    mean, low, high, n = result
    tie = abs(mean) < TIE  # equal means: the sum of float differences is not exactly 0
    mean = 0.0 if tie else mean
    verdict = "holds" if (mean >= 0 if holds is None else holds) else "does not hold"
    verdict += " (a tie: equal means)" if tie and holds is None else ""
    return f"  {text}: {mean:+.4f} [95% CI {low:+.4f}, {high:+.4f}] over {n} seeds -> {verdict}"


if __name__ == "__main__":
    main()
