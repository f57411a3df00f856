"""Trials per hour with 1 and 2 CPU workers (and 1 vs K trials per GPU when a GPU is visible).

Runs the real ``automl search`` command on the built-in digits with the default image space
(or ``--space``), random sampling and no pruning so every trial trains all its folds, and
reports two rates per setting: the end-to-end rate (process start-up and framework imports
included) and the steady rate (first trial start to last trial end, from the study's own
timestamps). Prints the ratios; asserts nothing.

    python benchmarks/workers.py --n-trials 8 --n-splits 3
    python benchmarks/workers.py --space tests/spaces/tiny_image.yaml --n-trials 6 --n-splits 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import optuna

from automl.run.devices import discover_gpus

STUDY = "image-digits-keras"


@dataclass
class Rate:
    label: str
    trials: int
    wall_s: float
    steady_s: float

    @property
    def per_hour(self) -> float:
        return 3600 * self.trials / self.wall_s

    @property
    def steady_per_hour(self) -> float:
        return 3600 * self.trials / self.steady_s


def run(label: str, flags: list[str], args: argparse.Namespace) -> Rate:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "automl.cli", "search", "--task", "image", "--no-refit"]
        command += ["--n-trials", str(args.n_trials), "--n-splits", str(args.n_splits), "--seed", "0"]
        command += ["--sampler", "random", "--pruner", "none", *flags]
        if args.space:
            command += ["--space", str(Path(args.space).resolve())]
        start = time.perf_counter()
        subprocess.run(command, cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        trials = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp}/runs/optuna.db").trials
    done = [t for t in trials if t.state.is_finished() and t.datetime_start and t.datetime_complete]
    steady = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    rate = Rate(label, len(done), wall, steady)
    print(
        f"{label:<24} {rate.trials:>3} trials  {wall:7.1f} s  {rate.per_hour:7.1f} trials/h end-to-end  "
        f"{rate.steady_per_hour:7.1f} trials/h steady",
        flush=True,
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=8)
    parser.add_argument("--n-splits", type=int, default=3)
    parser.add_argument("--space", default=None, help="space file (default: the shipped image space)")
    parser.add_argument("--trials-per-gpu", type=int, default=2, help="K of the GPU comparison")
    args = parser.parse_args()

    print(f"{os.cpu_count()} CPU cores; {args.n_trials} trials of {args.n_splits}-fold CV each")
    one = run("cpu, 1 worker", ["--gpus", "none", "--workers", "1"], args)
    two = run("cpu, 2 workers", ["--gpus", "none", "--workers", "2"], args)
    print(
        f"2 workers / 1 worker: {two.per_hour / one.per_hour:.2f}x end-to-end, "
        f"{two.steady_per_hour / one.steady_per_hour:.2f}x steady"
    )
    gpus = discover_gpus()
    if not gpus:
        print("no GPU visible: the 1 vs K trials per GPU comparison needs one")
        return
    single = run("1 GPU, 1 trial", ["--gpus", str(gpus[0].index), "--trials-per-gpu", "1"], args)
    packed = run(
        f"1 GPU, {args.trials_per_gpu} trials",
        ["--gpus", str(gpus[0].index), "--trials-per-gpu", str(args.trials_per_gpu)],
        args,
    )
    print(
        f"{args.trials_per_gpu} trials per GPU / 1: {packed.per_hour / single.per_hour:.2f}x end-to-end, "
        f"{packed.steady_per_hour / single.steady_per_hour:.2f}x steady"
    )


if __name__ == "__main__":
    main()
