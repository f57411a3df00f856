"""The MXNet 1.9 Gluon backend: ``MXNetBackend`` builds and trains a ``ModelSpec`` as Keras would."""

from automl.backends.mxnet.backend import MXNetBackend

__all__ = ["MXNetBackend"]
