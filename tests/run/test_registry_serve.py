"""From search to service: a search registers its model as the challenger, ``automl promote`` makes it
the champion, and ``automl.serve`` answers real HTTP requests with the champion's predictions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer

import automl
from automl.tracking.tracker import scoped_tracking_uri

SPACE = Path(__file__).parents[1] / "spaces" / "tiny_tabular.yaml"
NAME = "tabular-breast_cancer-keras"


def _automl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "automl.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def _search(runs: Path, n_trials: int) -> automl.SearchResult:
    return automl.search(
        task="tabular", space=SPACE, n_trials=n_trials, n_splits=2, ensemble_size=0, runs_dir=runs, verbose=False
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_register_promote_and_serve_the_champion(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = _search(runs, 1)
    assert first.registered_model == f"models:/{NAME}@challenger"
    promoted = _automl("promote", NAME, cwd=tmp_path)
    assert promoted.returncode == 0, promoted.stderr[-2000:]
    assert "champion:   none yet" in promoted.stdout and "champion is now version 1" in promoted.stdout

    second = _search(runs, 3)  # the same study, resumed: its model is version 2, the challenger
    client = MlflowClient(second.tracking_uri)
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "2"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    version = client.get_model_version(NAME, "2")
    assert (
        version.tags["study"] == NAME and version.tags["metric"] == "accuracy" and "parameters:" in version.description
    )
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame["label"] = frame["label"].map({0: "malignant", 1: "benign"})
    frame.tail(100).to_csv(tmp_path / "holdout.csv", index=False)
    compared = _automl("promote", NAME, "--task", "tabular", "--data", "holdout.csv", "--target", "label", cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr[-2000:]
    lines = compared.stdout.splitlines()
    assert lines[0].startswith("challenger: version 2") and lines[1].startswith("champion:   version 1")
    assert lines[2].startswith("challenger: accuracy") and lines[3].startswith("champion:   accuracy")
    assert "champion is now version 2" in lines[-1]

    server = automl.serve(f"models:/{NAME}@champion", port=_free_port(), runs_dir=runs).wait()
    try:
        with scoped_tracking_uri(second.tracking_uri):
            local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}@champion", dst_path=str(tmp_path / "m")))
        example = json.loads((local / "serving_input_example.json").read_text())
        request = urllib.request.Request(
            f"{server.url}/invocations", json.dumps(example).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            served = json.loads(response.read())["predictions"]
    finally:
        server.stop()
    rows = example["dataframe_split"]
    import pandas as pd

    pd.DataFrame(rows["data"], columns=rows["columns"]).to_csv(tmp_path / "rows.csv", index=False)
    exported = _automl("export", NAME, "--out", "exported", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-2000:]
    predicted = _automl("predict", "--model", "exported", "--data", "rows.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert served == predicted.stdout.split()[1:]


def test_no_register_skips_the_registry(tmp_path: Path) -> None:
    result = automl.search(
        task="tabular",
        space=SPACE,
        n_trials=1,
        n_splits=2,
        ensemble_size=0,
        register=False,
        runs_dir=tmp_path / "runs",
        verbose=False,
    )
    assert result.registered_model is None
    assert MlflowClient(result.tracking_uri).search_registered_models() == []
    assert result.register("mine") == "models:/mine@challenger"
    promotion = automl.promote("mine", runs_dir=tmp_path / "runs")
    assert promotion.champion is None and promotion.promoted is not None and promotion.promoted.version == "1"
    assert promotion.lines()[-1] == "champion is now version 1: models:/mine@champion"


def test_promoting_an_unknown_model_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    done = _automl("promote", "nope", cwd=tmp_path)
    assert done.returncode == 2 and "no registered model 'nope'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("model", ["not-a-model", "runs"])
def test_serving_something_that_is_no_model_is_one_clear_line(model: str, tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    done = _automl("serve", model, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "neither a model folder nor a model URI" in done.stderr or "no MLflow model here" in done.stderr
