"""``SearchConfig``: every setting of a search, validated in one place (CLI and API alike)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl.backends import BACKENDS
from automl.data import TASKS
from automl.data.loading import OBJECTIVES
from automl.errors import ConfigError, DataError, unknown
from automl.metrics import METRICS
from automl.storage import PRUNERS, SAMPLERS, redact

DEFAULT_N_TRIALS = 30
DEFAULT_TIMEOUT = 240.0  # seconds; with no budget given a search ends within about 5 minutes


@dataclass
class SearchConfig:
    """A search's settings. With neither ``n_trials`` nor ``timeout`` the default budget
    applies (30 trials or 240 s, whichever comes first). ``n_trials`` is the study's total:
    resuming a study runs only the trials still missing.
    """

    task: str = "image"
    data: Any = None
    target: str | None = None
    text_column: str | None = None
    objective: str | None = None
    groups: str | None = None
    image_size: int | str | tuple[int, int] | None = None
    space: str | Path | None = None
    backend: str | list[str] = "keras"
    n_trials: int | None = None
    timeout: float | None = None
    n_splits: int = 5
    sampler: str = "tpe"
    pruner: str = "hyperband"
    metric: str | None = None
    storage: str | None = None
    study_name: str | None = None
    tracking_uri: str | None = None
    runs_dir: Path = field(default_factory=lambda: Path("runs"))
    seed: int = 0
    refit: bool = True
    workers: int | None = None
    gpus: str = "all"
    trials_per_gpu: int = 1

    def __post_init__(self) -> None:
        _choice("task", self.task, TASKS)
        self.backends: list[str] = (
            [b.strip() for b in self.backend.split(",")] if isinstance(self.backend, str) else list(self.backend)
        )
        if not self.backends:
            raise ConfigError("backend must name at least one of: " + ", ".join(BACKENDS))
        for name in self.backends:
            _choice("backend", name, BACKENDS)
        _choice("sampler", self.sampler, SAMPLERS)
        _choice("pruner", self.pruner, PRUNERS)
        if self.metric is not None:
            _choice("metric", self.metric, tuple(METRICS))
        if self.objective is not None:
            _choice("objective", self.objective, OBJECTIVES)
        if self.image_size is not None:
            from automl.data.images import parse_image_size

            try:
                parse_image_size(self.image_size)
            except DataError as exc:
                raise ConfigError(str(exc)) from None
        if not _is_int(self.n_splits) or self.n_splits < 2:
            raise ConfigError(f"n_splits must be an int >= 2, got {self.n_splits!r}")
        if self.n_trials is not None and (not _is_int(self.n_trials) or self.n_trials < 1):
            raise ConfigError(f"n_trials must be a positive int, got {self.n_trials!r}")
        if self.timeout is not None and (
            isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float) or not self.timeout > 0
        ):
            raise ConfigError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if not _is_int(self.seed):
            raise ConfigError(f"seed must be an int, got {self.seed!r}")
        if self.workers is not None and (not _is_int(self.workers) or self.workers < 1):
            raise ConfigError(f"workers must be a positive int, got {self.workers!r}")
        if not _is_int(self.trials_per_gpu) or self.trials_per_gpu < 1:
            raise ConfigError(f"trials_per_gpu must be a positive int, got {self.trials_per_gpu!r}")
        gpus = str(self.gpus).replace(" ", "")
        if gpus.lower() not in ("all", "none") and not all(i.isdigit() for i in gpus.split(",")):
            raise ConfigError(f"gpus must be 'all', 'none' or GPU indices such as 0,2; got {self.gpus!r}")
        if self.n_trials is None and self.timeout is None:
            self.n_trials, self.timeout = DEFAULT_N_TRIALS, DEFAULT_TIMEOUT
        self.runs_dir = Path(self.runs_dir)

    def data_options(self) -> dict[str, Any]:
        """The keyword arguments of ``load_dataset`` besides the task, the data and ``n_splits``."""
        return {
            "target": self.target,
            "text_column": self.text_column,
            "objective": self.objective,
            "groups": self.groups,
            "image_size": self.image_size,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe settings with passwords in URLs hidden (for logs and MLflow)."""
        data = asdict(self)
        data["data"] = (
            "built-in" if self.data is None else str(self.data) if isinstance(self.data, str | Path) else "arrays"
        )
        for key in ("storage", "tracking_uri"):
            if data[key]:
                data[key] = redact(data[key])
        data["space"] = str(self.space) if self.space is not None else None
        data["runs_dir"] = str(self.runs_dir)
        data["backend"] = ",".join(self.backends)
        return data


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(unknown(name, value, allowed))
