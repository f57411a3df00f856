"""Task data: a ``Dataset`` holds arrays plus what a model needs to know about them."""

from automl.data.dataset import Dataset, Preprocessor, take
from automl.data.loading import TASKS, load_dataset

__all__ = ["Dataset", "Preprocessor", "TASKS", "load_dataset", "take"]
