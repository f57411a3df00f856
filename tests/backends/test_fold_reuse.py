"""Cross-validation reuses one Keras model across folds, put back in its untrained state each time."""

from __future__ import annotations

from typing import Any

import numpy as np

from automl.backends.keras.backend import KerasBackend
from automl.data import load_dataset
from automl.model.spec import Layer, ModelSpec, OptimizerSpec
from automl.trial.cv import Folds, cross_validate, make_splits
from automl.trial.metrics import get_metric

SPEC = ModelSpec(
    (8, 8, 1),
    10,
    "classification",
    (Layer("conv2d", {"filters": 4, "kernel_size": 3}), Layer("activation", {"name": "relu"}), Layer("flatten")),
    OptimizerSpec("adam", 1e-2),
    batch_size=64,
    epochs=2,
)


def test_restore_undoes_training_weights_and_optimizer_alike(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits[0][:400], digits[1][:400]
    backend = KerasBackend()
    backend.seed(3)
    model = backend.build(SPEC)
    state = backend.snapshot(model)
    backend.seed(5)
    first = backend.fit(model, SPEC, X, y, validation=(X[:100], y[:100])).history
    assert int(model.optimizer.iterations.numpy()) > 0
    backend.restore(model, state)
    for restored, initial in zip(model.get_weights(), state[0], strict=True):
        np.testing.assert_array_equal(restored, initial)
    assert int(model.optimizer.iterations.numpy()) == 0
    backend.seed(5)
    again = backend.fit(model, SPEC, X, y, validation=(X[:100], y[:100])).history
    # Adam's moments and step count were reset too: the same training, step for step.
    np.testing.assert_allclose(again["loss"], first["loss"], rtol=1e-5)
    backend.release()


class _CountingKeras(KerasBackend):
    """The real Keras backend, recording which model each fold trained."""

    def __init__(self) -> None:
        super().__init__()
        self.built, self.trained = 0, []

    def build(self, spec: ModelSpec) -> Any:
        self.built += 1
        return super().build(spec)

    def fit(self, model: Any, *args: Any, **kwargs: Any) -> Any:
        self.trained.append(model)
        return super().fit(model, *args, **kwargs)


def test_folds_of_one_spec_share_one_model_and_its_traced_graph() -> None:
    data = load_dataset("image", None, n_splits=3)
    backend = _CountingKeras()
    cv = cross_validate(
        lambda shape: SPEC, backend, Folds(data, make_splits(data, 3, seed=0)), get_metric(None, "classification")
    )
    assert backend.built == 1 and len({id(m) for m in backend.trained}) == 1
    assert len(cv.folds) == 3 and all(f.score > 0.5 for f in cv.folds)  # each fold learnt from its own start
    backend.release()


def test_a_fold_whose_spec_differs_gets_its_own_model() -> None:
    data = load_dataset("image", None, n_splits=3)
    specs = iter([SPEC, SPEC, ModelSpec(**{**SPEC.__dict__, "batch_size": 32})])
    backend = _CountingKeras()
    cross_validate(
        lambda shape: next(specs),
        backend,
        Folds(data, make_splits(data, 3, seed=0)),
        get_metric(None, "classification"),
    )
    assert backend.built == 2 and len({id(m) for m in backend.trained}) == 2
    backend.release()
