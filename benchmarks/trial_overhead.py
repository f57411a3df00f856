"""Per-trial overhead of automl's machinery against a bare Keras loop doing the same work.

For a few fixed image configurations (scikit-learn digits, the same 5 stratified folds), times:

- automl: one trial of ``automl.search`` on a space whose only point is that configuration
  (Optuna sampling and storage writes, spec and model build, our callbacks and progress, all
  metrics, per-fold MLflow logging and the out-of-fold predictions; real SQLite stores); the
  trial's own duration as Optuna recorded it, the study and MLflow set-up excluded;
- bare: a hand-written loop that does the same training the same way: one model per trial, put
  back to its untrained weights and optimizer state before each fold (as automl's fold reuse
  does), ``fit`` with the same batch size, epochs, steps per call and validation batch, validating
  on the fold, ``predict``, ``accuracy_score``, and one ``clear_session`` at the end of the trial.

A second pair times both with a new model per fold (automl without fold reuse; the bare loop
building per fold, still one ``clear_session`` per trial). Every fold trains exactly 10 epochs
on both sides (no early stopping). All run in this process, alternating in ABBA order (automl
first in even repeats, the bare loop first in odd ones), after one warm-up of each (TensorFlow
import and first tracing excluded). Prints per configuration the median seconds of each, the
range over repeats, automl's overhead as a percentage of the bare time (of the medians, and of
each repeat's pair), and automl's machinery measured within its own trials: the trial's time
outside the model work the bare loop also does, which the machine's speed swings do not blur.

    python benchmarks/trial_overhead.py --repeats 5
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
               pooling: max, head: global_avg, batch_norm: true, dense_units: 128}}}""",
    "mlp-384-384": """
      family: {type: categorical, choices: {mlp: {n_layers: 2, layer: {repeat: n_layers, units: 384}}}}""",
}
REST = """
  activation: relu
  optimizer: {name: {type: categorical, choices: {adam: {learning_rate: 2.0e-3, beta_1: 0.9}}}}
  regularization: {dropout: 0.2, l2: 1.0e-5, batch_norm: false,
                   augmentation: {shift: 0.0, rotation: 0.0}}
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
        ensemble_size=0,
        verbose=False,
    )
    trial = result.study.trials[-1]
    seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return seconds, trial.user_attrs["config"], trial.user_attrs["best_epochs"]  # all epochs: no early stopping


@contextlib.contextmanager
def timing_model_work(seconds: list[float]) -> Iterator[None]:
    """Adds to ``seconds[0]`` the time automl's Keras backend spends on the work the bare loop
    also does (build, fit without our epoch hook, predict, snapshot and restore, seeding,
    ``clear_session``): what is left of a trial is automl's machinery, measured within one run."""
    from automl.backends.keras import backend as keras_backend

    hook_class, owner = keras_backend._EpochHook, keras_backend.KerasBackend
    shared = ("build", "fit", "predict", "snapshot", "restore", "seed", "release")
    originals = {name: getattr(owner, name) for name in shared} | {"on_epoch_end": hook_class.on_epoch_end}

    def timed(method: Any, sign: float) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[0] += sign * (time.perf_counter() - start)

        return wrapper

    for name in shared:
        setattr(owner, name, timed(originals[name], 1.0))
    hook_class.on_epoch_end = timed(originals["on_epoch_end"], -1.0)  # ours, though it runs inside fit
    try:
        yield
    finally:
        for name in shared:
            setattr(owner, name, originals[name])
        hook_class.on_epoch_end = originals["on_epoch_end"]


@contextlib.contextmanager
def rebuilding_per_fold() -> Iterator[None]:
    """automl as it was before fold reuse: a new Keras model (and a new traced graph) per fold."""
    from automl.backends.base import BaseBackend
    from automl.backends.keras.backend import KerasBackend

    own = KerasBackend.snapshot
    KerasBackend.snapshot = BaseBackend.snapshot  # type: ignore[method-assign]
    try:
        yield
    finally:
        KerasBackend.snapshot = own  # type: ignore[method-assign]


def time_bare(config: dict[str, Any], seed: int = 0, reuse: bool = True) -> tuple[float, list[int]]:
    """The same configuration trained by a hand-written Keras loop over the same folds."""
    import keras
    from sklearn.metrics import accuracy_score

    from automl.backends.keras.backend import EpochValidation, KerasBackend
    from automl.data import load_dataset
    from automl.model import build_spec
    from automl.trial.cv import make_splits

    data = load_dataset("image", None, n_splits=N_SPLITS)
    X, y = data.X, data.y
    splits = make_splits(data, N_SPLITS, seed)
    spec = build_spec(config, input_shape=X.shape[1:], n_outputs=data.n_outputs, problem_type="classification")
    backend = KerasBackend()
    start = time.perf_counter()
    epochs, model, untrained = [], None, None
    for fold, (train, valid) in enumerate(splits):
        keras.utils.set_random_seed(seed + fold)
        if reuse and model is not None:
            backend.restore(model, untrained)  # the untrained weights and optimizer state, as automl does
        else:
            model = backend.build(spec)  # the same Keras layers a hand-written script would stack
            untrained = backend.snapshot(model)
        history = model.fit(
            X[train],
            y[train],
            batch_size=spec.batch_size,
            epochs=spec.epochs,
            callbacks=[EpochValidation(X[valid], y[valid])],  # as automl validates, by the compiled test step
            verbose=0,
        ).history
        accuracy_score(y[valid], model.predict(X[valid], batch_size=1024, verbose=0).argmax(axis=1))
        epochs.append(len(history["loss"]))
    keras.backend.clear_session()
    return time.perf_counter() - start, epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        spaces = {name: _space_file(tmp_path, name, arch) for name, arch in SPACES.items()}
        first = next(iter(spaces.values()))
        _, warm_config, _ = time_automl(first, tmp_path / "warm-up")  # imports and first tracing, both sides
        time_bare(warm_config)
        for name, space in spaces.items():
            times: dict[str, list[float]] = {"automl": [], "bare": [], "automl rebuilt": [], "bare rebuilt": []}
            machinery: list[float] = []  # automl's own share of each trial, measured within the trial
            for repeat in range(args.repeats):  # alternating, so that a busy moment hits both sides
                run = tmp_path / f"{name.split()[0]}-{repeat}"
                for side in ("automl", "bare") if repeat % 2 == 0 else ("bare", "automl"):  # ABBA: no side always first
                    if side == "automl":
                        model_work = [0.0]
                        with timing_model_work(model_work):
                            seconds, config, our_epochs = time_automl(space, run)
                        times["automl"].append(seconds)
                        machinery.append((seconds - model_work[0]) / model_work[0])
                        with rebuilding_per_fold():
                            times["automl rebuilt"].append(time_automl(space, run.with_name(f"{run.name}-r"))[0])
                    else:  # the configuration is automl's of the first repeat
                        seconds, bare_epochs = time_bare(config)
                        times["bare"].append(seconds)
                        times["bare rebuilt"].append(time_bare(config, reuse=False)[0])
            rows.append((name, times, machinery, our_epochs, bare_epochs))
            print(f"  {name}: " + "; ".join(f"{k} {[round(t, 1) for t in v]}" for k, v in times.items()), flush=True)
            print(f"  {name}: machinery {[f'{100 * m:.1f}%' for m in machinery]}", flush=True)
    print(
        "\n| configuration | automl s | bare s | overhead | paired overhead | machinery within the trial "
        "| automl rebuilt s | bare rebuilt s | overhead | paired overhead | epochs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, times, machinery, our_epochs, bare_epochs in rows:
        cells = []
        for ours, bare in (("automl", "bare"), ("automl rebuilt", "bare rebuilt")):
            a, b = statistics.median(times[ours]), statistics.median(times[bare])
            paired = [100 * (x - y) / y for x, y in zip(times[ours], times[bare], strict=True)]
            cells += [_spread(times[ours]), _spread(times[bare]), f"{100 * (a - b) / b:+.1f}%", _spread(paired, "%")]
            if ours == "automl":
                cells.append(_spread([100 * m for m in machinery], "%"))
        print(f"| {name} | " + " | ".join(cells) + f" | {our_epochs} / {bare_epochs} |")
    print(
        "median (min–max) over the repeats; overhead: (automl − bare) / bare of the medians; paired: the same "
        "of each repeat's pair, run one after the other; machinery: automl's trial time outside the model work "
        "the bare loop also does (build, fit without our epoch hook, predict, weight resets, seeding, "
        "clear_session), as a share of that work, timed within the same trial"
    )


def _spread(values: list[float], unit: str = "") -> str:
    return f"{statistics.median(values):.1f}{unit} ({min(values):.1f}–{max(values):.1f}{unit})"


if __name__ == "__main__":
    main()
