"""One writer for a local MLflow store: workers send their trial logging to the parent, which writes it.

MLflow's SQLite store raises "database is locked" when several processes write it at once.
The parent of a local multi-worker search serves its ``Tracker`` on a 127.0.0.1 socket
(``multiprocessing.connection``, authenticated with a random key); each worker's
``RemoteTracker`` forwards the trial calls to it, and the parent writes them one at a time.
"""

from __future__ import annotations

import os
import secrets
import threading
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from automl.names import Tag, host_pid
from automl.tracking.tracker import Tracker
from automl.trial.outcome import LOST_PREFIX, TrialLost

ADDRESS_ENV = "AUTOML_TRACKING_RELAY"
KEY_ENV = "AUTOML_TRACKING_RELAY_KEY"
RELAYED = frozenset({"start_trial", "log_fold", "log_out_of_fold", "log_fold_models", "end_trial", "fail_run"})


class TrackerRelay:
    """Serves ``tracker``'s trial methods to worker processes until ``close()``."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self._key = secrets.token_bytes(32)
        self._listener = Listener(("127.0.0.1", 0), authkey=self._key)
        self._write_lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="tracker-relay", daemon=True).start()

    def environment(self) -> dict[str, str]:
        """Variables that point a worker's ``RemoteTracker`` here."""
        host, port = self._listener.address
        return {ADDRESS_ENV: f"{host}:{port}", KEY_ENV: self._key.hex()}

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection = self._listener.accept()
            except Exception:  # closed, or a client that failed authentication
                continue
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: Connection) -> None:
        with connection:
            while True:
                try:
                    method, args, kwargs = connection.recv()
                except (EOFError, OSError):  # the worker exited (or died)
                    return
                try:
                    if method not in RELAYED:
                        raise ValueError(f"{method!r} is not a relayed Tracker method")
                    with self._write_lock:
                        reply = ("ok", getattr(self.tracker, method)(*args, **kwargs))
                except Exception as exc:  # the worker raises it; the relay goes on serving
                    reply = ("error", f"{type(exc).__name__}: {exc}")
                connection.send(reply)


class RemoteTracker:
    """The trial half of ``Tracker`` (the ``TrialTracker`` protocol), over a relay."""

    def __init__(self, address: str, key: str, *, tracking_uri: str, trial_tags: dict[str, str] | None = None) -> None:
        host, _, port = address.rpartition(":")
        self._connection = Client((host, int(port)), authkey=bytes.fromhex(key))
        self._lock = threading.Lock()
        self.tracking_uri = tracking_uri
        self.trial_tags = {Tag.HOST_PID: host_pid(), **(trial_tags or {})}

    @classmethod
    def from_environment(cls, *, tracking_uri: str, trial_tags: dict[str, str]) -> RemoteTracker | None:
        """The relay named by the environment (set by the parent search), or None."""
        if ADDRESS_ENV not in os.environ:
            return None
        return cls(os.environ[ADDRESS_ENV], os.environ[KEY_ENV], tracking_uri=tracking_uri, trial_tags=trial_tags)

    def start_trial(self, number: int, params: dict[str, Any], tags: dict[str, str]) -> str:
        try:
            return self._call("start_trial", number, params, {**self.trial_tags, **tags})
        except (EOFError, OSError) as exc:  # a trial that cannot log from its start says nothing
            raise TrialLost(f"{LOST_PREFIX}: the search process this worker logs through is gone") from exc

    def log_fold(self, run_id: str, fold: Any) -> None:
        self._call("log_fold", run_id, fold)

    def end_trial(self, run_id: str, state: str, metrics: dict[str, float], tags: dict[str, Any]) -> None:
        self._call("end_trial", run_id, state, metrics, tags)

    def log_out_of_fold(self, run_id: str, predictions: Any) -> None:
        self._call("log_out_of_fold", run_id, predictions)

    def log_fold_models(self, run_id: str, directory: str) -> None:
        self._call("log_fold_models", run_id, directory)  # a local relay: the parent reads the same folder

    def fail_run(self, run_id: str, reason: str) -> None:
        self._call("fail_run", run_id, reason)

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            self._connection.send((method, args, {}))
            status, value = self._connection.recv()
        if status == "error":
            raise RuntimeError(f"MLflow logging through the parent search failed: {value}")
        return value
