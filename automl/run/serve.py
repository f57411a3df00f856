"""Serving a model over HTTP with MLflow's scoring server (``/ping``, ``/invocations``), on 127.0.0.1.

The model is a logged or registered MLflow model (``models:/NAME@champion``, ``models:/m-…``,
``runs:/…``) or a folder ``automl export`` wrote. It brings its preprocessing: raw CSV rows for
tables (``{"dataframe_split": …}``), texts for text models (a ``text`` column), flattened pixel
rows for images (``{"inputs": …}``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from automl.errors import ConfigError
from automl.logs import FRAMEWORK_ENV
from automl.names import EXPORT_MLFLOW_DIR
from automl.stores import default_tracking_uri

DEFAULT_PORT = 5001  # automl ui takes 5000
MLMODEL = "MLmodel"
URI_SCHEMES = ("models:/", "runs:/", "file:", "s3:", "gs:", "http:", "https:")


def resolve_model(model: str) -> str:
    """What MLflow's server loads: a model URI as given, or the MLflow model inside a folder."""
    path = Path(model)
    if not path.exists():
        if model.startswith(URI_SCHEMES) or "://" in model:
            return model
        if model.startswith("m-"):  # a logged model's id
            return f"models:/{model}"
        raise ConfigError(f"{model}: neither a model folder nor a model URI (models:/NAME@champion, runs:/…)")
    for candidate in (path, path / EXPORT_MLFLOW_DIR):
        if (candidate / MLMODEL).is_file():
            return str(candidate.resolve())
    raise ConfigError(
        f"{path}: no MLflow model here (no {MLMODEL}, nor {EXPORT_MLFLOW_DIR}/{MLMODEL}): use automl export"
    )


def server_command(model_uri: str, host: str, port: int) -> list[str]:
    """``mlflow models serve`` in this environment (the model's requirements are this environment's)."""
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"] + [
        "-h",
        host,
        "-p",
        str(port),
    ]


def server_environment(tracking_uri: str | None, runs_dir: Path) -> dict[str, str]:
    """The scoring server's environment: the tracking URI in a variable, never on its command line;
    the frameworks' output turned down as in automl's own processes (unless set otherwise)."""
    return {**FRAMEWORK_ENV, **os.environ, "MLFLOW_TRACKING_URI": tracking_uri or default_tracking_uri(runs_dir)}


@dataclass
class ModelServer:
    """A scoring server started by ``serve``: ``url``, ``wait()`` until it answers, ``stop()``."""

    process: subprocess.Popen[bytes]
    url: str

    def wait(self, timeout: float = 180.0) -> ModelServer:
        """Return once ``/ping`` answers; a clear error if the server exits or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                if self.process.poll() is not None:
                    raise ConfigError(f"the scoring server exited (code {self.process.returncode})") from None
                time.sleep(0.5)
        self.stop()
        raise ConfigError(f"the scoring server did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def serve(
    model: str,
    *,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    tracking_uri: str | None = None,
    runs_dir: str | Path = "runs",
) -> ModelServer:
    """Start MLflow's scoring server for ``model`` in the background; ``.wait()`` for it to answer."""
    uri = resolve_model(model)
    process = subprocess.Popen(
        server_command(uri, host, port),
        env=server_environment(tracking_uri, Path(runs_dir)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return ModelServer(process, f"http://{host}:{port}")
