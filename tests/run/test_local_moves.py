"""Local moves: a neighbour of the incumbent queued after each configuration the sampler proposed."""

from __future__ import annotations

import math
import random
import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from automl.errors import ConfigError
from automl.names import TrialAttr
from automl.run.local_moves import STEP, move, neighbour, proposed_by_sampler, queue_local_moves
from automl.run.settings import SearchSettings

DISTRIBUTIONS = {
    "family": CategoricalDistribution(["mlp", "cnn", "resnet"]),
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "dropout": FloatDistribution(0.0, 0.5, step=0.1),
    "units": IntDistribution(16, 256, log=True),
    "n_layers": IntDistribution(1, 3),
    "epochs": IntDistribution(10, 10),  # a fixed value: never moved
}
PARAMS = {"family": "mlp", "learning_rate": 1e-3, "dropout": 0.2, "units": 64, "n_layers": 2, "epochs": 10}


def test_a_neighbour_changes_one_parameter_and_stays_in_its_range() -> None:
    rng = random.Random(0)
    changed = []
    for _ in range(300):
        moved, change = neighbour(PARAMS, DISTRIBUTIONS, rng)
        differ = [name for name in PARAMS if moved[name] != PARAMS[name]]
        assert len(differ) == 1 and change.startswith(f"{differ[0]}: {PARAMS[differ[0]]} -> ")
        name = differ[0]
        distribution = DISTRIBUTIONS[name]
        assert distribution._contains(distribution.to_internal_repr(moved[name])), (name, moved[name])
        changed.append(name)
        if name == "dropout":
            assert round(moved[name] * 10, 9) == round(moved[name] * 10)  # on its 0.1 grid
        if name in ("units", "n_layers"):
            assert isinstance(moved[name], int)
    assert set(changed) == {"family", "learning_rate", "dropout", "units", "n_layers"}  # never the fixed one


def test_numbers_move_by_a_gaussian_step_of_a_fifth_of_the_log_range() -> None:
    rng = random.Random(1)
    distribution = DISTRIBUTIONS["learning_rate"]
    middle = math.sqrt(1e-4 * 1e-1)  # the middle of the log range: the step is rarely redrawn
    steps = [(math.log(move(distribution, middle, rng)) - math.log(middle)) / math.log(1e3) for _ in range(2000)]
    spread = math.sqrt(sum(s * s for s in steps) / len(steps))
    assert abs(sum(steps) / len(steps)) < 0.02  # no drift
    assert STEP * 0.85 < spread < STEP * 1.05  # a fifth of the range (slightly less: the ends redraw)
    edge = [move(distribution, 1e-1, rng) for _ in range(200)]  # at the top of the range: moves stay inside
    assert max(edge) <= 1e-1 and min(edge) >= 1e-4


def test_a_choice_moves_to_another_choice_and_tried_neighbours_are_skipped() -> None:
    distributions = {"cell": CategoricalDistribution(["lstm", "gru"]), "units": IntDistribution(32, 32)}
    rng = random.Random(0)
    moved, change = neighbour({"cell": "lstm", "units": 32}, distributions, rng)
    assert moved == {"cell": "gru", "units": 32} and change == "cell: lstm -> gru"
    assert neighbour({"cell": "lstm", "units": 32}, distributions, rng, tried=[moved]) is None  # the only one
    assert neighbour({"units": 32}, {"units": IntDistribution(32, 32)}, rng) is None  # nothing can move


def _add(study: optuna.Study, value: float | None, state: TrialState = TrialState.COMPLETE, **params: object) -> None:
    study.add_trial(
        optuna.create_trial(
            state=state,
            value=value if state == TrialState.COMPLETE else None,
            params={**PARAMS, **params},
            distributions=DISTRIBUTIONS,
        )
    )


def _waiting(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(states=(TrialState.WAITING,))


def test_after_a_proposed_trial_a_neighbour_of_the_best_is_queued_once() -> None:
    study = optuna.create_study(direction="maximize")
    _add(study, 0.80, units=32)
    _add(study, 0.90, units=128)  # the incumbent
    _add(study, None, TrialState.PRUNED, units=200)  # a proposal of the sampler, dropped by racing
    callback = queue_local_moves(0, lambda: 10, lambda: time.time() + 60)
    callback(study, study.trials[-1])
    (queued,) = _waiting(study)
    assert queued.user_attrs[TrialAttr.MOVED_FROM] == 1
    fixed = queued.system_attrs["fixed_params"]
    differ = [name for name in PARAMS if fixed[name] != study.trials[1].params[name]]
    assert len(differ) == 1 and queued.user_attrs[TrialAttr.MOVE].startswith(differ[0] + ": ")
    callback(study, study.trials[-2])  # another trial finishes while the move is still waiting: nothing more
    assert len(_waiting(study)) == 1


def test_queued_trials_deadlines_and_spent_budgets_queue_no_move() -> None:
    study = optuna.create_study(direction="maximize")
    _add(study, 0.9)
    study.enqueue_trial({"units": 20})
    queued = study.ask()  # the queued trial (say, the defaults) runs: it was not the sampler's
    study.tell(queued, 0.5)
    assert not proposed_by_sampler(study.trials[-1])
    queue_local_moves(0, lambda: 10, lambda: None)(study, study.trials[-1])
    assert not _waiting(study)
    _add(study, None, TrialState.PRUNED, units=99)
    assert proposed_by_sampler(study.trials[-1])
    queue_local_moves(0, lambda: 10, lambda: time.time() - 1)(study, study.trials[-1])  # past the deadline
    queue_local_moves(0, lambda: 3, lambda: None)(study, study.trials[-1])  # 3 of 3 trials spent
    assert not _waiting(study)
    empty = optuna.create_study(direction="maximize")
    _add(empty, None, TrialState.PRUNED)
    queue_local_moves(0, lambda: 10, lambda: None)(empty, empty.trials[-1])  # nothing completed: no incumbent
    assert not _waiting(empty)


def test_with_several_metrics_the_incumbent_is_on_the_pareto_front() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for value, size, units in ((0.9, 5000.0, 128), (0.8, 100.0, 16), (0.7, 6000.0, 200)):  # the last is dominated
        study.add_trial(
            optuna.create_trial(
                state=TrialState.COMPLETE,
                values=[value, size],
                params={**PARAMS, "units": units},
                distributions=DISTRIBUTIONS,
            )
        )
    _add(study, None, TrialState.PRUNED, units=50)
    sources = set()
    for seed in range(12):
        callback = queue_local_moves(seed, lambda: None, lambda: None)
        callback(study, study.trials[3])
        (queued,) = _waiting(study)
        sources.add(queued.user_attrs[TrialAttr.MOVED_FROM])
        study.tell(study.ask(), [0.0, 1e9])  # run it (dominated), so that the next seed may queue again
    assert sources == {0, 1}


def test_local_moves_are_a_setting_on_by_default() -> None:
    assert SearchSettings().local_moves is True
    assert SearchSettings(local_moves=False).local_moves is False
    with pytest.raises(ConfigError, match="local_moves must be True or False, got 'sometimes'"):
        SearchSettings(local_moves="sometimes")
