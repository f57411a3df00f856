"""What a new study tries first, besides the space's defaults: the best configurations of an earlier
study (a warm start), and the task's shipped portfolio.

Both are adapted to the current space (``SearchSpace.adapt``): parameters it does not have are
dropped and numbers outside its ranges clipped, each change said once.

The portfolios (``search_spaces/portfolios/<task>.yaml``) are configurations of the task's shipped
space chosen by ``benchmarks/make_portfolio.py`` from the project's own measurements on its
built-in data: the best random draws of the space on one fold, distinct from the defaults.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import optuna
import yaml

from automl.errors import ConfigError
from automl.logs import get_logger
from automl.names import BACKEND_PARAM
from automl.run.settings import SearchSettings
from automl.run.study import open_storage
from automl.space import SearchSpace
from automl.trial.goals import maximizes

log = get_logger(__name__)
PORTFOLIOS = "portfolios"


def portfolio(task: str) -> list[dict[str, Any]]:
    """The shipped portfolio of ``task`` (Optuna parameters of its shipped space), or none."""
    folder = resources.files("automl.search_spaces") / PORTFOLIOS
    path = folder / f"{task}.yaml"
    if not path.is_file():
        return []
    return list(yaml.safe_load(path.read_text(encoding="utf-8")).get("configurations") or [])


def earlier_best(study_name: str, storage_url: str, top: int) -> list[dict[str, Any]]:
    """The parameters of the ``top`` best completed trials of an earlier study."""
    storage = open_storage(storage_url)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    if study_name not in names:
        raise ConfigError(
            f"warm start: no study {study_name!r} in its storage; studies there: {', '.join(names) or 'none'}"
        )
    study = optuna.load_study(study_name=study_name, storage=storage)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    ranked = sorted(complete, key=lambda t: t.values[0], reverse=maximizes(study))  # by its first metric
    return [dict(t.params) for t in ranked[:top]]


def first_configurations(settings: SearchSettings, space: SearchSpace, storage_url: str) -> list[dict[str, Any]]:
    """The configurations a new study queues after the space's defaults: the warm start's, then the
    portfolio's (with the task's own shipped space only), adapted to the space."""
    sources: list[tuple[str, list[dict[str, Any]]]] = []
    if settings.warm_start_from:
        best = earlier_best(
            settings.warm_start_from, settings.warm_start_storage or storage_url, settings.warm_start_top
        )
        sources.append((f"the best {len(best)} of study {settings.warm_start_from}", best))
    if settings.portfolio and settings.space in (None, settings.task):
        sources.append((f"the {settings.task} portfolio", portfolio(settings.task)))
    queued: list[dict[str, Any]] = []
    for what, configurations in sources:
        notes: set[str] = set()
        for params in configurations:
            adapted, changes = _adapt(space, params, settings.backends)
            notes.update(changes)
            if adapted and adapted not in queued:
                queued.append(adapted)
        if configurations:
            log.info("queued %s first%s", what, f" ({'; '.join(sorted(notes))})" if notes else "")
    return queued


def _adapt(space: SearchSpace, params: dict[str, Any], backends: list[str]) -> tuple[dict[str, Any], list[str]]:
    params = dict(params)
    backend = params.pop(BACKEND_PARAM, None)
    adapted, notes = space.adapt(params)
    if len(backends) > 1 and backend in backends:
        adapted[BACKEND_PARAM] = backend
    return adapted, notes
