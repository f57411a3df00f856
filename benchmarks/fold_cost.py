"""Where a trial's time goes: the space's default configuration, 5-fold CV on a task's built-in data.

Prints, per fold, the seconds of the fold, of ``fit`` and of ``predict`` and the epochs trained,
as automl's Keras backend trains (several training steps per call, ``STEPS_PER_EXECUTION``, and
validation by the compiled test step on the arrays, ``EpochValidation``) and as Keras trains by
default (one step per call, ``fit(validation_data=...)`` in batches of the training batch size).
Both train the same updates in the same order: their scores and epochs are printed side by side.
Repeats alternate which variant runs first.

    python benchmarks/fold_cost.py --tasks image tabular text --repeats 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=["image", "tabular", "text"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    for task in args.tasks:
        seconds: dict[str, list[float]] = {"automl": [], "keras default": []}
        for repeat in range(args.repeats):
            for variant in sorted(seconds, reverse=repeat % 2 == 1):  # the order alternates
                total, line = measure(task, variant == "keras default", seed=repeat)
                seconds[variant].append(total)
                print(f"{task:8} {variant:13} repeat {repeat}: {line}", flush=True)
        ours, default = (statistics.mean(v) for v in seconds.values())
        print(f"{task}: 5-fold CV {ours:.2f} s by automl, {default:.2f} s as Keras's defaults (x{default / ours:.2f})")


def measure(task: str, keras_default: bool, seed: int) -> tuple[float, str]:
    """One 5-fold CV of ``task``'s default configuration: its seconds and a line of per-fold figures."""
    import keras
    import optuna

    from automl.backends import get_backend
    from automl.model import build_spec_for
    from automl.run.session import build_search_parts
    from automl.run.settings import SearchSettings
    from automl.trial.cv import Folds, cross_validate
    from automl.trial.metrics import get_metric

    parts = build_search_parts(SearchSettings(task=task))
    dataset = parts.dataset
    config = parts.space.sample(optuna.trial.FixedTrial(parts.space.defaults()))
    backend = get_backend("keras")
    timings: dict[str, list[float]] = {"fit": [], "predict": []}
    for name in timings:
        setattr(backend, name, _timed(getattr(backend, name), timings[name]))
    compile_, fit = keras.Model.compile, keras.Model.fit
    if keras_default:
        keras.Model.compile = lambda model, *a, **k: compile_(model, *a, **{**k, "steps_per_execution": 1})
        keras.Model.fit = lambda model, *a, **k: fit(model, *a, **_validation_data(k))
    try:

        def spec(shape: tuple[int, ...]) -> Any:
            return build_spec_for(config, dataset, shape)

        metric = get_metric("accuracy", dataset.problem_type)
        started = time.perf_counter()
        result = cross_validate(spec, backend, Folds(dataset, parts.splits), metric, seed=seed)
        total = time.perf_counter() - started
    finally:
        keras.Model.compile, keras.Model.fit = compile_, fit
        backend.release()
    epochs = [len(f.fit.history["loss"]) for f in result.folds]
    line = (
        f"{total:.2f} s, score {result.mean:.4f}, folds {_fmt(f.seconds for f in result.folds)} s, "
        f"fit {_fmt(timings['fit'])} s, predict {_fmt(timings['predict'])} s, epochs {epochs}"
    )
    return total, line


def _validation_data(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``fit``'s arguments with automl's ``EpochValidation`` turned into Keras's ``validation_data``."""
    from automl.backends.keras.backend import EpochValidation

    callbacks = kwargs.get("callbacks") or []
    ours = [c for c in callbacks if isinstance(c, EpochValidation)]
    if not ours:
        return kwargs
    rest = [c for c in callbacks if not isinstance(c, EpochValidation)]
    return {**kwargs, "callbacks": rest, "validation_data": (ours[0].X, ours[0].y)}


def _timed(function: Any, into: list[float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    return timed


def _fmt(values: Any) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


if __name__ == "__main__":
    main()
