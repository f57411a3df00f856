"""The folds a search uses when --n-splits is not given: 5, and 3 on data of 5,000 examples or more;
the study records them, and a study is never resumed over another number of folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import automl
from automl.data import folds_for
from automl.errors import ConfigError
from automl.names import StudyAttr, TrialAttr
from automl.run.settings import StudyRecord

SPACES = Path(__file__).parents[1] / "spaces"


def test_the_default_is_five_folds_and_three_from_5000_examples() -> None:
    assert [folds_for(None, rows) for rows in (20, 4999, 5000, 60000)] == [5, 5, 3, 3]
    assert [folds_for(4, rows) for rows in (20, 60000)] == [4, 4]  # a given number always wins


def _rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)


def _search(
    runs: Path, data: tuple[np.ndarray, np.ndarray], n_trials: int = 1, **settings: object
) -> automl.SearchResult:
    return automl.search(
        task="tabular",
        data=data,
        space=SPACES / "tiny_tabular.yaml",
        n_trials=n_trials,
        pruner="none",
        runs_dir=runs,
        refit=False,
        verbose=False,
        study_name="folds",
        **settings,
    )


@pytest.mark.parametrize(("rows", "folds"), [(5000, 3), (600, 5)])
def test_a_search_without_n_splits_takes_the_folds_of_its_datas_size(rows: int, folds: int, tmp_path: Path) -> None:
    study = _search(tmp_path / "runs", _rows(rows)).study
    (trial,) = study.get_trials(deepcopy=False)
    assert trial.state.name == "COMPLETE"
    assert len(trial.user_attrs[TrialAttr.FOLD_SCORES]) == folds
    # the study records the folds chosen, so that workers joining it split the data the same way
    assert StudyRecord.from_json(study.user_attrs[StudyAttr.SETTINGS]).settings["n_splits"] == folds


def test_a_study_is_not_resumed_over_another_number_of_folds(tmp_path: Path) -> None:
    data = _rows(300)
    _search(tmp_path / "runs", data, n_splits=2)
    with pytest.raises(ConfigError, match=r"over 2 folds, this search over 5; resume it with --n-splits 2"):
        _search(tmp_path / "runs", data)
    resumed = _search(tmp_path / "runs", data, n_splits=2, n_trials=2).study
    assert [len(t.user_attrs[TrialAttr.FOLD_SCORES]) for t in resumed.get_trials(deepcopy=False)] == [2, 2]
