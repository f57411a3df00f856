"""Task data: a ``Dataset`` holds arrays plus what a model needs to know about them."""

from automl.data.dataset import Dataset
from automl.data.loading import TASKS, load_dataset

__all__ = ["Dataset", "TASKS", "load_dataset"]
