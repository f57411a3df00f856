"""GPU check: a short image search on the GPU(s) with 1, 2 and 4 trials per GPU, side by side.

For each ``--trials-per-gpu K`` it runs the real ``automl search --task image`` (built-in digits,
the shipped image space, random sampling, no refit) for ``--timeout`` seconds and prints trials
per hour, the mean and peak GPU utilisation and the peak GPU memory (``nvidia-smi`` sampled every
second), and where the trials trained (the workers' ``[w0 gpu:0]`` / ``[w0 cpu]`` lines): a GPU
that TensorFlow cannot use (no CUDA libraries: ``pip install '.[gpu]'``) shows up as trials on
``cpu``, not as GPU figures. Asserts nothing.

    python benchmarks/gpu_check.py                      # 1, 2, 4 trials per GPU, 120 s each
    python benchmarks/gpu_check.py --keras-backend jax  # Keras on JAX (pip install '.[jax-cuda]')
    python benchmarks/gpu_check.py --timeout 60 --per-gpu 1 2
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from automl.run.devices import discover_gpus

STUDY = "gpu-check"
WORKER_LINE = re.compile(r"\[(?P<worker>w\d+) (?P<device>[\w:]+)\] trial \d+ (?P<state>[A-Z]+)")


@dataclass
class Usage:
    """``nvidia-smi`` samples: utilisation (%) and memory used (MiB), per second, over all GPUs."""

    utilisation: list[float] = field(default_factory=list)
    memory_mib: list[float] = field(default_factory=list)


def sample_gpus(stop: threading.Event, usage: Usage) -> None:
    while not stop.wait(1.0):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            rows = [[float(v) for v in line.split(",")] for line in out.strip().splitlines()]
        except (OSError, subprocess.SubprocessError, ValueError):
            continue
        usage.utilisation.append(sum(r[0] for r in rows) / len(rows))
        usage.memory_mib.append(sum(r[1] for r in rows))


def run(per_gpu: int, args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "automl.cli", "search", "--task", "image", "--no-refit", "--study", STUDY]
        command += ["--timeout", str(args.timeout), "--n-trials", "10000", "--sampler", "random", "--seed", "0"]
        command += ["--gpus", args.gpus, "--trials-per-gpu", str(per_gpu), "--ensemble-size", "0", "--no-register"]
        command += ["--keras-backend", args.keras_backend]
        usage, stop = Usage(), threading.Event()
        sampler = threading.Thread(target=sample_gpus, args=(stop, usage), daemon=True)
        sampler.start()
        start = time.perf_counter()
        done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        lines = (done.stdout + done.stderr).splitlines()
        devices = collections.Counter(m["device"] for m in map(WORKER_LINE.search, lines) if m)
        storage = f"sqlite:///{Path(tmp) / 'runs' / 'optuna.db'}"
        trials = optuna.load_study(study_name=STUDY, storage=storage).trials if done.returncode == 0 else []
    finished = [t for t in trials if t.state.is_finished()]
    return {
        "per_gpu": per_gpu,
        "trials": len(finished),
        "per_hour": 3600 * len(finished) / wall,
        "util_mean": sum(usage.utilisation) / len(usage.utilisation) if usage.utilisation else float("nan"),
        "util_peak": max(usage.utilisation, default=float("nan")),
        "memory_peak_mib": max(usage.memory_mib, default=float("nan")),
        "devices": dict(devices),
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per search")
    parser.add_argument("--per-gpu", type=int, nargs="+", default=[1, 2, 4], help="trials per GPU to compare")
    parser.add_argument("--gpus", default="all", help="the search's --gpus")
    parser.add_argument("--keras-backend", default="tensorflow", help="the search's --keras-backend: tensorflow or jax")
    args = parser.parse_args()
    gpus = discover_gpus()
    print("GPUs:", ", ".join(g.describe() for g in gpus) or "none found (nvidia-smi): the searches run on the CPU")
    print("Keras on", args.keras_backend)
    rows = [run(k, args) for k in args.per_gpu]
    header = ("trials/GPU", 10), ("trials", 6), ("trials/h", 9), ("×", 6), ("util %", 7), ("peak %", 7), ("peak MiB", 9)
    print("\n" + " ".join(f"{name:>{width}}" for name, width in header) + "  where")
    for row in rows:
        ratio = row["per_hour"] / rows[0]["per_hour"] if rows[0]["per_hour"] else float("nan")
        where = ", ".join(f"{n} on {d}" for d, n in sorted(row["devices"].items())) or "-"
        print(
            f"{row['per_gpu']:>10} {row['trials']:>6} {row['per_hour']:>9.1f} {ratio:>6.2f} {row['util_mean']:>7.1f} "
            f"{row['util_peak']:>7.1f} {row['memory_peak_mib']:>9.0f}  {where}"
        )
    print(f"(each a {args.timeout:g} s search, process start included; ×: trials/h over the first row)")


if __name__ == "__main__":
    main()
