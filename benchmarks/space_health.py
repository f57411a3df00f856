"""Space health: what fraction of a space's random draws end at chance, on both backends.

Each draw trains on the first of 5 folds of the task's built-in data, as a search trains it (all
the data, the space's own epochs and early stopping); ``automl.run.health`` defines "at chance".
One record per (space, backend, seed) is written to ``--out`` (a folder, default
``benchmarks/results/space_health``), then a table of every record there is printed.

    python benchmarks/space_health.py --spaces image tabular text natural_images --backends keras mxnet
    python benchmarks/space_health.py --spaces old/image.yaml --task image    # a space file, e.g. an older one
    python benchmarks/space_health.py --table                                 # print the table only
    python benchmarks/space_health.py --table --out benchmarks/results/space_health_curves \
        --by training.batch_size --epoch 2     # draws below the at-chance line after epoch 2, by batch size
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "space_health"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spaces", nargs="*", default=["image", "tabular", "text", "natural_images"])
    parser.add_argument("--task", default=None, help="task of a space file without a task key")
    parser.add_argument("--label", default=None, help="name of the space in the table (default: its file stem)")
    parser.add_argument("--backends", nargs="*", default=["keras", "mxnet"])
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="only print the table of the records in --out")
    parser.add_argument(
        "--by", default=None, help="a configuration field (e.g. training.batch_size): group draws by it"
    )
    parser.add_argument("--epoch", type=int, default=2, help="with --by: the epoch whose score is compared to the line")
    args = parser.parse_args(argv)
    if not args.table:
        args.out.mkdir(parents=True, exist_ok=True)
        for space in args.spaces:
            for backend in args.backends:
                for seed in args.seeds:
                    record = measure(space, args.task, backend, args.draws, seed, args.label)
                    name = f"{record['space']}-{backend}-seed{seed}.json"
                    (args.out / name).write_text(json.dumps(record, indent=1, default=str))
                    print(_row(record), flush=True)
    print_table(args.out)
    if args.by:
        print_curves_by(args.out, args.by, args.epoch)


def measure(space: str, task: str | None, backend: str, draws: int, seed: int, label: str | None) -> dict[str, Any]:
    """One health check, as a JSON-able record."""
    from automl.logs import quiet_frameworks
    from automl.run.health import check_space_health
    from automl.run.settings import SearchSettings
    from automl.space import load_space

    quiet_frameworks()
    task = task or load_space(space).task or "image"
    started = time.perf_counter()
    report = check_space_health(SearchSettings(task=task, space=space), draws=draws, backend=backend, seed=seed)
    return {
        "space": label or Path(space).stem,
        "source": report.space,
        "task": task,
        "backend": backend,
        "seed": seed,
        "metric": report.metric,
        "chance": report.chance,
        "default_score": report.default_score,
        "threshold": report.threshold,
        "fraction_at_chance": report.fraction_at_chance,
        "time_fraction_at_chance": report.time_fraction_at_chance,
        "seconds": time.perf_counter() - started,
        "draws": [
            {
                "number": d.number,
                "score": d.score,
                "seconds": d.seconds,
                "at_chance": report.at_chance(d),
                "failed": d.failed,
                "curve": d.curve,
                "epoch_ends": d.epoch_ends,
                "config": d.config,
            }
            for d in report.draws
        ],
    }


def _row(record: dict[str, Any]) -> str:
    n = len(record["draws"])
    return (
        f"| {record['space']} | {record['backend']} | {record['seed']} | {n} | {record['chance']:.3f} | "
        f"{record['default_score']:.3f} | {record['fraction_at_chance']:.0%} "
        f"({round(record['fraction_at_chance'] * n)}/{n}) | {record['time_fraction_at_chance']:.0%} | "
        f"{statistics.median(d['score'] for d in record['draws']):.3f} | {record['seconds']:.0f} |"
    )


def print_table(folder: Path) -> None:
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    print(
        "| space | backend | seed | draws | chance | default (1 fold) | draws at chance | their share of time | "
        "median draw score | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for record in sorted(records, key=lambda r: (r["space"], r["backend"], r["seed"])):
        print(_row(record))


def print_curves_by(folder: Path, field: str, epoch: int) -> None:
    """Per value of the configuration ``field``: how many draws were below the at-chance line after
    ``epoch`` epochs (where a search's first rung may rank them) and how they ended."""
    print(f"\n| space | seed | {field} | draws | below the line after epoch {epoch} | ended below it | median final |")
    print("|---|---|---|---|---|---|---|")
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        groups: dict[str, list[dict[str, Any]]] = {}
        for draw in record["draws"]:
            if "curve" in draw:
                groups.setdefault(str(_field(draw["config"], field)), []).append(draw)
        for value, draws in sorted(groups.items()):
            early = sum(len(d["curve"]) >= epoch and d["curve"][epoch - 1] < record["threshold"] for d in draws)
            print(
                f"| {path.stem} | {record['seed']} | {value} | {len(draws)} | {early} | "
                f"{sum(d['at_chance'] for d in draws)} | {statistics.median(d['score'] for d in draws):.3f} |"
            )


def _field(config: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        config = config.get(key, {}) if isinstance(config, dict) else {}
    return config if config != {} else None


if __name__ == "__main__":
    main()
