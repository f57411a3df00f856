"""``automl ui`` serves the MLflow UI on the default store, ``automl dashboard`` optuna-dashboard on the
studies, both bound to 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ui_serves_the_default_store_on_localhost(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "automl.cli", "ui", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    status = response.status
            except OSError:
                assert server.poll() is None, "the UI process exited early"
                time.sleep(1)
        assert status == 200
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=10", timeout=5
        ) as response:
            assert b"experiments" in response.read()  # the API answers from runs/mlflow.db
        assert (tmp_path / "runs" / "mlflow.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_store_uri_stays_off_the_command_line_and_is_printed_without_its_password(tmp_path: Path) -> None:
    port = _free_port()
    store = f"sqlite:///{tmp_path}/mlflow.db?password=hunter2"  # a secret in the query string
    server = subprocess.Popen(
        [sys.executable, "-m", "automl.cli", "ui", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "AUTOML_TRACKING_URI": store},  # the secret never on a command line
    )
    try:
        deadline, command_line = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "-m mlflow" not in command_line:
            command_line = Path(f"/proc/{server.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            time.sleep(0.2)  # the command execs into the MLflow UI: same process, new command line
        assert (
            "-m mlflow" in command_line and "hunter2" not in command_line and "--backend-store-uri" not in command_line
        )
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "password=***" in output and "hunter2" not in output


def test_dashboard_serves_the_studies_on_localhost(tmp_path: Path) -> None:
    import optuna

    (tmp_path / "runs").mkdir()
    optuna.create_study(study_name="shown", storage=f"sqlite:///{tmp_path}/runs/optuna.db")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "automl.cli", "dashboard", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, body = time.monotonic() + 60, b""
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as response:
                    body = response.read()
            except OSError:
                assert server.poll() is None, server.communicate()[0][-2000:]
                time.sleep(0.5)
        assert b'"shown"' in body
    finally:
        server.terminate()
        server.wait(timeout=30)
