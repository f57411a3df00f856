"""The Keras 3 backend (TensorFlow): ``KerasBackend`` compiles a ``ModelSpec`` into a functional model."""

from automl.backends.keras.backend import KerasBackend

__all__ = ["KerasBackend"]
