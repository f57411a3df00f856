"""Model folders load without unpickling anything; the logged MLflow model carries its package,
installable requirements, a signature and an input example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.datasets import load_breast_cancer

import automl
from automl.errors import DataError
from automl.refit.fitted import PREPROCESSOR_FILE, FittedEnsemble, FittedModel, load_fitted

SPACES = Path(__file__).parents[1] / "spaces"
N_SPLITS = 2


@pytest.fixture(scope="module")
def tabular_search(tmp_path_factory: pytest.TempPathFactory) -> automl.SearchResult:
    return automl.search(
        task="tabular",
        space=SPACES / "tiny_tabular.yaml",
        n_trials=2,
        n_splits=N_SPLITS,
        ensemble_size=0,
        runs_dir=tmp_path_factory.mktemp("safe") / "runs",
        verbose=False,
    )


def _rows() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).data.head(10)


def test_a_saved_model_folder_holds_no_pickle(tabular_search: automl.SearchResult, tmp_path: Path) -> None:
    tabular_search.best_model.save(tmp_path / "model")
    files = {p.name for p in (tmp_path / "model").rglob("*") if p.is_file()}
    assert PREPROCESSOR_FILE in files and not any(name.endswith((".pkl", ".pickle")) for name in files)
    loaded = load_fitted(tmp_path / "model")
    assert isinstance(loaded, FittedEnsemble) and len(loaded.members) == N_SPLITS  # the best trial's fold models
    assert all(member.preprocessor is not None for member in loaded.members)  # each fold's own, loaded from skops
    assert list(loaded.predict(_rows())) == list(tabular_search.best_model.predict(_rows()))


class Sneaky:
    """Not a type automl ever writes: its file must not load."""


def test_a_preprocessor_of_an_unknown_type_is_refused(tabular_search: automl.SearchResult, tmp_path: Path) -> None:
    tabular_search.best_model.leaves()[0].save(tmp_path / "model")
    skops.io.dump(Sneaky(), tmp_path / "model" / PREPROCESSOR_FILE)
    with pytest.raises(DataError, match=r"preprocessor.skops: holds types automl does not load \(.*Sneaky\)"):
        FittedModel.load(tmp_path / "model")


def test_the_logged_model_is_code_and_carries_its_package(tabular_search: automl.SearchResult, tmp_path: Path) -> None:
    local = Path(mlflow.artifacts.download_artifacts(tabular_search.model_uri, dst_path=str(tmp_path / "logged")))
    files = {str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()}
    assert "python_model.pkl" not in files  # models from code: nothing to unpickle
    assert "code/automl/refit/fitted.py" in files  # the package travels with the model
    requirements = (local / "requirements.txt").read_text()
    assert "automl" not in requirements.replace("mlflow", "")  # never the other project of that name
    assert "tensorflow" in requirements and "scikit-learn" in requirements and "skops" in requirements
    assert "input_example" in (local / "MLmodel").read_text() and "signature" in (local / "MLmodel").read_text()
    served = mlflow.pyfunc.load_model(str(local)).predict(_rows())
    assert list(served) == list(tabular_search.best_model.predict(_rows()))


def test_the_logged_model_loads_in_a_fresh_process_from_its_folder(
    tabular_search: automl.SearchResult, tmp_path: Path
) -> None:
    local = mlflow.artifacts.download_artifacts(tabular_search.model_uri, dst_path=str(tmp_path / "logged"))
    _rows().to_csv(tmp_path / "rows.csv", index=False)
    script = (
        "import mlflow, pandas as pd, sys; "
        f"print(list(mlflow.pyfunc.load_model({local!r}).predict(pd.read_csv({str(tmp_path / 'rows.csv')!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = list(tabular_search.best_model.predict(_rows()))
    assert done.stdout.strip().splitlines()[-1] == str(expected)
    assert np.array_equal(np.asarray(expected), tabular_search.best_model.predict(_rows()))
