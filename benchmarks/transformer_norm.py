"""Post-norm or pre-norm transformer blocks: the same random transformer draws of a text space, each
trained on the first of 5 folds of the task's built-in data as a search trains it (the space's
epochs and early stopping), once with ``norm: post`` (the default) and once with ``norm: pre``.

Prints, per draw, the validation accuracy after the first and second epoch and at the end, and
the seconds; one record per (norm, seed) goes to ``--out``.

    python benchmarks/transformer_norm.py --draws 10 --seeds 0
    python benchmarks/transformer_norm.py --table          # the table of the records in --out
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "transformer-norm"
NORMS = ("post", "pre")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="text")
    parser.add_argument("--draws", type=int, default=10, help="transformer draws per seed")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="only print the table of the records in --out")
    args = parser.parse_args(argv)
    if not args.table:
        args.out.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            for norm in NORMS:
                record = measure(args.space, norm, args.draws, seed)
                (args.out / f"{args.space}-{norm}-seed{seed}.json").write_text(json.dumps(record, indent=1))
    print_table(args.out)


def measure(space_name: str, norm: str, draws: int, seed: int) -> dict[str, Any]:
    """Train the first ``draws`` transformer draws of a seeded random sampler with blocks of ``norm``."""
    import optuna

    from automl.backends import get_backend
    from automl.logs import quiet_frameworks
    from automl.model import build_spec_for
    from automl.run.session import build_search_parts
    from automl.run.settings import SearchSettings
    from automl.space import load_space
    from automl.trial.cv import Folds, cross_validate
    from automl.trial.metrics import get_metric

    quiet_frameworks()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parts = build_search_parts(SearchSettings(task=load_space(space_name).task, space=space_name))
    folds = Folds(parts.dataset, parts.splits[:1])
    metric = get_metric("accuracy", parts.dataset.problem_type)
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    results: list[dict[str, Any]] = []
    number = 0
    while len(results) < draws:
        trial, number = sampler.ask(), number + 1
        config = parts.space.sample(trial)
        if config["architecture"]["family"] != "transformer":
            continue
        config["architecture"]["norm"] = norm
        curve: list[float] = []
        backend = get_backend("keras")
        start = time.perf_counter()
        cv = cross_validate(
            lambda shape, config=config: build_spec_for(config, parts.dataset, shape),
            backend,
            folds,
            metric,
            seed=seed + number,
            on_epoch=lambda fold, epoch, logs, curve=curve: curve.append(float(logs["val_accuracy"])),
        )
        backend.release()
        seconds = time.perf_counter() - start
        results.append({"draw": number, "params": trial.params, "curve": curve, "score": cv.mean, "seconds": seconds})
        print(f"{norm:4} draw {number:3}: {cv.mean:.4f} after {len(curve)} epochs, {seconds:.1f} s", flush=True)
    return {"space": space_name, "norm": norm, "seed": seed, "backend": "keras", "draws": results}


def print_table(folder: Path) -> None:
    """Per draw, both norms side by side; then the medians."""
    records = {(r["norm"], r["seed"]): r for r in map(json.loads, map(Path.read_text, sorted(folder.glob("*.json"))))}
    for seed in sorted({seed for _, seed in records}):
        if not all((norm, seed) in records for norm in NORMS):
            continue
        post, pre = (records[norm, seed]["draws"] for norm in NORMS)
        print(f"\nseed {seed}: validation accuracy after epoch 1, epoch 2 and at the end (seconds)")
        print("| draw | post-norm | pre-norm |\n|---|---|---|")
        for a, b in zip(post, pre, strict=True):
            print(f"| {a['draw']} | {_cell(a)} | {_cell(b)} |")
        for name, key in (("epoch 2", lambda d: d["curve"][1]), ("end", lambda d: d["score"])):
            medians = [statistics.median(map(key, draws)) for draws in (post, pre)]
            print(f"| median, {name} | {medians[0]:.3f} | {medians[1]:.3f} |")
        best = [max(d["score"] for d in draws) for draws in (post, pre)]
        print(f"| best draw, end | {best[0]:.3f} | {best[1]:.3f} |")
        seconds = [sum(d["seconds"] for d in draws) for draws in (post, pre)]
        print(f"| seconds, all draws | {seconds[0]:.0f} | {seconds[1]:.0f} |")


def _cell(draw: dict[str, Any]) -> str:
    curve = draw["curve"]
    return f"{curve[0]:.3f}, {curve[1]:.3f}, {draw['score']:.3f} ({draw['seconds']:.0f} s)"


if __name__ == "__main__":
    main()
