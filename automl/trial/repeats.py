"""No configuration is trained twice: a proposal that repeats an earlier trial's is caught before training.

A resumed or restarted sampler, or two workers asking at once, can propose a configuration the
study already tried. Such a trial fails at once, before any training, as a *duplicate* (user
attribute ``duplicate_of``): it does not count toward the budget, and the next trial draws
again. Deliberate repeats are let through: the retry of a trial lost with its worker (Optuna's
``failed_trial`` system attribute) and the completion of a promising trial (``completes``).
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from automl.names import TrialAttr

RETRY_ATTR = "failed_trial"  # Optuna's system attribute on the retry of a failed (lost) trial
TRIED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)


class DuplicateConfiguration(Exception):
    """This trial's configuration was tried by an earlier trial: nothing to train."""


def deliberate_repeat(trial: optuna.trial.FrozenTrial) -> bool:
    """A retry of a lost trial or the completion of a promising one."""
    return RETRY_ATTR in trial.system_attrs or TrialAttr.COMPLETES in trial.user_attrs


def repeated_trial(study: optuna.Study, number: int) -> int | None:
    """The earliest other trial that tried trial ``number``'s parameters, unless ``number`` repeats
    it on purpose (None: nothing to skip)."""
    trials = study.get_trials(deepcopy=False)
    this = trials[number]
    if deliberate_repeat(this):
        return None
    for other in trials:
        if (
            other.number == number
            or other.state not in TRIED
            or other.user_attrs.get(TrialAttr.DUPLICATE_OF) is not None
        ):
            continue
        if other.params == this.params:
            return other.number
    return None


def skip_if_repeated(trial: optuna.Trial) -> None:
    """Raise ``DuplicateConfiguration`` (and record it) when this trial repeats an earlier one."""
    earlier = repeated_trial(trial.study, trial.number)
    if earlier is not None:
        trial.set_user_attr(TrialAttr.DUPLICATE_OF, earlier)
        trial.set_user_attr(TrialAttr.FAIL_REASON, f"duplicate of trial {earlier}: not trained, drawn again")
        raise DuplicateConfiguration(earlier)


def repeats_in_a_row(study: optuna.Study) -> int:
    """How many of the study's last finished trials in a row were duplicates."""
    count = 0
    for trial in reversed(
        study.get_trials(deepcopy=False, states=(TrialState.FAIL, TrialState.COMPLETE, TrialState.PRUNED))
    ):
        if trial.user_attrs.get(TrialAttr.DUPLICATE_OF) is None:
            break
        count += 1
    return count
