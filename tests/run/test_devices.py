"""GPU discovery and worker slots, without a GPU: nvidia-smi absent, failing, or printing a real H100's answer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from automl.errors import ConfigError
from automl.run.devices import GPU, default_cpu_workers, discover_gpus, parse_gpu_csv, plan_slots, select_gpus

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
