"""Warm starts and the shipped portfolio against a cold start, on data the portfolio was not chosen on.

The data: ``benchmarks/data/shapes-480.npz``, 480 generated 16x16 grey images of four shapes (square,
disc, bar, cross) of random size and place, with noise (``--make-data`` writes it again, seeded),
searched with 3-fold CV: small enough that several configurations complete within 120 s on two
cores (with 1,200 images and 5 folds only the defaults did, and every mode scored the same).
For each seed, three searches of the image space with the same time budget and folds:

- cold: the space's defaults, then the sampler (``portfolio=False``);
- portfolio: the defaults, then the image portfolio (the default);
- warm: the defaults, then the 5 best configurations of an earlier search on digits
  (``warm_start_from``; that search runs once, first).

Prints the best-so-far 3-fold CV accuracy at 30, 60 and 120 s (mean ± std over seeds) and writes one
record per run to ``benchmarks/results/warm_start/``.

    python benchmarks/warm_start.py --seeds 0 1 2 --budget 120
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
N_IMAGES = 480
N_SPLITS = 3
DATA = BENCH / "data" / f"shapes-{N_IMAGES}.npz"
RESULTS = BENCH / "results" / "warm_start"
CHECKPOINTS = (30, 60, 120)
MODES = ("cold", "portfolio", "warm")


def make_shapes(n: int = N_IMAGES, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grey images of four shapes of random size and place, with Gaussian noise; labels 0..3."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images, labels = np.zeros((n, size, size), np.float32), np.arange(n) % 4
    for i, label in enumerate(labels):
        r = rng.uniform(2.5, 5.0)
        cx, cy = rng.uniform(r, size - 1 - r, 2)
        if label == 0:  # square
            shape = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
        elif label == 1:  # disc
            shape = (xx - cx) ** 2 + (yy - cy) ** 2 <= r**2
        elif label == 2:  # bar
            shape = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r / 3)
        else:  # cross
            shape = ((np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= 1)) | (
                (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= 1)
            )
        images[i] = np.clip(shape * rng.uniform(0.6, 1.0) + rng.normal(0, 0.25, (size, size)), 0, 1)
    return images, labels


def best_so_far(study: object, started: float) -> dict[str, float | None]:
    """The best CV accuracy of the trials completed by each checkpoint (seconds after the start)."""
    done = [
        (t.datetime_complete.timestamp() - started, t.value)  # type: ignore[attr-defined]
        for t in study.get_trials(deepcopy=False)  # type: ignore[attr-defined]
        if t.value is not None and t.state.name == "COMPLETE"
    ]
    return {str(c): max((v for s, v in done if s <= c), default=None) for c in CHECKPOINTS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--make-data", action="store_true")
    args = parser.parse_args()
    if args.make_data or not DATA.exists():
        DATA.parent.mkdir(exist_ok=True)
        images, labels = make_shapes()
        np.savez_compressed(DATA, x=images, y=labels)
    import automl

    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        earlier = automl.search(
            task="image",
            timeout=args.budget,
            study_name="digits",
            n_splits=N_SPLITS,
            runs_dir=f"{tmp}/runs",
            refit=False,
            portfolio=False,
            verbose=False,
        )
        print(
            f"warm-start source: digits, {len(earlier.study.trials)} trials, best {earlier.best_score:.4f}", flush=True
        )
        for seed in args.seeds:
            for mode in MODES:
                path = RESULTS / f"{mode}-seed{seed}.json"
                if path.exists():
                    continue
                options = {"portfolio": mode == "portfolio"}
                if mode == "warm":
                    options.update(warm_start_from="digits", warm_start_storage=f"sqlite:///{tmp}/runs/optuna.db")
                started = time.time()
                result = automl.search(
                    task="image",
                    data=str(DATA),
                    timeout=args.budget,
                    n_splits=N_SPLITS,
                    seed=seed,
                    runs_dir=f"{tmp}/{mode}-{seed}",
                    study_name=f"shapes-{mode}-{seed}",
                    refit=False,
                    verbose=False,
                    **options,
                )
                record = {
                    "mode": mode,
                    "seed": seed,
                    "budget_s": args.budget,
                    "images": N_IMAGES,
                    "n_splits": N_SPLITS,
                    "trials": len(result.study.trials),
                    "completed": sum(t.state.name == "COMPLETE" for t in result.study.trials),
                    "best_so_far": best_so_far(result.study, started),
                }
                path.write_text(json.dumps(record, indent=1))
                print(json.dumps(record), flush=True)
    print_table()


def print_table() -> None:
    records = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    print("| start | " + " | ".join(f"best CV accuracy at {c} s" for c in CHECKPOINTS) + " | trials (completed) |")
    print("|---" * (len(CHECKPOINTS) + 2) + "|")
    for mode in MODES:
        mine = [r for r in records if r["mode"] == mode]
        if not mine:
            continue
        cells = []
        for c in CHECKPOINTS:
            values = [r["best_so_far"][str(c)] for r in mine]
            reached = [v for v in values if v is not None]
            text = f"{statistics.fmean(reached):.4f} ± {statistics.pstdev(reached):.4f}" if reached else "-"
            cells.append(text + (f" ({len(reached)}/{len(values)} seeds)" if len(reached) < len(values) else ""))
        trials = statistics.fmean(r["trials"] for r in mine)
        completed = statistics.fmean(r.get("completed", 0) for r in mine)
        print(f"| {mode} | " + " | ".join(cells) + f" | {trials:.0f} ({completed:.0f}) |")


if __name__ == "__main__":
    main()
