"""Search spaces: YAML files parsed into nodes, checked against what the model builder understands,
and sampled with an Optuna trial into a nested configuration."""

from automl.space.nodes import SearchSpace
from automl.space.parser import load_space, parse_space, shipped_spaces

__all__ = ["SearchSpace", "load_space", "parse_space", "shipped_spaces"]
