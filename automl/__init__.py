"""automl: hyperparameter search for Keras and MXNet models with cross-validation, Optuna and MLflow.

>>> import automl
>>> result = automl.search(task="image", n_trials=3)      # doctest: +SKIP
>>> result.best_score, result.best_params                 # doctest: +SKIP

The public names load on first use, so ``import automl`` (and ``automl --help``) imports no
framework, Optuna or MLflow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from automl import _legacy
from automl._version import __version__
from automl.errors import AutoMLError, ConfigError, DataError, SearchSpaceError

if TYPE_CHECKING:
    from automl.refit.export import load_model
    from automl.refit.fitted import FittedModel
    from automl.run.promote import Promotion, promote
    from automl.run.search import SearchResult, search
    from automl.run.serve import serve
    from automl.run.settings import SearchSettings
    from automl.space import SearchSpace, load_space

_LAZY = {
    "search": "automl.run.search",
    "SearchResult": "automl.run.search",
    "SearchSettings": "automl.run.settings",
    "SearchConfig": "automl.run.settings",  # the name of SearchSettings before 0.2
    "FittedModel": "automl.refit.fitted",
    "load_model": "automl.refit.export",
    "SearchSpace": "automl.space",
    "load_space": "automl.space",
    "serve": "automl.run.serve",
    "promote": "automl.run.promote",
    "Promotion": "automl.run.promote",
}

_legacy.install()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'automl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AutoMLError",
    "ConfigError",
    "DataError",
    "FittedModel",
    "Promotion",
    "SearchConfig",
    "SearchResult",
    "SearchSettings",
    "SearchSpace",
    "SearchSpaceError",
    "__version__",
    "load_model",
    "load_space",
    "promote",
    "search",
    "serve",
]
