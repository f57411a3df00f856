"""No configuration is trained twice: duplicates are caught before training, deliberate repeats are not."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from automl.names import TrialAttr
from automl.run.budget import counts_toward_budget
from automl.trial.outcome import says_something_about_its_configuration
from automl.trial.repeats import DuplicateConfiguration, repeated_trial, repeats_in_a_row, skip_if_repeated

CHOICE = {"x": CategoricalDistribution(["a", "b"])}


def _finished(study: optuna.Study, x: str, **user_attrs: object) -> None:
    study.add_trial(
        optuna.create_trial(
            state=TrialState.COMPLETE, value=1.0, params={"x": x}, distributions=CHOICE, user_attrs=user_attrs
        )
    )


def test_a_repeated_proposal_is_skipped_before_training_and_does_not_count() -> None:
    study = optuna.create_study()
    _finished(study, "a")
    study.enqueue_trial({"x": "a"})  # as a replaying sampler would propose it
    fixed = study.ask(CHOICE)
    with pytest.raises(DuplicateConfiguration):
        skip_if_repeated(fixed)
    study.tell(fixed, state=TrialState.FAIL)
    skipped = study.trials[fixed.number]
    assert (
        skipped.user_attrs[TrialAttr.DUPLICATE_OF] == 0 and "duplicate of trial 0" in skipped.user_attrs["fail_reason"]
    )
    assert not counts_toward_budget(skipped) and not says_something_about_its_configuration(skipped)


def test_a_new_configuration_passes() -> None:
    study = optuna.create_study()
    _finished(study, "a")
    study.enqueue_trial({"x": "b"})
    trial = study.ask(CHOICE)
    skip_if_repeated(trial)  # nothing raised
    assert repeated_trial(study, trial.number) is None


def test_retries_and_completions_repeat_on_purpose() -> None:
    study = optuna.create_study()
    _finished(study, "a")
    study.enqueue_trial({"x": "a"}, user_attrs={TrialAttr.COMPLETES: 0})
    completion = study.ask(CHOICE)
    assert completion.params == {"x": "a"} and repeated_trial(study, completion.number) is None
    study.add_trial(
        optuna.create_trial(
            state=TrialState.RUNNING, params={"x": "a"}, distributions=CHOICE, system_attrs={"failed_trial": 0}
        )
    )
    assert repeated_trial(study, study.trials[-1].number) is None


def test_duplicates_in_a_row_are_counted() -> None:
    study = optuna.create_study()
    _finished(study, "a")
    for _ in range(3):
        study.add_trial(
            optuna.create_trial(
                state=TrialState.FAIL, params={"x": "a"}, distributions=CHOICE, user_attrs={TrialAttr.DUPLICATE_OF: 0}
            )
        )
    assert repeats_in_a_row(study) == 3
    _finished(study, "b")
    assert repeats_in_a_row(study) == 0
