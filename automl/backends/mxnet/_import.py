"""Importing MXNet 1.9.1 beside TensorFlow (numpy 1.26), in one place."""

from __future__ import annotations

from types import ModuleType

from automl.errors import BackendUnavailableError
from automl.logs import quiet_frameworks


def import_mxnet() -> ModuleType:
    """Import ``mxnet`` 1.9.1 under numpy 1.26.

    MXNet 1.9.1 (the last release) runs ``bool = onp.bool`` at import time, and numpy 1.24
    removed that alias. TensorFlow 2.21 needs numpy >= 1.26, so both frameworks can only share
    an environment on numpy 1.26.x with the alias restored before MXNet is imported: that is
    what this does (``np.bool_`` is exactly what the removed alias meant).
    """
    import warnings

    import numpy as np

    quiet_frameworks()  # before MXNet's first import: its start-up lines never reach the user

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # numpy 1.26 warns on merely asking for np.bool
        missing = not hasattr(np, "bool")
    if missing:
        np.bool = np.bool_  # type: ignore[attr-defined]
    try:
        import mxnet
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the MXNet backend needs the package 'mxnet' ({exc}); install it with: pip install mxnet==1.9.1 "
            "'numpy>=1.26,<1.27'"
        ) from exc
    return mxnet
