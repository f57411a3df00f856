"""Choosing a trial of a search, by conditions on its metrics and costs or by number, and refitting
it on the search's data: ``automl export --pick`` / ``--trial``, ``SearchResult.pick`` and
``SearchResult.export``.

Only completed trials can be chosen: a trial that broke a constraint ended pruned. When several
match the conditions, the best on the first metric wins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.data import Dataset, take
from automl.errors import ConfigError
from automl.names import StudyAttr, TrialAttr
from automl.refit.export import ExportedModel, export_fitted
from automl.refit.fitted import FittedEnsemble, FittedModel
from automl.refit.refit import refit_trial
from automl.run.session import build_search_parts
from automl.run.settings import SearchSettings, StudyRecord
from automl.trial.costs import COSTS, parse_conditions
from automl.trial.goals import maximizes, objective_names, pareto_front, trial_values
from automl.trial.metrics import METRICS


def choose_trial(study: optuna.Study, *, pick: str | None = None, trial: int | None = None) -> FrozenTrial:
    """The completed trial ``trial``, or the best (first metric) completed trial meeting ``pick``."""
    names = objective_names(study)
    if trial is not None:
        found = {t.number: t for t in study.get_trials(deepcopy=False)}.get(trial)
        if found is None:
            raise ConfigError(f"study {study.study_name!r} has no trial {trial} (trials 0 to {len(study.trials) - 1})")
        if found.state != TrialState.COMPLETE:
            why = found.user_attrs.get(TrialAttr.STOP_REASON) or found.user_attrs.get(TrialAttr.FAIL_REASON) or ""
            raise ConfigError(
                f"trial {trial} is {found.state.name}{': ' + why if why else ''}; only completed trials (which meet "
                f"every constraint) can be exported. {_front_text(study, names)}"
            )
        return found
    if not pick:
        raise ConfigError("choose a trial with a condition (--pick) or a number (--trial)")
    conditions = parse_conditions(pick, tuple(dict.fromkeys((*names, *COSTS, *METRICS))))
    matching = []
    for each in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        values = trial_values(each, names)
        if all(c.name in values and c.met_by(values[c.name]) for c in conditions):
            matching.append(each)
    if not matching:
        raise ConfigError(f"no completed trial meets {pick!r}. {_front_text(study, names)}")
    sign = 1 if maximizes(study) else -1
    return max(matching, key=lambda t: (sign * t.values[0], -t.number))


def _front_text(study: optuna.Study, names: list[str]) -> str:
    front = pareto_front(study)
    if not front:
        return "No trial has completed."
    rows = "; ".join(
        f"trial {t.number}: " + ", ".join(f"{n} {v:.6g}" for n, v in trial_values(t, names).items() if n in names)
        for t in front
    )
    return f"The front: {rows}"


def study_dataset(study: optuna.Study) -> tuple[Dataset, SearchSettings]:
    """The data set a study searched on and its settings, rebuilt from those it recorded (Keras
    then refits on the engine the study searched with)."""
    stored = study.user_attrs.get(StudyAttr.SETTINGS)
    if stored is None:
        raise ConfigError(f"study {study.study_name!r} was not made by automl search: it records no settings")
    record = StudyRecord.from_json(stored)
    if record.settings.get("data") == "arrays":
        raise ConfigError(
            f"study {study.study_name!r} searched arrays held in memory: refit from the search's result "
            "(result.pick(...)) in the session that ran it, or search a saved file"
        )
    settings = SearchSettings.from_stored(record.settings)
    return build_search_parts(settings, space_yaml=record.space_yaml).dataset, settings


def refit_choice(
    study: optuna.Study,
    dataset: Dataset,
    seed: int,
    *,
    pick: str | None = None,
    trial: int | None = None,
    models: int = 1,
) -> tuple[FrozenTrial, FittedModel | FittedEnsemble]:
    """The chosen trial (``choose_trial``) and its configuration refit on ``dataset`` (``models``
    models, averaged)."""
    chosen = choose_trial(study, pick=pick, trial=trial)
    return chosen, refit_trial(chosen, dataset, seed, models=models)


def export_choice(
    study: optuna.Study,
    dataset: Dataset,
    seed: int,
    out: Path,
    *,
    pick: str | None = None,
    trial: int | None = None,
    models: int = 1,
) -> ExportedModel:
    """Refit the chosen trial (``refit_choice``) and export it into ``out`` as ``automl export`` does."""
    chosen, fitted = refit_choice(study, dataset, seed, pick=pick, trial=trial, models=models)
    example = take(dataset.X, np.arange(min(5, len(dataset.y))))
    return export_fitted(fitted, example, out, f"trial {chosen.number} of {study.study_name}")
