"""GPU discovery and worker slots, without a GPU: nvidia-smi absent, failing, or printing a real H100's answer."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from automl.errors import ConfigError
from automl.run.devices import (
    GPU,
    default_cpu_workers,
    discover_gpus,
    parse_gpu_csv,
    plan_slots,
    search_process_environment,
    select_gpus,
)
from automl.run.pool import plan_workers
from automl.run.settings import SearchSettings

# `nvidia-smi --query-gpu=index,name,memory.total,compute_cap --format=csv,noheader,nounits` on an 8-GPU H100 node
H100_NODE = "\n".join(f"{i}, NVIDIA H100 80GB HBM3, 81559, 9.0" for i in range(8)) + "\n"
A100_AND_V100 = "0, NVIDIA A100-SXM4-40GB, 40960, 8.0\n1, Tesla V100-SXM2-16GB, 16384, 7.0\n"


def _fake_nvidia_smi(folder: Path, output: str, code: int = 0) -> str:
    """An ``nvidia-smi`` on PATH that answers like the real one did (or fails like a missing driver)."""
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}EOF\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(folder)


def test_parses_the_h100_answer() -> None:
    gpus = parse_gpu_csv(H100_NODE)
    assert len(gpus) == 8
    assert gpus[3] == GPU(3, "NVIDIA H100 80GB HBM3", 81559, (9, 0))
    assert not gpus[0].mxnet_supported  # Hopper: MXNet 1.9.1 has no kernels for it
    assert gpus[0].describe() == "gpu:0 NVIDIA H100 80GB HBM3 (80 GiB)"


def test_parse_skips_headers_and_driver_messages() -> None:
    text = "index, name, memory.total [MiB], compute_cap\n" + A100_AND_V100 + "No devices were found\n"
    gpus = parse_gpu_csv(text)
    assert [g.index for g in gpus] == [0, 1]
    assert all(g.mxnet_supported for g in gpus)


def test_no_nvidia_smi_means_cpu_only() -> None:
    assert discover_gpus("nvidia-smi-that-does-not-exist") == []


def test_discovery_runs_nvidia_smi_and_honours_cuda_visible_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _fake_nvidia_smi(tmp_path, H100_NODE) + os.pathsep + os.environ["PATH"])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert len(discover_gpus()) == 8
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert [g.index for g in discover_gpus()] == [2, 5]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert discover_gpus() == []


def test_a_failing_nvidia_smi_means_cpu_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
    monkeypatch.setenv("PATH", _fake_nvidia_smi(tmp_path, message, code=9) + os.pathsep + os.environ["PATH"])
    assert discover_gpus() == []


def test_select_gpus() -> None:
    gpus = parse_gpu_csv(H100_NODE)[:4]
    assert select_gpus("all", gpus) == gpus
    assert select_gpus("none", gpus) == []
    assert [g.index for g in select_gpus("0,2", gpus)] == [0, 2]
    with pytest.raises(ConfigError, match=r"no GPU 7 on this machine \(GPUs found: 0, 1, 2, 3\)"):
        select_gpus("7", gpus)
    with pytest.raises(ConfigError, match="gpus must be 'all', 'none' or a comma list"):
        select_gpus("first", gpus)
    with pytest.raises(ConfigError, match="GPUs found: none"):
        select_gpus("0", [])


def test_slots_pack_trials_per_gpu_and_set_the_environment_before_import() -> None:
    gpus = parse_gpu_csv(A100_AND_V100)
    slots = plan_slots(gpus, trials_per_gpu=2, cores=8)
    assert [s.worker_id for s in slots] == ["w0", "w1", "w2", "w3"]
    assert [s.environment()["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "1", "0", "1"]
    env = slots[1].environment()
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and env["TF_NUM_INTRAOP_THREADS"] == "2"
    assert env["AUTOML_WORKER_DEVICE"] == "gpu:1" and "AUTOML_MXNET_CPU" not in env
    hopper = plan_slots(parse_gpu_csv(H100_NODE)[:1], cores=16)
    assert hopper[0].environment()["AUTOML_MXNET_CPU"] == "1"


def test_cpu_slots() -> None:
    assert len(plan_slots([], cores=2)) == default_cpu_workers(2) == 1
    slots = plan_slots([], workers=2, cores=2)
    assert [s.environment()["TF_NUM_INTRAOP_THREADS"] for s in slots] == ["1", "1"]
    assert "CUDA_VISIBLE_DEVICES" not in slots[0].environment()  # nothing to hide on a machine without GPUs
    hidden = plan_slots([], workers=1, cores=2, hide_gpus=True)[0].environment()
    assert hidden["CUDA_VISIBLE_DEVICES"] == "" and hidden["AUTOML_WORKER_DEVICE"] == "cpu"
    assert hidden["JAX_PLATFORMS"] == "cpu" and "JAX_PLATFORMS" not in slots[0].environment()


def test_the_search_process_sees_the_first_chosen_gpu_or_none() -> None:
    found = parse_gpu_csv(H100_NODE)
    on_two = search_process_environment([found[2], found[5]], found)
    assert on_two["CUDA_VISIBLE_DEVICES"] == "2"  # the refit's GPU; the workers get theirs in their slots
    assert on_two["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID" and on_two["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert on_two["AUTOML_MXNET_CPU"] == "1"  # Hopper
    assert search_process_environment([], found)["CUDA_VISIBLE_DEVICES"] == ""  # --gpus none: hidden
    assert search_process_environment([], found)["JAX_PLATFORMS"] == "cpu" and "JAX_PLATFORMS" not in on_two
    assert "CUDA_VISIBLE_DEVICES" not in search_process_environment([], [])  # nothing to hide
    assert all(slot.environment()["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID" for slot in plan_slots(found, cores=16))


@pytest.mark.parametrize(("gpus", "slots", "search_process"), [("none", [], ""), ("2,5", ["2", "5"], "2")])
def test_plan_workers_points_the_workers_and_this_process_at_the_chosen_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gpus: str, slots: list[str], search_process: str
) -> None:
    monkeypatch.setenv("PATH", _fake_nvidia_smi(tmp_path, H100_NODE) + os.pathsep + os.environ["PATH"])
    for name in (
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "TF_FORCE_GPU_ALLOW_GROWTH",
        "AUTOML_MXNET_CPU",
        "JAX_PLATFORMS",
    ):
        monkeypatch.delenv(name, raising=False)  # restored after the test: plan_workers sets them here
    planned = plan_workers(SearchSettings(task="tabular", gpus=gpus, workers=1 if gpus == "none" else None))
    assert [slot.environment()["CUDA_VISIBLE_DEVICES"] for slot in planned] == slots
    assert os.environ["CUDA_VISIBLE_DEVICES"] == search_process
    assert os.environ["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_arrays_go_to_the_workers_of_a_host_whose_nvidia_smi_reports_a_gpu(tmp_path: Path) -> None:
    """The README's API example on a GPU host: a GPU plans a worker process, which loads the arrays
    the search wrote. (The fake GPU has no driver behind it: TensorFlow trains on the CPU.)"""
    space = Path(__file__).parents[1] / "spaces" / "tiny_image.yaml"
    script = f"""
from sklearn.datasets import load_digits
import automl
digits = load_digits()
result = automl.search(task="image", data=(digits.images[:300] / 16.0, digits.target[:300]), space={str(space)!r},
    n_trials=2, n_splits=2, pruner="none", refit=False, ensemble_size=0, runs_dir={str(tmp_path / "runs")!r},
    verbose=False)
print("states", sorted(t.state.name for t in result.study.trials))
"""
    env = {
        **os.environ,
        "PATH": _fake_nvidia_smi(tmp_path, H100_NODE.splitlines()[0] + "\n") + os.pathsep + os.environ["PATH"],
    }
    env.pop("CUDA_VISIBLE_DEVICES", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "states ['COMPLETE', 'COMPLETE']" in done.stdout, done.stdout + done.stderr[-3000:]
    folders = list((tmp_path / "runs" / "data").iterdir())
    assert len(folders) == 1 and {p.name for p in folders[0].iterdir()} == {"X.npy", "y.npy"}


def test_keras_backend_jax_runs_the_trials_of_the_worker_processes_and_the_refit_on_jax(tmp_path: Path) -> None:
    """``--keras-backend jax`` on a host whose nvidia-smi reports a GPU: the trials run in a worker
    process, the refit in the search process, both on Keras-JAX (on the CPU: no driver behind the fake
    GPU), whatever the user's KERAS_BACKEND says; MLflow's runs name the engine."""
    space = Path(__file__).parents[1] / "spaces" / "tiny_image.yaml"
    env = {
        **os.environ,
        "PATH": _fake_nvidia_smi(tmp_path, H100_NODE.splitlines()[0] + "\n") + os.pathsep + os.environ["PATH"],
        "KERAS_BACKEND": "tensorflow",
    }
    env.pop("CUDA_VISIBLE_DEVICES", None)
    command = [sys.executable, "-m", "automl.cli", "search", "--task", "image", "--keras-backend", "jax"]
    command += ["--space", str(space), "--n-trials", "2", "--n-splits", "2", "--pruner", "none", "--ensemble-size", "0"]
    command += ["--final-model", "refit"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "KERAS_BACKEND says Keras backend 'tensorflow'; automl runs Keras on jax" in output
    assert "backend(s): keras on jax" in output
    client = MlflowClient(f"sqlite:///{tmp_path}/runs/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("image-digits-keras").experiment_id])
    trials = [r for r in runs if "automl.worker" in r.data.tags]
    assert len(trials) == 2 and {r.data.tags["automl.engine"] for r in trials} == {"jax"}
    parent = [r for r in runs if "automl.model_uri" in r.data.tags]
    assert len(parent) == 1 and parent[0].data.tags["automl.engine"] == "jax"
    assert {r.data.tags["automl.device"] for r in trials} == {"cpu"}  # where JAX trained (no GPU behind the fake)
    assert parent[0].data.tags["automl.refit_device"] == "cpu"
    assert re.search(r"refit of trial \d+ \(\d+ models?.*\) on cpu: ", output), output[-3000:]
