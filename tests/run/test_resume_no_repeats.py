"""A resumed study never repeats a configuration: the same call, run again with a larger budget, draws
new ones (with every sampler), and a fresh one-worker search with the same seed stays repeatable."""

from __future__ import annotations

from pathlib import Path

import pytest

import automl
from automl.run.budget import counts_toward_budget
from automl.run.session import resumed_seed
from automl.trial.repeats import deliberate_repeat

SPACES = Path(__file__).parents[1] / "spaces"


def _search(runs: Path, n_trials: int, sampler: str, local_moves: bool) -> automl.SearchResult:
    return automl.search(
        task="tabular",
        space=SPACES / "tiny_tabular.yaml",
        n_trials=n_trials,
        n_splits=2,
        sampler=sampler,
        local_moves=local_moves,
        pruner="none",
        seed=0,
        runs_dir=runs,
        refit=False,
        verbose=False,
    )


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
# the default search (TPE, each proposal followed by a local move); the other samplers alone, so
# that every trial is theirs (moves never repeat a trial either: tests/run/test_local_moves.py)
@pytest.mark.parametrize(
    ("sampler", "local_moves"), [("tpe", True), ("random", False), ("qmc", False), ("cmaes", False)]
)
def test_a_resumed_search_trains_no_configuration_twice(sampler: str, local_moves: bool, tmp_path: Path) -> None:
    _search(tmp_path / "runs", 3, sampler, local_moves)
    study = _search(tmp_path / "runs", 6, sampler, local_moves).study
    trials = study.get_trials(deepcopy=False)
    counted = [t for t in trials if counts_toward_budget(t)]
    assert len(counted) == 6
    trained = [tuple(sorted(t.params.items())) for t in counted if not deliberate_repeat(t)]
    assert len(set(trained)) == len(trained), trained
    skipped = [t for t in trials if "duplicate_of" in t.user_attrs]
    assert all(t.state.name == "FAIL" and "mlflow_run_id" not in t.user_attrs for t in skipped)


def test_a_resumed_or_joining_sampler_gets_a_seed_of_its_own() -> None:
    assert len({resumed_seed(0, n) for n in range(1, 50)}) == 49
    assert resumed_seed(0, 3) != resumed_seed(1, 3)
