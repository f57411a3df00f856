"""automl: hyperparameter search for Keras and MXNet models with cross-validation,
Optuna and MLflow.

>>> import automl
>>> result = automl.search(task="image", n_trials=3)      # doctest: +SKIP
>>> result.best_score, result.best_params                 # doctest: +SKIP
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: keep its C++ start-up chatter quiet
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from automl._version import __version__  # noqa: E402
from automl.config import SearchConfig
from automl.errors import AutoMLError, ConfigError, DataError, SearchSpaceError
from automl.model import FittedModel
from automl.search import SearchResult, search
from automl.spaces import SearchSpace, load_space

__all__ = [
    "AutoMLError",
    "ConfigError",
    "DataError",
    "FittedModel",
    "SearchConfig",
    "SearchResult",
    "SearchSpace",
    "SearchSpaceError",
    "__version__",
    "load_space",
    "search",
]
