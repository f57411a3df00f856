"""What users already have keeps working: a runs folder made by automl before its packages moved.

``tests/fixtures/legacy_runs_99e8542.tar.gz`` was made by commit 99e8542 (see the fixtures README):
an Optuna study with the untyped settings record of that time and an MLflow model whose pickles
name the old module paths. The real ``automl`` command resumes the study; the model loads through
MLflow, exports and predicts.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "legacy_runs_99e8542.tar.gz"
SPACE = Path(__file__).parents[1] / "spaces" / "tiny_tabular.yaml"
MADE_IN = "/tmp/legacy/runs"  # where the fixture's stores were written (absolute paths inside them)
STUDY = "legacy-tabular"


def _automl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "automl.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def _relocate(database: Path, old: str, new: str) -> None:
    """Rewrite the absolute paths a store holds, as if the folder were where it was made."""
    with sqlite3.connect(database) as connection:
        tables = [row[0] for row in connection.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for column in [row[1] for row in connection.execute(f"pragma table_info('{table}')")]:
                connection.execute(
                    f'update "{table}" set "{column}" = replace("{column}", ?, ?) where typeof("{column}") = \'text\'',
                    (old, new),
                )


@pytest.fixture
def legacy_runs(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(tmp_path, filter="data")
    runs = tmp_path / "runs"
    for database in ("optuna.db", "mlflow.db"):
        _relocate(runs / database, MADE_IN, str(runs.resolve()))
    return runs


def _rows() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).data.head(20)


def test_the_old_model_loads_through_mlflow_and_predicts(legacy_runs: Path) -> None:
    client = MlflowClient(f"sqlite:///{legacy_runs}/mlflow.db")
    experiment = client.get_experiment_by_name(STUDY)
    (parent,) = client.search_runs([experiment.experiment_id], filter_string="tags.`automl.model_uri` != ''")
    mlflow.set_tracking_uri(f"sqlite:///{legacy_runs}/mlflow.db")
    model = mlflow.pyfunc.load_model(parent.data.tags["automl.model_uri"])
    labels = model.predict(_rows())
    assert set(labels) <= {"malignant", "benign"} and len(labels) == 20


def test_the_old_study_resumes_and_the_old_model_exports_and_predicts(legacy_runs: Path, tmp_path: Path) -> None:
    resumed = _automl(
        "search",
        "--task",
        "tabular",
        "--space",
        str(SPACE),
        "--study",
        STUDY,
        "--n-trials",
        "2",
        "--n-splits",
        "2",
        "--no-refit",
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "1 finished trial(s) so far" in resumed.stdout + resumed.stderr
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{legacy_runs}/optuna.db")
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 2 and finished[0].number == 0

    exported = _automl("export", STUDY, "--out", "best", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert (tmp_path / "best" / "preprocessor.skops").is_file()  # exporting rewrites a 0.1 model without pickles
    assert not (tmp_path / "best" / "preprocessor.pkl").exists()
    _rows().to_csv(tmp_path / "rows.csv", index=False)
    predicted = _automl("predict", "--model", "best", "--data", "rows.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    lines = predicted.stdout.strip().splitlines()
    assert lines[0] == "prediction" and len(lines) == 21
    assert set(lines[1:]) <= {"malignant", "benign"}
    assert np.mean(np.array(lines[1:]) == load_breast_cancer().target_names[load_breast_cancer().target[:20]]) > 0.7


def test_an_old_model_folder_refuses_its_pickle_unless_trusted(legacy_runs: Path, tmp_path: Path) -> None:
    (folder,) = [p.parent for p in legacy_runs.rglob("automl.json")]  # the 0.1 model folder inside the MLflow model
    assert (folder / "preprocessor.pkl").is_file()
    _rows().to_csv(tmp_path / "rows.csv", index=False)
    refused = _automl("predict", "--model", str(folder), "--data", "rows.csv", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "preprocessor.pkl: a pickle written by automl 0.1" in refused.stderr and "--trust-pickle" in refused.stderr
    trusted = _automl("predict", "--model", str(folder), "--data", "rows.csv", "--trust-pickle", cwd=tmp_path)
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    assert set(trusted.stdout.split()[1:]) <= {"malignant", "benign"}
