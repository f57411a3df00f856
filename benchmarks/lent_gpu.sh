#!/usr/bin/env bash
# The GPU check as one call on a borrowed GPU machine that has Python, JAX with CUDA and nvidia-smi
# but no TensorFlow, no MXNet and no package index. Prepare here (README "Checking a GPU host"):
# .whl/ holds automl's own wheel and the wheels of its dependencies that machine lacks. There:
#
#     bash benchmarks/lent_gpu.sh [SECONDS_PER_SEARCH]     # default 60; results under $OUT (or /tmp/out)
#
# It prints the versions and JAX's devices, runs a 2-trial image search with its refit and a
# 1-trial search with --gpus none, prints where each MLflow run trained (automl.device), then
# runs benchmarks/gpu_check.py (Keras on JAX, 1, 2 and 4 trials per GPU). Asserts nothing.
set -u
seconds=${1:-60}
out=${OUT:-/tmp/out}
mkdir -p "$out"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --ignore-requires-python --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
here=$(pwd)
work=$(mktemp -d)

nvidia-smi --query-gpu=index,name,memory.total,compute_cap,driver_version --format=csv
KERAS_BACKEND=jax python3 - <<'EOF'
import sys

import jax
import keras
import mlflow
import numpy
import optuna

print("python", sys.version.split()[0], "numpy", numpy.__version__, "jax", jax.__version__, "keras",
      keras.__version__, "optuna", optuna.__version__, "mlflow", mlflow.__version__)
print("jax devices:", jax.devices())
EOF

cd "$work" || exit 1
echo "== 2-trial image search with its refit (--gpus all), then 1 trial with --gpus none"
timeout 150 python3 -m automl.cli search --task image --keras-backend jax --n-trials 2 --sampler random --seed 0 \
    --ensemble-size 0 --no-register --study on-gpu 2>&1 | tee "$out/search_gpu.log" | tail -n 15
timeout 90 python3 -m automl.cli search --task image --keras-backend jax --n-trials 1 --sampler random --seed 0 \
    --gpus none --no-refit --ensemble-size 0 --no-register --study gpus-none 2>&1 | tee "$out/search_none.log" | tail -n 5
python3 - <<'EOF' | tee "$out/devices.txt"
from mlflow.tracking import MlflowClient

from automl.stores import default_tracking_uri

client = MlflowClient(default_tracking_uri("runs"))
print(f"{'experiment':<12} {'run':<28} {'engine':<8} {'device':<7} worker")
for experiment in client.search_experiments():
    for run in client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"]):
        tags = run.data.tags
        device = tags.get("automl.device") or tags.get("automl.refit_device")  # a trial / the search's refit
        if device:
            name = run.info.run_name if "automl.device" in tags else "refit (search process)"
            print(f"{experiment.name:<12} {name:<28} {tags.get('automl.engine', '-'):<8} {device:<7} "
                  f"{tags.get('automl.worker', '-')}")
EOF

cd "$here" || exit 1
echo "== benchmarks/gpu_check.py, ${seconds} s per search"
python3 benchmarks/gpu_check.py --keras-backend jax --timeout "$seconds" --per-gpu 1 2 4 2>&1 | tee "$out/gpu_check.txt"
