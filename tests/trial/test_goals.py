"""Several metrics and constraints: settings, goals, the racing rule of a multi-objective study."""

from __future__ import annotations

import optuna
import pytest

from automl.errors import ConfigError
from automl.names import TrialAttr
from automl.run.settings import SearchSettings
from automl.run.study import make_pruner, make_sampler
from automl.trial.costs import parse_conditions, parse_constraint
from automl.trial.goals import Goals, StoredConstraints, best_trial, pareto_front, ranked_trials
from automl.trial.racing import ParetoRacing


def test_a_metric_list_is_one_setting_in_either_form() -> None:
    assert SearchSettings(metric="accuracy, n_params").metrics == ["accuracy", "n_params"]
    assert SearchSettings(metric=["accuracy", "latency_ms"]).metric == "accuracy,latency_ms"
    assert SearchSettings().metrics == []
    assert SearchSettings(constraints=["n_params <= 1e5"]).constraints == ("n_params<=1e5",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metric": "n_params,accuracy"}, "n_params is a model cost; name a metric first"),
        ({"metric": "acuracy"}, "unknown metric 'acuracy'"),
        ({"metric": "accuracy,n_parms"}, "metric or model cost"),
        ({"metric": "accuracy,accuracy"}, "names accuracy twice"),
        ({"constraints": ["n_params=<5"]}, "is not of the form NAME<=NUMBER"),
        ({"constraints": ["size<=5"]}, "unknown name 'size'"),
        ({"constraints": "n_params<=5"}, "must be a list of conditions"),
    ],
)
def test_bad_metrics_and_constraints_are_one_clear_line(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SearchSettings(**options)


def test_conditions_are_parsed_never_evaluated() -> None:
    first, second = parse_conditions("accuracy>=0.98 AND latency_ms<2", ("accuracy", "latency_ms"))
    assert (first.name, first.op, first.bound, second.op) == ("accuracy", ">=", 0.98, "<")
    assert first.met_by(0.98) and not first.met_by(0.97) and second.met_by(1.9) and not second.met_by(2)
    assert parse_constraint("n_params<=100_000").violation(100_500) == 500
    assert parse_constraint("accuracy>0.9").violation(0.95) == pytest.approx(-0.05)
    with pytest.raises(ConfigError):
        parse_conditions("__import__('os').system('true')", ("accuracy",))


def test_goals_of_a_search() -> None:
    goals = Goals.from_settings(["accuracy", "n_params", "log_loss"], ("latency_ms<5",), "classification")
    assert goals.directions == ["maximize", "minimize", "minimize"] and goals.multi
    assert goals.costs_needed() == {"n_params", "latency_ms"}
    assert goals.violations({"latency_ms": 7.0}) == [2.0] and goals.violations({}) == [0.0]
    assert goals.broken({"latency_ms": 7.0}) == ["latency_ms<5 (latency_ms = 7)"]
    with pytest.raises(ConfigError, match="rmse"):
        Goals.from_settings(["accuracy"], ("rmse<3",), "classification")


def test_samplers_and_pruners_for_several_metrics() -> None:
    sampler = make_sampler("tpe", 0, objectives=2, constraints=1)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert isinstance(make_sampler("nsga2", 0, objectives=2), optuna.samplers.NSGAIISampler)
    with pytest.raises(ConfigError, match="'cmaes' sampler optimizes one metric"):
        make_sampler("cmaes", 0, objectives=2)
    with pytest.raises(ConfigError, match="cannot prune a search of several metrics"):
        make_pruner("hyperband", epochs_per_fold=4, n_splits=3, objectives=2)
    assert isinstance(make_pruner("racing", epochs_per_fold=4, n_splits=3, objectives=2), optuna.pruners.NopPruner)


def _front_study() -> optuna.Study:
    """Three completed trials of (accuracy, n_params): a small weak model, a mid one, a big strong one."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["accuracy", "n_params"])
    for accuracy, params, folds in [
        (0.80, 1_000, [0.78, 0.82]),
        (0.90, 10_000, [0.88, 0.92]),
        (0.97, 100_000, [0.96, 0.98]),
    ]:
        trial = optuna.trial.create_trial(
            values=[accuracy, params],
            user_attrs={TrialAttr.FOLD_SCORES: folds, TrialAttr.COSTS: {"n_params": params}},
        )
        study.add_trial(trial)
    return study


def test_racing_never_stops_a_smaller_model_because_a_bigger_one_scores_higher() -> None:
    racing = ParetoRacing(Goals.from_settings(["accuracy", "n_params"], (), "classification"))
    study = _front_study()
    # 500 parameters: no completed trial is as small, so nothing can stop it, however weak its first fold
    assert racing.fold(study, {"n_params": 500}, 0.30, 0) is None
    # 5,000 parameters: only the 1,000-parameter trial is as small; 0.85 beats its worst fold (0.78)
    assert racing.fold(study, {"n_params": 5_000}, 0.85, 0) is None
    # ... and 0.70 does not: stopped by the small trial, never by the big ones
    stop = racing.fold(study, {"n_params": 5_000}, 0.70, 0)
    assert stop is not None and stop.kind == "raced"
    assert "worst fold 0.7800 of trial 0" in stop.reason and "n_params 1000 vs 5000" in stop.reason
    # 200,000 parameters: raced against the best of all (worst fold 0.96)
    stop = racing.fold(study, {"n_params": 200_000}, 0.95, 1)
    assert stop is not None and "of trial 2" in stop.reason


def test_at_chance_rule_in_the_first_fold() -> None:
    """The line lies a tenth of the way from chance to the first-fold score of the best completed
    trial on the first metric; before any completes, at chance itself."""
    racing = ParetoRacing(Goals.from_settings(["accuracy", "n_params"], (), "classification"), chance=0.1)
    study = optuna.create_study(directions=["maximize", "minimize"])
    assert racing.epoch(study, 3, 0.12) is None
    assert racing.epoch(study, 3, 0.1).kind == "chance"
    for value, first_fold in ((0.9, 0.6), (0.95, 0.9)):
        attrs = {TrialAttr.FOLD_SCORES: [first_fold, 1.0]}
        study.add_trial(optuna.trial.create_trial(values=[value, 1000.0], user_attrs=attrs))
    assert racing.epoch(study, 1, 0.1) is None  # warm-up
    assert racing.epoch(study, 3, 0.17).kind == "chance"  # line 0.1 + 0.1 * (0.9 - 0.1) = 0.18
    assert racing.epoch(study, 3, 0.19) is None


def test_best_trial_front_and_stored_constraints() -> None:
    study = _front_study()
    assert best_trial(study).number == 2
    assert [t.number for t in pareto_front(study)] == [0, 1, 2]
    read = StoredConstraints(2)
    assert read(study.trials[0]) == [0.0, 0.0]  # nothing stored: counts as met (it never completes)
    stored = optuna.trial.create_trial(values=[0.5, 3.0], user_attrs={TrialAttr.CONSTRAINTS: [1.5, -2]})
    assert read(stored) == [1.5, -2.0]


def test_tied_best_trials_go_to_the_lower_out_of_fold_log_loss() -> None:
    """Equal mean accuracies (to 12 decimals) are told apart by the out-of-fold log loss, then by number."""
    study = optuna.create_study(direction="maximize")
    for value, loss in ((0.9, 0.40), (0.9 + 1e-15, 0.30), (0.95, 0.60), (0.9, None), (0.9, 0.40)):
        attrs = {} if loss is None else {TrialAttr.OUT_OF_FOLD_LOG_LOSS: loss}
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs=attrs))
    assert [t.number for t in ranked_trials(study)] == [2, 1, 0, 4, 3]
    assert best_trial(study).number == 2
    study.add_trial(optuna.trial.create_trial(value=0.95, user_attrs={TrialAttr.OUT_OF_FOLD_LOG_LOSS: 0.5}))
    assert best_trial(study).number == 5
