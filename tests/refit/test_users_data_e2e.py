"""``automl.search`` end to end on users' data files (tabular and text CSVs, image folders) on both backends.

Real Keras and MXNet training (tiny models, 2 epochs, 2 folds), real Optuna SQLite and MLflow
stores; then export and predict from raw CSV rows, texts and a folder of images.
"""

from __future__ import annotations

import io
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient
from PIL import Image

import automl
from automl.cli import cli
from automl.data import load_dataset
from automl.trial.metrics import BINARY, CLASSIFICATION, REGRESSION

SPACES = Path(__file__).parents[1] / "spaces"
BACKENDS = ("keras", "mxnet")


def table(n: int = 60) -> pd.DataFrame:
    """Mixed columns with missing values: ``kind`` (strings) follows ``x`` and ``colour``; ``price`` is numeric."""
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, n)
    colour = rng.choice(["red", "green", "blue"], n)
    frame = pd.DataFrame({"x": x, "colour": colour, "noise": rng.normal(0, 1, n), "site": np.arange(n) % 6})
    frame["kind"] = np.where(x + (colour == "red") > 0.3, "big", "small")
    frame["price"] = 1000.0 + 300.0 * x + 200.0 * (colour == "red") + rng.normal(0, 20, n)
    frame.loc[[3, 17], "x"] = np.nan
    frame.loc[[5], "colour"] = np.nan
    return frame


def image_folder(root: Path) -> Path:
    """Three classes of 10x10 images, one colour each plus noise, in png/jpg/bmp."""
    rng = np.random.default_rng(0)
    colours = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}
    for (name, colour), ext in zip(colours.items(), ("png", "jpg", "bmp"), strict=True):
        (root / name).mkdir(parents=True)
        for i in range(6):
            pixels = np.clip(np.array(colour) + rng.normal(0, 15, (10, 10, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{ext}")
    return root


def reviews(n: int = 40) -> pd.DataFrame:
    """Generated two-class texts: the label follows the words."""
    rng = np.random.default_rng(0)
    words = {"good": ["great", "fine", "lovely", "superb"], "bad": ["awful", "poor", "broken", "dull"]}
    labels = np.tile(["good", "bad"], n // 2)
    texts = [" ".join(["the", "film", "was", *rng.choice(words[label], 4)]) for label in labels]
    return pd.DataFrame({"review": texts, "label": labels})


CASES = {
    "classification": {"target": "kind", "metrics": CLASSIFICATION, "space": "tiny_tabular.yaml"},
    "regression": {"target": "price", "metrics": REGRESSION, "space": "tiny_tabular.yaml"},
    "images": {  # three classes: the binary-only metrics do not apply
        "target": None,
        "metrics": {name: m for name, m in CLASSIFICATION.items() if name not in BINARY},
        "space": "tiny_image.yaml",
    },
    "text": {"target": "label", "metrics": CLASSIFICATION, "space": "tiny_text.yaml"},
}
TASKS = {"classification": "tabular", "regression": "tabular", "images": "image", "text": "text"}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Optuna and MLflow store for every search here (creating an MLflow store takes seconds)."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module", params=[(case, backend) for case in CASES for backend in BACKENDS], ids=str)
def searched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, runs_dir: Path) -> tuple:
    case, backend = request.param
    root = tmp_path_factory.mktemp(f"{case}-{backend}")
    if case == "images":
        data, options = image_folder(root / "colours"), {"image_size": 8}
    elif case == "text":
        data, options = root / "reviews.csv", {"target": "label", "text_column": "review"}
        reviews().to_csv(data, index=False)
    else:
        data, options = root / "table.csv", {"target": CASES[case]["target"], "groups": "site"}
        table().drop(columns=["price" if case == "classification" else "kind"]).to_csv(data, index=False)
    result = automl.search(
        task=TASKS[case],
        data=data,
        space=SPACES / CASES[case]["space"],
        backend=backend,
        n_trials=1,
        n_splits=2,
        study_name=f"{case}-{backend}",
        runs_dir=runs_dir,
        seed=0,
        verbose=False,
        **options,
    )
    return case, backend, root, result


def test_child_runs_hold_every_metric_of_every_fold(searched: tuple) -> None:
    case, backend, _, result = searched
    runs = MlflowClient(result.tracking_uri).search_runs([result.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == result.parent_run_id]
    assert len(children) == 1 and children[0].data.tags["automl.state"] == "COMPLETE"
    assert children[0].data.tags["automl.backend"] == backend
    expected = {f"fold_{k}.{name}" for k in (0, 1) for name in CASES[case]["metrics"]}
    assert expected <= set(children[0].data.metrics)
    if case == "images":
        assert not any(key.partition(".")[2] in BINARY for key in children[0].data.metrics if key.startswith("fold_"))
    assert result.metric == ("rmse" if case == "regression" else "accuracy")
    assert np.isfinite(result.best_score)


def test_refit_model_predicts_from_raw_inputs(searched: tuple) -> None:
    case, _, root, result = searched
    pyfunc = mlflow.pyfunc.load_model(result.model_uri)
    if case == "images":
        images = load_dataset("image", root / "colours", n_splits=2, image_size=8).X
        assert set(result.predict(images)) <= {"red", "green", "blue"}
        flat = images.reshape(len(images), -1)  # the MLflow model of array inputs takes flattened rows
        np.testing.assert_array_equal(pyfunc.predict(flat), result.predict(images))
        return
    if case == "text":
        texts = ["the film was superb and lovely", "awful dull and broken", "never seen words"]
        predictions = result.predict(texts)
        assert set(predictions) <= {"good", "bad"} and len(predictions) == 3
        np.testing.assert_array_equal(pyfunc.predict(pd.DataFrame({"text": texts})), predictions)
        return
    rows = table().drop(columns=["kind", "price"]).head(8)
    rows.loc[0, "colour"] = "purple"  # a category never seen in training
    predictions = result.predict(rows)
    np.testing.assert_array_equal(pyfunc.predict(rows), predictions)
    if case == "classification":
        assert set(predictions) <= {"big", "small"}
    else:
        assert predictions.dtype == np.float32 and 200.0 < predictions.mean() < 2000.0  # in the target's units


def test_export_then_predict_from_files(searched: tuple) -> None:
    case, backend, root, result = searched
    out = root / "exported"
    runner = CliRunner()
    exported = runner.invoke(
        cli,
        ["export", result.study.study_name, "--out", str(out), "--tracking-uri", result.tracking_uri],
    )
    assert exported.exit_code == 0, exported.output
    if case == "images":
        new = root / "new"
        image_folder(new)
        predicted = runner.invoke(cli, ["predict", "--model", str(out), "--data", str(new)])
        assert predicted.exit_code == 0, predicted.output
        lines = predicted.stdout.strip().splitlines()
        assert lines[0] == "file,prediction" and len(lines) == 19 and lines[1].startswith("blue/0.bmp,")
        return
    raw = root / "new_rows.csv"
    if case == "text":
        reviews(6).drop(columns=["label"]).rename(columns={"review": "text"}).to_csv(raw, index=False)
        predicted = runner.invoke(cli, ["predict", "--model", str(out), "--data", str(raw)])
        assert predicted.exit_code == 0, predicted.output
        values = pd.read_csv(io.StringIO(predicted.stdout))["prediction"].tolist()
        assert values == result.predict(pd.read_csv(raw)["text"].tolist()).tolist()
        return
    table().drop(columns=["kind", "price"]).head(8).to_csv(raw, index=False)
    predicted = runner.invoke(cli, ["predict", "--model", str(out), "--data", str(raw)])
    assert predicted.exit_code == 0, predicted.output
    frame = pd.read_csv(raw)
    expected = result.predict(frame)
    values = pd.read_csv(io.StringIO(predicted.stdout))["prediction"].to_numpy()
    if case == "classification":
        assert values.tolist() == expected.tolist()
    else:
        np.testing.assert_allclose(values, expected, rtol=1e-5)
    missing = root / "missing_column.csv"
    frame.drop(columns=["colour"]).to_csv(missing, index=False)
    failed = runner.invoke(cli, ["predict", "--model", str(out), "--data", str(missing)])
    assert failed.exit_code == 2 and "lack column(s) ['colour']" in failed.output
