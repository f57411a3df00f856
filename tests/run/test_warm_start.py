"""Warm starts: a new study tries an earlier study's best configurations first, adapted to its space."""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.trial import TrialState

import automl
from automl.errors import ConfigError
from automl.space import load_space, parse_space

SPACES = Path(__file__).parents[1] / "spaces"


def test_parameters_of_another_space_are_dropped_clipped_or_kept() -> None:
    space = load_space(SPACES / "tiny_tabular.yaml")
    names = space.parameters()
    assert "architecture.layer.1.units" in names and "optimizer.learning_rate" in names  # every repeat index
    kept, notes = space.adapt(
        {
            "optimizer.learning_rate": 0.5,  # above the range: clipped to 2e-2
            "architecture.n_layers": 2,
            "activation": "selu",  # not a choice here: dropped, the sampler draws it
            "training.epochs": 30,  # not searched here: dropped
            "regularization.dropout": 0.2,
        }
    )
    assert kept == {"optimizer.learning_rate": 0.02, "architecture.n_layers": 2, "regularization.dropout": 0.2}
    assert sorted(notes) == [
        "clipped optimizer.learning_rate 0.5 -> 0.02",
        "dropped activation='selu' (not one of ['relu', 'tanh'])",
        "dropped training.epochs (not in this space)",
    ]
    assert space.adapt(space.defaults()) == (space.defaults(), [])


def test_a_value_between_steps_lands_on_a_step() -> None:
    space = parse_space(
        "parameters:\n  architecture:\n    family: mlp\n  optimizer: {name: adam}\n  regularization:\n"
        "    dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}\n"
    )
    assert space.adapt({"regularization.dropout": 0.26})[0] == {"regularization.dropout": pytest.approx(0.3)}


def test_a_new_study_tries_the_earlier_studys_best_first(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    earlier = automl.search(
        task="tabular",
        space=SPACES / "tiny_tabular.yaml",
        n_trials=4,
        n_splits=2,
        sampler="random",
        pruner="none",
        study_name="earlier",
        refit=False,
        runs_dir=runs,
        verbose=False,
    )
    narrower = tmp_path / "narrower.yaml"
    narrower.write_text(
        (SPACES / "tiny_tabular.yaml")
        .read_text()
        .replace(
            "low: 5.0e-3, high: 2.0e-2, log: true, default: 1.0e-2",
            "low: 5.0e-3, high: 8.0e-3, log: true, default: 6.0e-3",
        )
    )
    later = automl.search(
        task="tabular",
        space=narrower,
        n_trials=3,
        n_splits=2,
        warm_start_from="earlier",
        warm_start_top=2,
        study_name="later",
        refit=False,
        runs_dir=runs,
        verbose=False,
    )
    best = sorted(earlier.study.get_trials(states=[TrialState.COMPLETE]), key=lambda t: -t.value)[:2]
    tried = later.study.trials
    expected = [load_space(narrower).adapt(t.params)[0] for t in best]
    assert [t.params for t in tried[1:3]] == expected  # after the defaults: the earlier best, learning rates clipped
    assert all(p["optimizer.learning_rate"] <= 8.0e-3 for p in expected)


def test_warm_starting_from_a_study_that_does_not_exist_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="warm start: no study 'nope' in its storage"):
        automl.search(
            task="tabular",
            space=SPACES / "tiny_tabular.yaml",
            n_trials=1,
            n_splits=2,
            warm_start_from="nope",
            runs_dir=tmp_path / "runs",
            verbose=False,
        )


@pytest.mark.parametrize("task", ["image", "tabular", "text"])
def test_a_new_search_of_a_shipped_space_queues_its_portfolio(task: str, tmp_path: Path) -> None:
    """Each shipped portfolio is configurations of its task's shipped space, queued after the
    defaults of a new default search; off with portfolio=False and for another space."""
    from automl.run.settings import SearchSettings
    from automl.run.warmstart import first_configurations, portfolio

    configurations = portfolio(task)
    space = load_space(task)
    assert len(configurations) == 3
    for params in configurations:
        assert space.adapt(params) == (params, [])  # every value inside the space, nothing dropped
        assert params != space.defaults()
    storage = f"sqlite:///{tmp_path}/optuna.db"
    assert first_configurations(SearchSettings(task=task), space, storage) == configurations
    assert first_configurations(SearchSettings(task=task, portfolio=False), space, storage) == []
    other = SearchSettings(task="tabular", space=SPACES / "tiny_tabular.yaml")
    assert first_configurations(other, load_space(SPACES / "tiny_tabular.yaml"), storage) == []
