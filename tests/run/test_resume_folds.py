"""A study is never resumed over another number of folds: its trials' scores, racing and fold models
would not be comparable with the new search's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import automl
from automl.errors import ConfigError
from automl.names import TrialAttr

SPACES = Path(__file__).parents[1] / "spaces"


def _search(runs: Path, n_trials: int, **settings: object) -> automl.SearchResult:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    return automl.search(
        task="tabular",
        data=(X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)),
        space=SPACES / "tiny_tabular.yaml",
        n_trials=n_trials,
        pruner="none",
        runs_dir=runs,
        refit=False,
        verbose=False,
        study_name="folds",
        **settings,
    )


def test_a_study_is_not_resumed_over_another_number_of_folds(tmp_path: Path) -> None:
    _search(tmp_path / "runs", 1, n_splits=2)
    with pytest.raises(ConfigError, match=r"over 2 folds, this search over 5; resume it with --n-splits 2"):
        _search(tmp_path / "runs", 2)
    resumed = _search(tmp_path / "runs", 2, n_splits=2).study
    assert [len(t.user_attrs[TrialAttr.FOLD_SCORES]) for t in resumed.get_trials(deepcopy=False)] == [2, 2]
