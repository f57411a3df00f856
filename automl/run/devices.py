"""Devices: find the GPUs (``nvidia-smi``, no framework import) and plan one worker slot per trial at a time.

A slot is what one worker process gets: the ``CUDA_VISIBLE_DEVICES`` it starts with (one GPU,
seen by the framework as device 0, or none) and its CPU thread count. ``--trials-per-gpu K``
gives a GPU K slots, so K small trials share it. The search process itself (its in-process
trials and the refit) gets ``search_process_environment``. GPU indices are ``nvidia-smi``'s, and
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` makes CUDA number the GPUs the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from automl.backends import BaseBackend
from automl.errors import ConfigError
from automl.logs import get_logger

NVIDIA_SMI_QUERY = ("index", "name", "memory.total", "compute_cap")
HOPPER = (9, 0)  # MXNet 1.9.1 wheels carry kernels up to compute capability 8.6 and no PTX
GPU_ENVIRONMENT = {
    "CUDA_DEVICE_ORDER": "PCI_BUS_ID",  # CUDA's ordinals = nvidia-smi's indices (CUDA's default is fastest first)
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",  # TensorFlow memory growth: packed trials share the GPU
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # JAX's equivalent (it takes 75 % of the GPU at start otherwise)
}

GPU_INSTALLS = {  # what makes each engine see NVIDIA GPUs
    "tensorflow": "pip install 'automl[gpu]' (TensorFlow with its CUDA libraries)",
    "jax": "pip install 'automl[jax-cuda]' (JAX with its CUDA libraries)",
    "mxnet": "pip uninstall -y mxnet && pip install mxnet-cu117==1.9.1 (GPUs of compute capability up to 8.6)",
}

log = get_logger(__name__)


@dataclass(frozen=True)
class GPU:
    """One NVIDIA GPU as ``nvidia-smi`` reports it (``index`` is the physical index)."""

    index: int
    name: str
    memory_mib: int
    compute_capability: tuple[int, int] | None

    def describe(self) -> str:
        return f"gpu:{self.index} {self.name} ({self.memory_mib / 1024:.0f} GiB)"

    @property
    def mxnet_supported(self) -> bool:
        """False on Hopper and newer, which MXNet 1.9.1 has no kernels for."""
        return self.compute_capability is None or self.compute_capability < HOPPER


@dataclass(frozen=True)
class Slot:
    """What one worker process runs on."""

    worker_id: str
    gpu: GPU | None
    threads: int
    hide_gpus: bool = False  # a CPU slot on a machine with GPUs (--gpus none)

    @property
    def device(self) -> str:
        return "cpu" if self.gpu is None else f"gpu:{self.gpu.index}"

    def environment(self) -> dict[str, str]:
        """Variables to set before the worker imports TensorFlow or MXNet."""
        return {
            **device_environment(self.gpu, hide_gpus=self.hide_gpus),
            "AUTOML_WORKER_ID": self.worker_id,
            "AUTOML_WORKER_DEVICE": self.device,
            "TF_NUM_INTRAOP_THREADS": str(self.threads),
            "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": str(self.threads),  # MXNet's CPU operators
        }


def search_process_environment(chosen: list[GPU], found: list[GPU]) -> dict[str, str]:
    """Variables for the search process, before it imports a framework: its in-process trials
    (no GPU chosen) see no GPU, and its refit runs on the first chosen GPU."""
    return device_environment(chosen[0] if chosen else None, hide_gpus=bool(found))


def device_environment(gpu: GPU | None, *, hide_gpus: bool) -> dict[str, str]:
    """``GPU_ENVIRONMENT`` and what puts a process on ``gpu`` (None: the CPU, every GPU hidden when
    ``hide_gpus``); MXNet stays on the CPU of a GPU it has no kernels for."""
    env = dict(GPU_ENVIRONMENT)
    if gpu is not None or hide_gpus:
        env["CUDA_VISIBLE_DEVICES"] = "" if gpu is None else str(gpu.index)
    if gpu is None and hide_gpus:
        env["JAX_PLATFORMS"] = "cpu"  # JAX on the CPU without trying CUDA (and warning that it found no GPU)
    if gpu is not None and not gpu.mxnet_supported:
        env["AUTOML_MXNET_CPU"] = "1"
    return env


def say_if_gpus_unused(backends: list[BaseBackend], gpus: list[GPU]) -> None:
    """One line per engine that sees no GPU although ``gpus`` were chosen, with the install that fixes it
    (MXNet on Hopper and newer is said elsewhere: no install fixes it)."""
    if not gpus:
        return
    for backend in backends:
        if backend.device() != "cpu" or (backend.engine == "mxnet" and not all(g.mxnet_supported for g in gpus)):
            continue
        log.warning(
            "nvidia-smi reports %s but %s sees no GPU: its trials run on the CPU; to use the GPUs: %s",
            gpus[0].describe() + (f" and {len(gpus) - 1} more" if len(gpus) > 1 else ""),
            backend.describe(),
            GPU_INSTALLS[backend.engine],
        )


def parse_gpu_csv(text: str) -> list[GPU]:
    """GPUs from ``nvidia-smi --query-gpu=index,name,memory.total,compute_cap --format=csv,noheader,nounits``."""
    gpus = []
    for line in text.strip().splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != len(NVIDIA_SMI_QUERY) or not fields[0].isdigit():
            continue  # a header or a driver message, not a GPU row
        index, name, memory, capability = fields
        gpus.append(GPU(int(index), name, int(float(memory)) if _number(memory) else 0, _capability(capability)))
    return gpus


def discover_gpus(nvidia_smi: str = "nvidia-smi") -> list[GPU]:
    """The GPUs this process may use: ``nvidia-smi``'s list narrowed by ``CUDA_VISIBLE_DEVICES``.

    No ``nvidia-smi``, or one that fails (no driver), means no GPU: everything runs on the CPU.
    """
    executable = shutil.which(nvidia_smi)
    if executable is None:
        return []
    try:
        out = subprocess.run(
            [executable, f"--query-gpu={','.join(NVIDIA_SMI_QUERY)}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return _visible(parse_gpu_csv(out), os.environ.get("CUDA_VISIBLE_DEVICES"))


def select_gpus(choice: str, available: list[GPU]) -> list[GPU]:
    """``all`` (every available GPU), ``none``, or a comma list of indices such as ``0,2``."""
    choice = choice.strip().lower()
    if choice == "all":
        return list(available)
    if choice == "none":
        return []
    by_index = {g.index: g for g in available}
    chosen = []
    for item in choice.split(","):
        if not item.strip().isdigit():
            raise ConfigError(f"gpus must be 'all', 'none' or a comma list of GPU indices such as 0,2; got {choice!r}")
        index = int(item)
        if index not in by_index:
            found = ", ".join(str(i) for i in by_index) or "none"
            raise ConfigError(f"gpus: there is no GPU {index} on this machine (GPUs found: {found})")
        chosen.append(by_index[index])
    return chosen


def default_cpu_workers(cores: int) -> int:
    """CPU-only worker count: one worker per 4 cores, at least one.

    Measured on 2 cores (benchmarks/workers.py, default image space): two single-threaded
    workers ran 0.6x the trials per hour of one worker with both threads, since TensorFlow
    already spreads one model's training over its threads. 4 cores per worker on bigger
    machines is a guess in line with that, not a measurement.
    """
    return max(1, cores // 4)


def plan_slots(
    gpus: list[GPU], *, trials_per_gpu: int = 1, workers: int | None = None, cores: int = 1, hide_gpus: bool = False
) -> list[Slot]:
    """One slot per worker: ``trials_per_gpu`` per GPU (or ``workers`` spread over the GPUs); on CPU ``workers``.

    ``hide_gpus``: the machine has GPUs the CPU slots must not touch.
    """
    if gpus:
        count = workers or len(gpus) * trials_per_gpu
        threads = max(1, cores // count)
        return [Slot(f"w{i}", gpus[i % len(gpus)], threads) for i in range(count)]
    count = workers or default_cpu_workers(cores)
    return [Slot(f"w{i}", None, max(1, cores // count), hide_gpus) for i in range(count)]


def _visible(gpus: list[GPU], cuda_visible: str | None) -> list[GPU]:
    if cuda_visible is None:
        return gpus
    wanted = [item.strip() for item in cuda_visible.split(",") if item.strip()]
    if not all(item.isdigit() for item in wanted):  # UUIDs or "-1": trust the list only when it is plain indices
        return [] if any(item.startswith("-") for item in wanted) else gpus
    return [g for g in gpus if str(g.index) in wanted]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _capability(text: str) -> tuple[int, int] | None:
    major, _, minor = text.partition(".")
    return (int(major), int(minor or 0)) if major.isdigit() and (minor or "0").isdigit() else None
