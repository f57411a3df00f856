"""Old module paths, kept importable for what users already have.

Before 0.2 the package was flat (``automl.pyfunc``, ``automl.model``, ...). MLflow models logged
then pickle ``automl.pyfunc.AutoMLPyfuncModel`` in ``python_model.pkl``, so loading one imports
``automl.pyfunc``. ``install`` (run by ``import automl``) lets each old name import as the module
that now holds its code; nothing else in automl uses these names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType

MOVED = {
    "automl.pyfunc": "automl.refit.pyfunc",
    "automl.model": "automl.refit.fitted",
    "automl.export": "automl.refit.export",
    "automl.spec": "automl.model.spec",
    "automl.architectures": "automl.model.architectures",
    "automl.spaces": "automl.space.parser",
    "automl.space_schema": "automl.space.schema",
    "automl.cv": "automl.trial.cv",
    "automl.metrics": "automl.trial.metrics",
    "automl.objective": "automl.trial.objective",
    "automl.progress": "automl.trial.progress",
    "automl.interrupts": "automl.trial.interrupts",
    "automl.tracking": "automl.tracking.tracker",
    "automl.relay": "automl.tracking.relay",
    "automl.leaderboard": "automl.tracking.leaderboard",
    "automl.report": "automl.tracking.report",
    "automl.config": "automl.run.settings",
    "automl.storage": "automl.run.study",
    "automl.devices": "automl.run.devices",
    "automl.search": "automl.run.search",
    "automl.pool": "automl.run.pool",
    "automl.workers": "automl.run.worker",
    "automl.failfast": "automl.run.failfast",
    "automl._compat": "automl.backends.mxnet._import",
    "automl.backends._keras_text": "automl.backends.keras.text",
    "automl.backends._mxnet_text": "automl.backends.mxnet.text",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as the module that replaced it (the same module object).

    It is last on ``sys.meta_path``: a name that exists (``automl.backends.keras``, now a package
    exporting ``KerasBackend`` as before) is found by Python's own finders first.
    """

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was imported under its own name."""


def install() -> None:
    """Let the old module names import (once per process)."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
