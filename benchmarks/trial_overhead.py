"""Per-trial overhead of automl's machinery against a bare Keras script doing the same training.

For a few fixed image configurations (scikit-learn digits, the same 5 stratified folds), times:

- automl: one trial of ``automl.search`` on a space whose only point is that configuration
  (Optuna sampling and storage writes, spec and model build, our callbacks and progress, all
  metrics, per-fold MLflow logging; real SQLite stores); the trial's own duration as Optuna
  recorded it, the study and MLflow set-up excluded;
- bare: what a hand-written script runs for the same configuration on the same folds: per fold,
  seed, build and compile the same Keras model, ``fit`` with the same batch size and epochs,
  validating on the validation fold, ``predict``, ``accuracy_score``, and ``clear_session`` to
  free the fold's model (as KerasTuner does between trials).

Every fold trains exactly 10 epochs on both sides (no early stopping), so the two do the same
training and the difference is the machinery's.

A third column times automl with a new model per fold (as before fold reuse), which shows
what reusing the traced graph saves. All run in this process, alternating, after one warm-up
of each (TensorFlow import and first tracing excluded). Prints per configuration the median
seconds of each and automl's overhead as a percentage of the bare time (negative: automl is
faster). Prints only.

    python benchmarks/trial_overhead.py --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SPACES = {
    "cnn-32-32 (default)": """
      family: {type: categorical, choices: {cnn: {n_blocks: 2, block: {repeat: n_blocks, filters: 32, kernel_size: 3},
               pooling: max, head: flatten, dense_units: 128}}}""",
    "cnn-64-64-64-gap": """
      family: {type: categorical, choices: {cnn: {n_blocks: 3, block: {repeat: n_blocks, filters: 64, kernel_size: 3},
               pooling: max, head: global_avg, dense_units: 128}}}""",
    "mlp-384-384": """
      family: {type: categorical, choices: {mlp: {n_layers: 2, layer: {repeat: n_layers, units: 384}}}}""",
}
REST = """
  activation: relu
  optimizer: {name: {type: categorical, choices: {adam: {learning_rate: 2.0e-3, beta_1: 0.9}}}}
  regularization: {dropout: 0.2, l2: 1.0e-5, batch_norm: false,
                   augmentation: {flip: none, shift: 0.0, rotation: 0.0}}
  training: {batch_size: 64, epochs: 10, early_stopping_patience: 0}  # the same work on both sides
"""
N_SPLITS = 5


def _space_file(directory: Path, name: str, architecture: str) -> Path:
    path = directory / f"{name.split()[0]}.yaml"
    path.write_text(f"task: image\nparameters:\n  architecture:{architecture}{REST}")
    return path


def time_automl(space: Path, runs_dir: Path) -> tuple[float, dict[str, Any], list[int]]:
    """One automl trial of the space's only configuration: (seconds, config, epochs per fold)."""
    from automl import search

    result = search(
        "image",
        space=space,
        n_trials=1,
        n_splits=N_SPLITS,
        pruner="none",
        runs_dir=runs_dir,
        refit=False,
        verbose=False,
    )
    trial = result.study.trials[-1]
    seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return seconds, trial.user_attrs["config"], trial.user_attrs["best_epochs"]  # all epochs: no early stopping


@contextlib.contextmanager
def rebuilding_per_fold() -> Iterator[None]:
    """automl as it was before fold reuse: a new Keras model (and a new traced graph) per fold."""
    from automl.backends.base import BaseBackend
    from automl.backends.keras import KerasBackend

    KerasBackend.snapshot = BaseBackend.snapshot  # type: ignore[method-assign]
    try:
        yield
    finally:
        del KerasBackend.snapshot


def time_bare(config: dict[str, Any], seed: int = 0) -> tuple[float, list[int]]:
    """The same configuration trained by a hand-written Keras loop over the same folds."""
    import keras
    from automl.architectures import build_spec
    from automl.cv import make_splits
    from sklearn.metrics import accuracy_score

    from automl.backends.keras import KerasBackend
    from automl.data import load_dataset

    data = load_dataset("image", None, n_splits=N_SPLITS)
    X, y = data.X, data.y
    splits = make_splits(data, N_SPLITS, seed)
    spec = build_spec(config, input_shape=X.shape[1:], n_outputs=data.n_outputs, objective="classification")
    start = time.perf_counter()
    epochs = []
    for fold, (train, valid) in enumerate(splits):
        keras.utils.set_random_seed(seed + fold)
        model = KerasBackend().build(spec)  # the same Keras layers a hand-written script would stack
        history = model.fit(
            X[train],
            y[train],
            batch_size=spec.batch_size,
            epochs=spec.epochs,
            validation_data=(X[valid], y[valid]),
            verbose=0,
        ).history
        accuracy_score(y[valid], model.predict(X[valid], batch_size=1024, verbose=0).argmax(axis=1))
        epochs.append(len(history["loss"]))
        keras.backend.clear_session()
    return time.perf_counter() - start, epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        spaces = {name: _space_file(tmp_path, name, arch) for name, arch in SPACES.items()}
        first = next(iter(spaces.values()))
        _, warm_config, _ = time_automl(first, tmp_path / "warm-up")  # imports and first tracing, both sides
        time_bare(warm_config)
        for name, space in spaces.items():
            ours, rebuilt, bare = [], [], []
            for repeat in range(args.repeats):
                seconds, config, our_epochs = time_automl(space, tmp_path / f"{name.split()[0]}-{repeat}")
                ours.append(seconds)
                with rebuilding_per_fold():
                    rebuilt.append(time_automl(space, tmp_path / f"{name.split()[0]}-{repeat}-rebuilt")[0])
                seconds, bare_epochs = time_bare(config)
                bare.append(seconds)
            medians = [statistics.median(times) for times in (ours, rebuilt, bare)]
            rows.append((name, *medians, our_epochs, bare_epochs))
            print(f"  {name}: automl {ours}, automl rebuilding {rebuilt}, bare {bare}", flush=True)
    print(
        f"\n{'configuration':<22} {'automl s':>9} {'rebuilt s':>10} {'bare s':>8} {'overhead':>9} {'rebuilt':>8}"
        "  epochs per fold (automl | bare)"
    )
    for name, ours_s, rebuilt_s, bare_s, our_epochs, bare_epochs in rows:
        overhead, rebuilt_overhead = (100 * (t - bare_s) / bare_s for t in (ours_s, rebuilt_s))
        print(
            f"{name:<22} {ours_s:>9.1f} {rebuilt_s:>10.1f} {bare_s:>8.1f} {overhead:>8.1f}% {rebuilt_overhead:>7.1f}%"
            f"  {our_epochs} | {bare_epochs}"
        )
    print("overhead: (automl − bare) / bare; rebuilt: the same for automl with a new model per fold (before reuse)")


if __name__ == "__main__":
    main()
