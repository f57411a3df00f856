"""Racing over folds (forgiving and paired rules), at-chance stops and promising trials, on real Optuna studies."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from automl.names import TrialAttr
from automl.trial.racing import FoldRacing, StepAxis, not_behind_the_best, paired_race

E = 10  # epochs per fold: fold k ends at step 10k + 9
AXIS = StepAxis(E)


class AlwaysPrune(optuna.pruners.BasePruner):
    """An epoch pruner that always stops: what Hyperband does to a trial at a rung it loses."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def _study(direction: str = "maximize", incumbent_folds: list[float] | None = None, **epochs: float) -> optuna.Study:
    """A study whose best completed trial scored ``incumbent_folds`` (and ``epochs`` at steps e0, e1, ...)."""
    study = optuna.create_study(direction=direction)
    if incumbent_folds is not None:
        values = {int(k.removeprefix("e")): v for k, v in epochs.items()}
        values.update(_running_means(incumbent_folds))
        _complete(study, incumbent_folds, values)
    return study


def _running_means(folds: list[float]) -> dict[int, float]:
    """What a trial that scored ``folds`` reports at their ends."""
    return {AXIS.fold_end(k): sum(folds[: k + 1]) / (k + 1) for k in range(len(folds))}


def _complete(study: optuna.Study, folds: list[float], intermediate_values: dict[int, float] | None = None) -> None:
    """Add a completed trial that scored ``folds``."""
    study.add_trial(
        optuna.create_trial(
            state=TrialState.COMPLETE,
            value=sum(folds) / len(folds),
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0, 1)},
            user_attrs={TrialAttr.FOLD_SCORES: folds},
            intermediate_values=intermediate_values,
        )
    )


def _decide(pruner: FoldRacing, study: optuna.Study, reports: dict[int, float], **user_attrs: object) -> bool:
    trial = study.ask({"x": FloatDistribution(0, 1)})
    for key, value in user_attrs.items():
        trial.set_user_attr(key, value)
    for step, value in reports.items():
        trial.report(value, step)
    return trial.should_prune() if pruner is study.pruner else pruner.prune(study, study.trials[trial.number])


def test_a_trial_averaging_below_the_incumbents_worst_fold_is_raced_out() -> None:
    study = _study(incumbent_folds=[0.90, 0.95, 0.92])
    pruner = FoldRacing(AXIS)
    assert _decide(pruner, study, {AXIS.fold_end(0): 0.89})
    stop = pruner.stop_of(1)
    assert stop is not None and stop.kind == "raced" and "worst fold 0.9000 of the best trial (0)" in stop.reason


def test_the_forgiving_rule_keeps_a_trial_behind_the_incumbents_mean_but_above_its_worst_fold() -> None:
    study = _study(incumbent_folds=[0.90, 0.95, 0.92])  # mean 0.923: the aggressive rule would stop 0.91
    assert not _decide(FoldRacing(AXIS), study, {AXIS.fold_end(0): 0.91})
    assert not _decide(FoldRacing(AXIS), study, {AXIS.fold_end(0): 0.99, AXIS.fold_end(1): 0.93})


def test_racing_minimizes_too() -> None:
    study = _study("minimize", incumbent_folds=[0.30, 0.20, 0.25])  # worst fold: 0.30
    assert _decide(FoldRacing(AXIS), study, {AXIS.fold_end(0): 0.31})
    assert not _decide(FoldRacing(AXIS), study, {AXIS.fold_end(0): 0.29})


INCUMBENT = [0.90, 0.96, 0.93, 0.95, 0.91]  # worst fold 0.90, mean 0.93
STEADY = [0.89, 0.955, 0.925, 0.945, 0.905]  # 0.005-0.01 behind on every fold: a fold spread of 0.0022
NOISY = [0.95, 0.90, 0.97, 0.90, 0.93]  # +-0.05 around the incumbent's folds: a fold spread of 0.051


def _two_folds(first: float, second: float) -> dict[int, float]:
    return _running_means([first, second])


def test_a_trial_steadily_behind_on_the_same_folds_is_raced_by_the_paired_rule() -> None:
    study = _study(incumbent_folds=INCUMBENT)
    _complete(study, STEADY)
    pruner = FoldRacing(AXIS)
    # 0.01 and 0.015 behind on folds 0 and 1; its mean 0.9175 is above the incumbent's worst fold (0.90)
    assert _decide(pruner, study, _two_folds(0.89, 0.945))
    stop = pruner.stop_of(2)
    assert stop.kind == "raced" and "0.0125 behind the same folds of the best trial (0)" in stop.reason


def test_the_paired_rule_keeps_a_trial_whose_lag_is_within_the_folds_noise() -> None:
    study = _study(incumbent_folds=INCUMBENT)
    _complete(study, NOISY)
    assert not _decide(FoldRacing(AXIS), study, _two_folds(0.89, 0.945))


def test_the_paired_rule_waits_for_a_second_completed_trial_to_know_the_folds_noise() -> None:
    assert not _decide(FoldRacing(AXIS), _study(incumbent_folds=INCUMBENT), _two_folds(0.89, 0.945))


MEDIUM = [0.905, 0.945, 0.935, 0.935, 0.905]  # 0.005 behind on average, +-0.01 around that: a fold spread of 0.01


def test_a_lag_the_last_fold_cannot_make_up_is_raced_though_it_is_not_significant() -> None:
    study = _study(incumbent_folds=INCUMBENT)
    _complete(study, MEDIUM)
    pruner = FoldRacing(AXIS)
    # 0.006 behind on each of 4 folds: 1.2 standard errors (0.01 / sqrt 4), so a 5 % test of a lag keeps it;
    # to end ahead its last fold must beat the incumbent's by 0.024, more than twice the folds' spread
    assert _decide(pruner, study, _running_means([f - 0.006 for f in INCUMBENT[:4]]))
    stop = pruner.stop_of(2)
    assert stop.kind == "raced" and "likely to end ahead of it over 5 folds" in stop.reason
    # the same lag after one fold leaves four folds to make it up
    completed = study.get_trials(states=(TrialState.COMPLETE,))
    assert paired_race(completed, completed[0], [INCUMBENT[0] - 0.006], maximize=True) is None


def test_the_paired_rule_minimizes_too() -> None:
    study = _study("minimize", incumbent_folds=[1 - f for f in INCUMBENT])
    _complete(study, [1 - f for f in STEADY])
    assert _decide(FoldRacing(AXIS), study, _two_folds(0.11, 0.055))  # 0.01 and 0.015 worse
    assert not _decide(FoldRacing(AXIS), study, _two_folds(0.10, 0.03))  # 0.0 and 0.01 better


def test_nothing_is_raced_before_a_trial_completes() -> None:
    assert not _decide(FoldRacing(AXIS), _study(), {AXIS.fold_end(0): 0.01})


def test_a_trial_at_chance_after_the_warm_up_stops_in_its_first_fold() -> None:
    """The line lies a tenth of the way from chance to the incumbent's first-fold score."""
    pruner = FoldRacing(AXIS, chance=0.1, warmup_epochs=3)
    assert not _decide(pruner, _study(incumbent_folds=[1.0, 0.9]), {0: 0.1, 1: 0.1})  # two epochs: warming up
    study = _study(incumbent_folds=[1.0, 0.9])
    assert _decide(pruner, study, {0: 0.1, 1: 0.1, 2: 0.15})  # 0.15 <= 0.1 + 0.1 * (1.0 - 0.1)
    assert pruner.stop_of(1).kind == "chance" and "(line 0.1900)" in pruner.stop_of(1).reason
    assert not _decide(pruner, _study(incumbent_folds=[1.0, 0.9]), {0: 0.1, 1: 0.2, 2: 0.4})


def test_where_little_beats_chance_the_line_follows_the_incumbent() -> None:
    """On a table with a 68 % majority where the best models score about 0.73, 0.7095 is no longer at
    chance (it was, with the line drawn towards 1: 0.677 + 0.1 * 0.323 = 0.7093 on the fold's own rate)."""
    pruner = FoldRacing(AXIS, chance=0.677, warmup_epochs=3)
    assert not _decide(pruner, _study(incumbent_folds=[0.734, 0.713]), {0: 0.70, 1: 0.705, 2: 0.7095})
    assert _decide(pruner, _study(incumbent_folds=[0.734, 0.713]), {0: 0.60, 1: 0.65, 2: 0.68})  # line 0.6827


def test_before_any_trial_completes_only_chance_itself_is_at_chance() -> None:
    """The first trial (the space's defaults) has nothing to measure the data by: it stops only at or
    below the majority rate."""
    pruner = FoldRacing(AXIS, chance=0.677, warmup_epochs=3)
    assert not _decide(pruner, _study(), {0: 0.69, 1: 0.70, 2: 0.7095})
    assert _decide(pruner, _study(), {0: 0.677, 1: 0.677, 2: 0.677})


@pytest.mark.parametrize(("value", "promising"), [(0.97, True), (0.93, False)])
def test_a_trial_cut_by_the_epoch_pruner_is_promising_unless_behind_the_incumbent(
    value: float, promising: bool
) -> None:
    study = _study(incumbent_folds=[0.96, 0.97], e4=0.95)
    pruner = FoldRacing(AXIS, epoch_pruner=AlwaysPrune())
    assert _decide(pruner, study, {4: value})
    stop = pruner.stop_of(1)
    assert stop.kind == "epochs" and stop.promising is promising


def test_a_completion_is_not_cut_by_the_epoch_pruner_but_still_races() -> None:
    study = _study(incumbent_folds=[0.96, 0.97], e4=0.95)
    pruner = FoldRacing(AXIS, epoch_pruner=AlwaysPrune())
    assert not _decide(pruner, study, {4: 0.97}, **{TrialAttr.COMPLETES: 0})
    assert _decide(pruner, study, {AXIS.fold_end(0): 0.90}, **{TrialAttr.COMPLETES: 0})


def _stopped(study: optuna.Study, reports: dict[int, float]) -> optuna.trial.FrozenTrial:
    trial = study.ask({"x": FloatDistribution(0, 1)})
    for step, value in reports.items():
        trial.report(value, step)
    return study.trials[trial.number]


@pytest.mark.parametrize(
    ("reports", "not_behind"),
    [
        ({0: 0.6}, True),  # ahead at epoch 1 (0.6 against 0.5)
        ({0: 0.5}, True),  # level
        ({0: 0.6, 1: 0.65}, False),  # behind at epoch 2, where it stopped
        ({0: 0.6, 1: 0.7, 5: 0.76}, True),  # past the incumbent's last first-fold epoch (2, 0.75): against that
        ({AXIS.fold_end(0): 0.79}, False),  # its first fold below the incumbent's
        ({AXIS.fold_end(0): 0.81}, True),
    ],
)
def test_a_trial_the_budget_stops_is_compared_with_the_best_at_its_last_report(
    reports: dict[int, float], not_behind: bool
) -> None:
    study = _study(incumbent_folds=[0.80, 0.90], e0=0.5, e1=0.7, e2=0.75)
    assert not_behind_the_best(study, _stopped(study, reports)) is not_behind


def test_nothing_is_ahead_of_nothing() -> None:
    assert not not_behind_the_best(_study(), _stopped(_study(), {0: 0.9}))  # no completed trial
    pareto = optuna.create_study(directions=["maximize", "minimize"])
    trial = pareto.ask({"x": FloatDistribution(0, 1)})
    pareto.tell(trial, [0.5, 1.0])
    assert not not_behind_the_best(pareto, pareto.trials[0])  # several metrics: no single best
