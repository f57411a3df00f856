"""Training speed of the Keras and MXNet backends on the same specs (scikit-learn digits).

Trains a few MLP and CNN specs for a fixed number of epochs with the same batch size on both
backends and prints, per spec, the first epoch's time (graph tracing / warm-up included), the
mean seconds per epoch over the remaining epochs (steady state, warm-up excluded), the final
validation accuracy and the MXNet/Keras ratio. Epoch times include the per-epoch validation pass
on both backends. Prints only; asserts nothing.

    python benchmarks/backend_speed.py --epochs 5 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import numpy as np
from automl.spec import Layer, ModelSpec, OptimizerSpec
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from automl.backends import BACKENDS, get_backend

INPUT_SHAPE = (8, 8, 1)


def _post(activation: str = "relu", batch_norm: bool = False, dropout: float = 0.0) -> list[Layer]:
    layers = [Layer("batch_norm")] if batch_norm else []
    layers.append(Layer("activation", {"name": activation}))
    return layers + ([Layer("dropout", {"rate": dropout})] if dropout else [])


def benchmark_specs(batch_size: int) -> dict[str, ModelSpec]:
    """A couple of MLP and CNN specs like the ones the image space samples."""
    mlp_small = [Layer("flatten"), Layer("dense", {"units": 128}), *_post()]
    mlp_deep = [Layer("flatten")]
    for units in (256, 128):
        mlp_deep += [Layer("dense", {"units": units}), *_post("gelu", batch_norm=True, dropout=0.2)]
    cnn_small = [
        Layer("conv2d", {"filters": 32, "kernel_size": 3}),
        *_post(),
        Layer("pool2d", {"mode": "max", "size": 2}),
    ]
    cnn_small += [Layer("flatten"), Layer("dense", {"units": 64}), *_post()]
    cnn_deep: list[Layer] = []
    for filters in (32, 64):
        cnn_deep += [Layer("conv2d", {"filters": filters, "kernel_size": 3}), *_post("swish")]
        cnn_deep += [Layer("pool2d", {"mode": "avg", "size": 2}), Layer("dropout", {"rate": 0.2})]
    cnn_deep += [Layer("global_pool2d", {"mode": "avg"}), Layer("dense", {"units": 128}), *_post("swish")]
    optimizer = OptimizerSpec("adam", 2e-3)
    return {
        name: ModelSpec(INPUT_SHAPE, 10, "classification", tuple(layers), optimizer, batch_size=batch_size)
        for name, layers in {
            "mlp-128": mlp_small,
            "mlp-256-128-bn-dropout": mlp_deep,
            "cnn-32-dense64": cnn_small,
            "cnn-32-64-gap": cnn_deep,
        }.items()
    }


@dataclass
class Run:
    first_epoch: float
    per_epoch: float  # mean over epochs 2.. (NaN with a single epoch)
    val_accuracy: float
    params: int


def run_once(backend_name: str, spec: ModelSpec, data: tuple[np.ndarray, ...], epochs: int, seed: int) -> Run:
    X_train, X_valid, y_train, y_valid = data
    backend = get_backend(backend_name)
    backend.seed(seed)
    model = backend.build(spec)
    ends: list[float] = []

    def on_epoch(epoch: int, logs: dict[str, float]) -> bool:
        ends.append(time.perf_counter())
        return False

    start = time.perf_counter()
    fit = backend.fit(model, spec, X_train, y_train, validation=(X_valid, y_valid), epochs=epochs, on_epoch=on_epoch)
    durations = np.diff([start, *ends])
    params = backend.count_params(model)
    backend.release()
    steady = float(durations[1:].mean()) if len(durations) > 1 else float("nan")
    return Run(float(durations[0]), steady, fit.history["val_accuracy"][-1], params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per training run (default 5)")
    parser.add_argument("--repeats", type=int, default=1, help="training runs per spec and backend (default 1)")
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch size on both backends (default 64)")
    args = parser.parse_args()

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[..., None]
    data = train_test_split(X, digits.target, test_size=0.2, stratify=digits.target, random_state=0)
    devices = ", ".join(f"{name}: {get_backend(name).device()}" for name in BACKENDS)
    print(
        f"digits: {len(data[0])} train / {len(data[1])} validation images 8x8x1, batch size {args.batch_size}, "
        f"{args.epochs} epochs, {args.repeats} repeat(s); devices {devices}\n"
        "first epoch = warm-up (graph tracing/compilation included); s/epoch = mean of epochs 2.. "
        "(warm-up excluded, median over repeats); both include the per-epoch validation pass\n"
    )
    for name, spec in benchmark_specs(args.batch_size).items():
        results = {
            backend: [run_once(backend, spec, data, args.epochs, seed) for seed in range(args.repeats)]
            for backend in BACKENDS
        }
        print(f"{name}  ({results['keras'][0].params:,} trainable parameters)")
        print(f"  {'backend':<8} {'first epoch s':>14} {'s/epoch':>10} {'val accuracy':>13}")
        summary = {}
        for backend, runs in results.items():
            first = statistics.median(r.first_epoch for r in runs)
            steady = statistics.median(r.per_epoch for r in runs)
            accuracy = statistics.mean(r.val_accuracy for r in runs)
            summary[backend] = (first, steady)
            print(f"  {backend:<8} {first:>14.3f} {steady:>10.4f} {accuracy:>13.3f}")
        ratio_first = summary["mxnet"][0] / summary["keras"][0]
        ratio_steady = summary["mxnet"][1] / summary["keras"][1]
        print(f"  {'mxnet/keras':<8} {ratio_first:>11.2f}x {ratio_steady:>9.2f}x\n")


if __name__ == "__main__":
    main()
