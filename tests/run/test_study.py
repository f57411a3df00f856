"""Optuna samplers, pruners and storages; creating and resuming a study."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import optuna
import pytest

from automl.errors import ConfigError
from automl.run.settings import PRUNERS, SAMPLERS
from automl.run.study import make_pruner, make_sampler, open_study
from automl.space import load_space
from automl.stores import default_storage, redact
from automl.trial.racing import FoldRacing

optuna.logging.set_verbosity(optuna.logging.WARNING)

SAMPLER_TYPES = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "gp": optuna.samplers.GPSampler,
    "qmc": optuna.samplers.QMCSampler,
    "nsga2": optuna.samplers.NSGAIISampler,
}
NEEDS = {"cmaes": "cmaes", "gp": "torch"}
PRUNER_TYPES = {
    "racing": FoldRacing,
    "hyperband": optuna.pruners.HyperbandPruner,
    "sha": optuna.pruners.SuccessiveHalvingPruner,
    "median": optuna.pruners.MedianPruner,
    "none": optuna.pruners.NopPruner,
}


def test_every_name_is_covered() -> None:
    assert set(SAMPLER_TYPES) == set(SAMPLERS) and set(PRUNER_TYPES) == set(PRUNERS)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_samples_the_image_space(name: str) -> None:
    if name in NEEDS and importlib.util.find_spec(NEEDS[name]) is None:
        with pytest.raises(ConfigError, match=f"the '{name}' sampler needs the '{NEEDS[name]}' package"):
            make_sampler(name, 0)
        return
    sampler = make_sampler(name, seed=0)
    assert isinstance(sampler, SAMPLER_TYPES[name])
    space = load_space("image")
    study = optuna.create_study(sampler=sampler)
    for i in range(10):  # past TPE's 8 start-up trials
        trial = study.ask()
        config = space.sample(trial)
        assert config["architecture"]["family"] in ("mlp", "cnn", "resnet")
        study.tell(trial, float(i % 3))
    assert len(study.trials) == 10


def test_seeded_random_sampler_is_deterministic() -> None:
    def params(seed: int) -> list[dict]:
        study = optuna.create_study(sampler=make_sampler("random", seed))
        space = load_space("image")
        trials = [study.ask() for _ in range(5)]
        for trial in trials:
            space.sample(trial)
        return [trial.params for trial in trials]

    assert params(3) == params(3)
    assert params(3) != params(4)


def test_unknown_sampler() -> None:
    with pytest.raises(ConfigError, match="unknown sampler 'tpe2'.*Did you mean 'tpe'"):
        make_sampler("tpe2", 0)


@pytest.mark.parametrize("name", PRUNERS)
def test_every_pruner(name: str) -> None:
    assert isinstance(make_pruner(name, epochs_per_fold=8, n_splits=5), PRUNER_TYPES[name])
    assert isinstance(make_pruner(name, epochs_per_fold=1, n_splits=2), PRUNER_TYPES[name])


def test_unknown_pruner() -> None:
    with pytest.raises(ConfigError, match="unknown pruner 'medain'.*Did you mean 'median'"):
        make_pruner("medain", epochs_per_fold=4, n_splits=2)


def test_median_pruner_prunes_a_bad_trial() -> None:
    study = optuna.create_study(direction="maximize", pruner=make_pruner("median", epochs_per_fold=4, n_splits=2))
    for _ in range(3):
        trial = study.ask()
        for step in range(8):
            trial.report(1.0, step)
        study.tell(trial, 1.0)
    bad = study.ask()
    for step in range(2):
        bad.report(0.0, step)
    assert bad.should_prune()


def test_racing_ranks_configurations_after_their_second_epoch_of_a_long_first_fold() -> None:
    """Hyperband's boldest bracket in the first fold compares configurations after 2 epochs, not
    after a quarter of the fold's epoch ceiling (25 here, as in the shipped image space)."""
    pruner = make_pruner("racing", epochs_per_fold=25, n_splits=5)
    # a named study: Hyperband assigns trials to brackets by a hash of the study's name
    study = optuna.create_study(study_name="rungs", direction="maximize", pruner=pruner)
    stopped_at = []
    for number in range(12):
        trial = study.ask()
        quality = 0.95 - 0.05 * number  # every configuration worse than the one before
        for step in range(24):
            trial.report(quality * min(1.0, (step + 1) / 5), step)
            if trial.should_prune():
                stopped_at.append(step)
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, quality)
    assert stopped_at and min(stopped_at) == 1, stopped_at  # step 1: the end of the second epoch


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        ("mysql+pymysql://root:secret@localhost:3306/optuna", "mysql+pymysql://root:***@localhost:3306/optuna"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("sqlite:///runs/optuna.db", "sqlite:///runs/optuna.db"),
        ("runs/journal.log", "runs/journal.log"),
        ("sqlite:////abs/path/optuna.db", "sqlite:////abs/path/optuna.db"),
        ("postgresql://host/db?password=secret&sslmode=require", "postgresql://host/db?password=***&sslmode=require"),
        ("postgresql://u@host/db?sslmode=require&PWD=secret", "postgresql://u@host/db?sslmode=require&PWD=***"),
        ("http://admin:secret@mlflow:5000", "http://admin:***@mlflow:5000"),
        ("https://mlflow.example.com/?token=secret", "https://mlflow.example.com/?token=***"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_default_storage_is_absolute(tmp_path: Path) -> None:
    url = default_storage(tmp_path / "runs")
    assert url == f"sqlite:///{(tmp_path / 'runs' / 'optuna.db').resolve()}"
    assert Path(url.removeprefix("sqlite:///")).is_absolute()


def open_(url: str, direction: str = "maximize", name: str = "s") -> optuna.Study:
    return open_study(
        name=name,
        storage=url,
        direction=direction,
        sampler=make_sampler("random", 0),
        pruner=make_pruner("none", epochs_per_fold=2, n_splits=2),
    )


def test_open_study_creates_then_resumes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = open_(url)
    assert (tmp_path / "optuna.db").is_file()
    assert study.study_name == "s" and study.direction == optuna.study.StudyDirection.MAXIMIZE
    study.enqueue_trial({"x": 1.0})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)

    resumed = open_(url)
    assert len(resumed.trials) == 2
    assert resumed.trials[0].params == {"x": 1.0}
    assert resumed.best_value == pytest.approx(max(t.value for t in study.trials))
    resumed.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert len(open_(url).trials) == 3
    assert len(open_(url, name="other").trials) == 0  # another name is another study


def test_open_study_with_the_other_direction(tmp_path: Path) -> None:
    url = default_storage(tmp_path)
    open_(url, "maximize")
    with pytest.raises(ConfigError, match="study 's' exists and is set to maximize, but the metric asks to minimize"):
        open_(url, "minimize")


def test_unreachable_storage_hides_the_password() -> None:
    url = "postgresql://u:secret@127.0.0.1:1/db"
    with pytest.raises(ConfigError) as info:
        open_(url)
    message = str(info.value)
    assert "secret" not in message
    assert message.startswith("cannot open the Optuna storage postgresql://u:***@127.0.0.1:1/db: ")
    assert "\n" not in message
    assert "Failed to import DB access module" not in message  # the installed driver (psycopg2) is used


def test_sqlite_in_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open the Optuna storage sqlite:///.*unable to open database file"):
        open_(f"sqlite:///{tmp_path / 'no' / 'such' / 'optuna.db'}")
