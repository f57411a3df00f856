"""A trial's fold models, averaged: the final model without a refit (``--final-model folds``).

Cross-validation trains ``k`` models of a configuration, each on ``(k-1)/k`` of the rows and
stopped on the rest. Averaging their predictions is what the trial's out-of-fold score measured
(each row by a model that did not train on it), so the score estimates the model shipped, and no
refit adds the variance of one more training run (AutoGluon bags the same way). The price: ``k``
models to store and to run per prediction.
"""

from __future__ import annotations

import json
from pathlib import Path

from automl.backends.base import BaseBackend
from automl.data import Dataset
from automl.refit.fitted import FittedEnsemble, FittedModel
from automl.trial.cv import CVResult, Folds

BAG_FILE = "bag.json"


def save_fold_models(backend: BaseBackend, cv: CVResult, folds: Folds, dataset: Dataset, directory: Path) -> Path:
    """Write each fold's kept model (``cross_validate(keep_models=True)``) with that fold's
    preprocessing into ``directory/fold_<k>``, as ``FittedModel.save`` does."""
    directory.mkdir(parents=True, exist_ok=True)
    for fold in cv.folds:
        kept = fold.kept
        assert kept is not None, "cross_validate did not keep this fold's model"
        if kept.state is not None:
            backend.restore(kept.model, kept.state)
        data = folds[fold.fold]
        FittedModel(
            backend.name,
            kept.spec,
            kept.model,
            dataset.classes,
            preprocessor=data.preprocessor,
            target=data.target,
            task=dataset.task,
        ).save(directory / f"fold_{fold.fold}")
    (directory / BAG_FILE).write_text(json.dumps({"folds": len(cv.folds)}))
    return directory


def load_bag(directory: Path, trial: int) -> FittedEnsemble:
    """The fold models ``save_fold_models`` wrote, as one model that averages them."""
    n_folds = json.loads((directory / BAG_FILE).read_text())["folds"]
    members = [FittedModel.load(directory / f"fold_{fold}") for fold in range(n_folds)]
    return FittedEnsemble(members, [1 / n_folds] * n_folds, [trial] * n_folds)
