"""What a model is, framework-free: ``ModelSpec`` and its parts, the optimizers, and the architecture
families that turn a sampled configuration into a spec."""

from automl.model.architectures import FAMILIES, build_spec, build_spec_for, optimizer_spec
from automl.model.params import count_params
from automl.model.spec import ModelSpec

__all__ = ["FAMILIES", "ModelSpec", "build_spec", "build_spec_for", "count_params", "optimizer_spec"]
