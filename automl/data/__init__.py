"""Task data: a ``Dataset`` holds arrays plus what a model needs to know about them."""

from automl.data.dataset import PROBLEM_TYPES, Dataset, Preprocessor, ProblemType, take
from automl.data.folds import folds_for
from automl.data.loading import TASKS, load_dataset

__all__ = ["PROBLEM_TYPES", "Dataset", "Preprocessor", "ProblemType", "TASKS", "folds_for", "load_dataset", "take"]
