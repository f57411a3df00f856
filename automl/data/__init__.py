"""Task data: a ``Dataset`` holds arrays plus what a model needs to know about them."""

from automl.data.dataset import PROBLEM_TYPES, Dataset, Preprocessor, ProblemType, take
from automl.data.loading import TASKS, load_dataset

__all__ = ["PROBLEM_TYPES", "Dataset", "Preprocessor", "ProblemType", "TASKS", "load_dataset", "take"]
