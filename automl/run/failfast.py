"""Stop a search whose every trial fails: after a few failures and no success, it is the setup, not luck."""

from __future__ import annotations

from collections import Counter

import optuna

from automl.logs import get_logger
from automl.trial.outcome import FINISHED, fail_reason, says_something_about_its_configuration
from automl.trial.repeats import repeats_in_a_row

log = get_logger(__name__)

FAILURES_BEFORE_STOP = 5
REPEATS_BEFORE_STOP = 20  # proposals in a row that were all tried already: the space has nothing new left


def every_trial_fails(study: optuna.Study, n: int = FAILURES_BEFORE_STOP) -> str | None:
    """A message when the study's first ``n`` finished trials all failed and none succeeded, else None.

    Only failures with a reason of their own count: an interrupted, lost or surplus trial says
    nothing about the configuration.
    """
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    if any(t.state != optuna.trial.TrialState.FAIL for t in finished):
        return None
    reasons = [fail_reason(t) for t in finished if says_something_about_its_configuration(t)]
    if len(reasons) < n:
        return None
    reason, count = Counter(reasons).most_common(1)[0]
    return (
        f"the first {len(reasons)} trials all failed, so every trial probably will ({count} of them: {reason}); "
        "fix the search space or the data and run the same command again (the study is kept)"
    )


def stop_when_every_trial_fails(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """An ``optimize`` callback: stop the study when ``every_trial_fails`` says so."""
    if trial.state == optuna.trial.TrialState.FAIL and every_trial_fails(study):
        study.stop()


def nothing_new_left(study: optuna.Study) -> str | None:
    """A message when the sampler's last proposals were all configurations the study already tried."""
    if repeats_in_a_row(study) < REPEATS_BEFORE_STOP:
        return None
    return (
        f"the last {REPEATS_BEFORE_STOP} proposals were all configurations the study already tried: the search "
        "space has nothing new left; widen it, or use a sampler that covers it (--sampler random)"
    )


def stop_when_nothing_new_is_left(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """An ``optimize`` callback: stop (and say why) when ``nothing_new_left``."""
    message = nothing_new_left(study)
    if message:
        log.warning("stopping: %s", message)
        study.stop()
