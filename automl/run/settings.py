"""Every setting of a search, defined once.

``SearchSettings`` is the one definition: each field carries its default, its help text and its
check. The ``automl search`` options (``automl.cli``), the signature and validation of
``automl.search()`` and the record a study stores for its workers (``StudyRecord``) are all
derived from these fields, so a setting is added, renamed or documented in one place.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl.backends import BACKENDS
from automl.backends.keras.engine import DEFAULT_ENGINE, KERAS_ENGINES
from automl.data import PROBLEM_TYPES, TASKS
from automl.errors import ConfigError, DataError, did_you_mean, unknown
from automl.stores import redact

DEFAULT_N_TRIALS = 30
DEFAULT_TIMEOUT = 240.0  # seconds; with no budget given a search ends within about 5 minutes
DEFAULT_ENSEMBLE_SIZE = 10
DEFAULT_REFIT_MODELS = 3  # README "The refit: several models, averaged"
FINAL_MODELS = ("refit", "folds")
SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc", "nsga2")
PRUNERS = ("racing", "hyperband", "sha", "median", "none")
RECORD_VERSION = 2  # of StudyRecord; version 1 is the untyped dict automl 0.1 stored


# ---------------------------------------------------------------------------------------- checks
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class OneOf:
    """One of a set of names (``values`` may be a callable, for sets that are costly to import)."""

    values: tuple[str, ...] | Callable[[], tuple[str, ...]]
    what: str | None = None

    def allowed(self) -> tuple[str, ...]:
        return self.values() if callable(self.values) else self.values

    def __call__(self, name: str, value: Any) -> None:
        if value is not None and value not in self.allowed():
            raise ConfigError(unknown(self.what or name, value, self.allowed()))


@dataclass(frozen=True)
class IntAtLeast:
    """An int >= ``low`` (None allowed when the setting may be unset)."""

    low: int

    def __call__(self, name: str, value: Any) -> None:
        if value is not None and (not _is_int(value) or value < self.low):
            kind = "a positive int" if self.low == 1 else f"an int >= {self.low}"
            raise ConfigError(f"{name} must be {kind}, got {value!r}")


def _any_int(name: str, value: Any) -> None:
    if not _is_int(value):
        raise ConfigError(f"{name} must be an int, got {value!r}")


def _true_or_false(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")


def _positive_seconds(name: str, value: Any) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if value is not None and not (number and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")


def _backends(name: str, value: Any) -> None:
    names = _backend_list(value)
    if not names:
        raise ConfigError(f"{name} must name at least one of: " + ", ".join(BACKENDS))
    for backend in names:
        OneOf(BACKENDS)(name, backend)


def _gpus(name: str, value: Any) -> None:
    gpus = str(value).replace(" ", "")
    if gpus.lower() not in ("all", "none") and not all(i.isdigit() for i in gpus.split(",")):
        raise ConfigError(f"{name} must be 'all', 'none' or GPU indices such as 0,2; got {value!r}")


def _image_size(name: str, value: Any) -> None:
    from automl.data.images import parse_image_size

    try:
        parse_image_size(value)
    except DataError as exc:
        raise ConfigError(str(exc)) from None


def _metrics(name: str, value: Any) -> None:
    """One metric, or a list of them (a multi-objective search): the first scores predictions, the
    others are metrics or model costs (``automl.trial.costs``); none twice."""
    if value is None:
        return
    from automl.trial.costs import COSTS
    from automl.trial.metrics import METRICS  # scikit-learn: imported only when a metric is named

    names = _metric_list(value)
    if not names:
        raise ConfigError(f"{name} must name at least one metric")
    if names[0] in COSTS:
        raise ConfigError(
            f"{name}: the first metric scores predictions and {names[0]} is a model cost; "
            f"name a metric first, e.g. accuracy,{names[0]} or rmse,{names[0]}"
        )
    OneOf(tuple(METRICS), "metric")(name, names[0])
    for other in names[1:]:
        OneOf((*METRICS, *COSTS), "metric or model cost")(name, other)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{name} names {', '.join(repeated)} twice; each metric can be optimized once")


def _constraints(name: str, value: Any) -> None:
    from automl.trial.costs import parse_constraint

    if isinstance(value, str):
        raise ConfigError(f"{name} must be a list of conditions such as ['n_params<=100000'], got the string {value!r}")
    for each in value:
        parse_constraint(each)


def _metric_list(value: Any) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()] if isinstance(value, str) else [str(m) for m in value]


def _backend_list(value: Any) -> list[str]:
    return [b.strip() for b in value.split(",") if b.strip()] if isinstance(value, str) else list(value)


# ---------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Option:
    """How a setting is shown and checked: help text, check, command-line flag and type."""

    help: str
    check: Callable[[str, Any], None] | None = None
    flag: str | None = None  # default: --name-with-dashes
    aliases: tuple[str, ...] = ()  # older flags that still work
    choices: tuple[str, ...] | None = None  # shown as a click.Choice
    cli_type: type = str
    off_flag: str | None = None  # a bool setting that is on by default: the flag that turns it off
    off_help: str | None = None  # the help of ``off_flag``
    metavar: str | None = None
    multiple: bool = False  # a repeatable flag (a tuple setting)

    def flags(self, name: str) -> tuple[str, ...]:
        return (self.off_flag or self.flag or "--" + name.replace("_", "-"), *self.aliases)


def setting(default: Any, help: str, check: Callable[[str, Any], None] | None = None, **option: Any) -> Any:
    """A ``SearchSettings`` field: its default and its ``Option`` (a flag, ``default`` a bool, must be a bool)."""
    if check is None and isinstance(default, bool):
        check = _true_or_false
    factory = {"default_factory": lambda: default} if isinstance(default, Path) else {"default": default}
    return field(metadata={"option": Option(help, check, **option)}, **factory)


@dataclass
class SearchSettings:
    """A search's settings, checked when made. With neither ``n_trials`` nor ``timeout`` the default
    budget applies (30 trials or 240 s, whichever comes first). ``n_trials`` is the study's total:
    resuming a study runs only the trials still missing.
    """

    task: str = setting("image", "What kind of data the models learn from.", OneOf(TASKS), choices=TASKS)
    data: Any = setting(
        None,
        "Your data: image: a folder with one sub-folder of images per class, or an .npz with arrays x and y; "
        "tabular: a CSV (with --target); text: a CSV (with --text-column, --target) or a folder of class "
        "sub-folders of .txt files. Built-in sets: builtin:digits (image, tabular), builtin:breast_cancer, "
        "builtin:diabetes (tabular regression), builtin:stdlib-docs (text). Default: the task's built-in set. "
        "API: also an (X, y) pair of arrays.",
    )
    target: str | None = setting(None, "CSV column to predict (tabular and text CSVs).")
    text_column: str | None = setting(None, "CSV column holding the texts (text task; default: text).")
    problem_type: str | None = setting(
        None,
        "classification or regression (default: inferred from the target column).",
        OneOf(PROBLEM_TYPES, "problem type"),
        aliases=("--objective",),
        choices=PROBLEM_TYPES,
    )
    groups: str | None = setting(None, "CSV column of groups: rows of one group stay in one fold (GroupKFold).")
    image_size: Any = setting(
        None, "Resize images to N or WIDTHxHEIGHT (default: the median size, at most 64).", _image_size
    )
    space: Any = setting(None, "Search space YAML file or shipped name (default: the task's).")
    backend: Any = setting(
        "keras", "keras, mxnet, or a comma list (keras,mxnet) to search over the framework too.", _backends
    )
    keras_backend: str = setting(
        DEFAULT_ENGINE,
        "The engine under Keras: tensorflow, or jax (pip install 'automl[jax]'), whatever KERAS_BACKEND "
        "or keras.json say.",
        OneOf(KERAS_ENGINES, "keras_backend"),
        choices=KERAS_ENGINES,
    )
    n_trials: int | None = setting(
        None, "Total trials of the study (default 30 with --timeout 240).", IntAtLeast(1), cli_type=int
    )
    timeout: float | None = setting(
        None,
        "Time budget in seconds of the whole job: trials, then the final model (and the ensemble), the report "
        "and the model's logging. Trials stop early enough to leave time for them (a running trial "
        "stops at its next epoch, once one trial has completed).",
        _positive_seconds,
        cli_type=float,
    )
    n_splits: int = setting(5, "Folds of cross-validation.", IntAtLeast(2), cli_type=int)
    sampler: str = setting(
        "tpe",
        "tpe, random, cmaes, gp, qmc or nsga2 (with several metrics: tpe (multi-objective TPE), random, gp, qmc "
        "or nsga2).",
        OneOf(SAMPLERS),
    )
    local_moves: bool = setting(
        True,
        "After each configuration the sampler proposes, try a neighbour of the best so far (one parameter "
        "changed; SMAC's local search).",
        off_flag="--no-local-moves",
        off_help="Only the sampler proposes configurations (no neighbours of the best so far).",
    )
    pruner: str = setting(
        "racing",
        "racing (over folds, with Hyperband in the first fold), hyperband, sha, median or none.",
        OneOf(PRUNERS),
    )
    metric: Any = setting(
        None,
        "Metric to optimize (default: accuracy / rmse), or a comma list for a multi-objective search: the "
        "first scores predictions, the others are metrics or model costs (n_params, model_bytes, latency_ms), "
        "e.g. accuracy,n_params. API: also a list.",
        _metrics,
    )
    constraints: tuple[str, ...] = setting(
        (),
        "A condition every kept model meets, e.g. n_params<=100000 or latency_ms<=5 (<=, <, >=, > on a metric "
        "or model cost); repeatable. A trial that breaks one ends pruned and is never exported.",
        _constraints,
        flag="--constraint",
        metavar="CONDITION",
        multiple=True,
    )
    positive_label: str | None = setting(
        None,
        "The positive class of a binary target, for precision, recall, f1 and average_precision (default: "
        "1, true, yes or positive when the labels hold one, else the second label in sorted order).",
    )
    storage: str | None = setting(None, "Optuna storage URL (default: sqlite:///RUNS_DIR/optuna.db).")
    study_name: str | None = setting(None, "Study name; the same name resumes the study.", flag="--study")
    tracking_uri: str | None = setting(None, "MLflow tracking URI (default: sqlite:///RUNS_DIR/mlflow.db).")
    runs_dir: Path = setting(
        Path("runs"), "Folder for the default Optuna and MLflow stores and artifacts.", cli_type=Path
    )
    seed: int = setting(0, "Seed of sampler, folds and weights.", _any_int, cli_type=int)
    refit: bool = setting(
        True,
        "Hand over the best trial's model at the end (its fold models or a refit: --final-model).",
        off_flag="--no-refit",
        off_help="Hand over no model: no refit, and no fold models kept (the study and its runs only).",
    )
    warm_start_from: str | None = setting(
        None,
        "An earlier study whose best configurations (adapted to this space) a new study tries first.",
        metavar="STUDY",
    )
    warm_start_storage: str | None = setting(
        None, "Optuna storage URL of --warm-start-from, when it is not this search's storage."
    )
    warm_start_top: int = setting(
        5, "How many of the earlier study's best configurations to try.", IntAtLeast(1), cli_type=int
    )
    portfolio: bool = setting(
        True,
        "Try the task's shipped portfolio of configurations first in a new study (with the task's own space).",
        off_flag="--no-portfolio",
        off_help="Do not try the shipped portfolio of configurations first (the space's defaults only).",
    )
    register: bool = setting(
        True,
        "Register the final model in the MLflow Model Registry as the challenger of the study's model.",
        off_flag="--no-register",
        off_help="Do not register the final model in the MLflow Model Registry.",
    )
    register_as: str | None = setting(
        None, "Name of the registered model (default: the study's name).", flag="--register", metavar="NAME"
    )
    ensemble_size: int = setting(
        DEFAULT_ENSEMBLE_SIZE,
        "Picks of the greedy ensemble selection over the best trials' out-of-fold predictions "
        "(0 or 1: no ensemble, the best trial alone).",
        IntAtLeast(0),
        cli_type=int,
    )
    final_model: str = setting(
        "folds",
        "The model a search hands over for its best trial (and each ensemble member): folds (its "
        "cross-validation's fold models, averaged: what its CV score measured; no training after the search, "
        "k models to store and run) or refit (its configuration trained again on all the rows, "
        "--refit-models models averaged).",
        OneOf(FINAL_MODELS),
        choices=FINAL_MODELS,
    )
    refit_models: int = setting(
        DEFAULT_REFIT_MODELS,
        "With --final-model refit: models a refit trains, averaged (each from other initial weights; image and "
        "tabular models stop on other held-out rows): more vary less, and cost more time at the end of the search "
        "and per prediction. A search of several metrics or with constraints refits one model (its costs are one "
        "model's).",
        IntAtLeast(1),
        cli_type=int,
    )
    workers: int | None = setting(
        None,
        "Worker processes on a CPU-only machine (default: one per 4 cores); with GPUs, spread over them. "
        "0: this process runs no trials, it waits while `automl worker` processes (here or on other hosts) "
        "spend the budget, then finishes the search.",
        IntAtLeast(0),
        cli_type=int,
    )
    gpus: str = setting("all", "GPUs to run trials on: all (every visible GPU), none, or indices such as 0,2.", _gpus)
    trials_per_gpu: int = setting(1, "Trials that share one GPU at once.", IntAtLeast(1), cli_type=int)

    def __post_init__(self) -> None:
        for each in dataclasses.fields(self):
            check = each.metadata["option"].check
            if check is not None:
                check(each.name, getattr(self, each.name))
        self.backend = ",".join(_backend_list(self.backend))
        if self.metric is not None:
            self.metric = ",".join(_metric_list(self.metric))
        self.constraints = tuple(str(c).replace(" ", "") for c in self.constraints)
        if self.n_trials is None and self.timeout is None:
            self.n_trials, self.timeout = DEFAULT_N_TRIALS, DEFAULT_TIMEOUT
        self.runs_dir = Path(self.runs_dir)

    @property
    def backends(self) -> list[str]:
        """The backends searched, in order."""
        return self.backend.split(",")

    @property
    def builds_ensemble(self) -> bool:
        """Whether the search ends with an ensemble: asked for, one metric and no constraints (an
        ensemble's members add up their parameters and latencies)."""
        return self.ensemble_size > 1 and self.hands_over_scores_alone

    @property
    def bags_fold_models(self) -> bool:
        """Whether the best trials keep their fold models to be shipped averaged (``final_model``
        folds, a final model asked for, one metric and no constraints: a search that weighs model
        costs, such as ``n_params`` or ``latency_ms``, hands over one refit model, whose costs are
        the ones it weighed)."""
        return self.final_model == "folds" and self.refit and self.hands_over_scores_alone

    @property
    def models_per_refit(self) -> int:
        """Models each refit trains: ``refit_models``, or 1 in a search of several metrics or with
        constraints (the costs those weigh, such as ``n_params``, are one model's)."""
        return self.refit_models if self.hands_over_scores_alone else 1

    @property
    def hands_over_scores_alone(self) -> bool:
        """One metric and no constraints: no model cost (``n_params``, ``latency_ms``) is weighed, so
        the final model may be several models."""
        return len(self.metrics) <= 1 and not self.constraints

    @property
    def metrics(self) -> list[str]:
        """The metrics optimized, in order (none named: the problem type's default, chosen later)."""
        return self.metric.split(",") if self.metric else []

    @classmethod
    def from_arguments(cls, **arguments: Any) -> SearchSettings:
        """Settings from keyword arguments, with one clear line for a name that is no setting."""
        names = [f.name for f in dataclasses.fields(cls)]
        if "objective" in arguments:  # the name of problem_type before 0.2
            arguments["problem_type"] = arguments.pop("objective")
        for name in arguments:
            if name not in names:
                raise ConfigError(f"unknown setting {name!r}; settings: {', '.join(names)}.{did_you_mean(name, names)}")
        return cls(**arguments)

    def data_options(self) -> dict[str, Any]:
        """The keyword arguments of ``load_dataset`` besides the task, the data and ``n_splits``."""
        return {
            "target": self.target,
            "text_column": self.text_column,
            "problem_type": self.problem_type,
            "groups": self.groups,
            "image_size": self.image_size,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe settings with passwords in URLs hidden (for logs and MLflow)."""
        data = asdict(self)
        data["data"] = _describe_data(self.data)
        for key in ("storage", "tracking_uri"):
            if data[key]:
                data[key] = redact(data[key])
        data["space"] = str(self.space) if self.space is not None else None
        data["runs_dir"] = str(self.runs_dir)
        return data

    def stored(self) -> dict[str, Any]:
        """What a study records of these settings for its workers (``to_dict``, with data paths absolute)."""
        data = self.to_dict()
        if isinstance(self.data, str | Path) and Path(self.data).exists():
            data["data"] = str(Path(self.data).resolve())  # workers may start elsewhere; the path must exist there
        return data

    @classmethod
    def from_stored(cls, stored: dict[str, Any], **overrides: Any) -> SearchSettings:
        """The settings a study recorded (``stored``), with ``overrides`` (a worker's own URLs)."""
        values = dict(stored)
        if "objective" in values:  # recorded by automl 0.1
            values["problem_type"] = values.pop("objective")
        if values.get("data") == "arrays":
            raise ConfigError("a search over in-memory arrays cannot run in worker processes; save them to a file")
        if values.get("data") == "built-in":
            values["data"] = None
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in {**values, **overrides}.items() if k in names})


def _describe_data(data: Any) -> str:
    return "built-in" if data is None else str(data) if isinstance(data, str | Path) else "arrays"


SearchConfig = SearchSettings  # its name before 0.2


def options() -> Iterator[tuple[str, Any, Option]]:
    """``(name, default, option)`` of every setting, in order (for the command line and the API docs)."""
    for each in dataclasses.fields(SearchSettings):
        default = each.default_factory() if each.default is dataclasses.MISSING else each.default
        yield each.name, default, each.metadata["option"]


def signature(*leading: str, extra: tuple[inspect.Parameter, ...] = ()) -> inspect.Signature:
    """A signature taking the settings named in ``leading`` by position, the others by keyword, then ``extra``."""
    kinds = {name: inspect.Parameter.POSITIONAL_OR_KEYWORD for name in leading}
    parameters = [
        inspect.Parameter(name, kinds.get(name, inspect.Parameter.KEYWORD_ONLY), default=default)
        for name, default, _ in sorted(options(), key=lambda item: item[0] not in leading)
    ]
    return inspect.Signature([*parameters, *extra])


# ---------------------------------------------------------------------------------------- the study's record
@dataclass
class StudyRecord:
    """What a search stores in its study (user attribute ``automl.settings``) for ``automl worker``s:
    the settings, the space's text, the deadline and the parent MLflow run. Versioned, so a study
    made by an older automl still resumes."""

    settings: dict[str, Any]  # SearchSettings.stored()
    space_yaml: str
    deadline: float | None  # time.time() at which trials stop (the search moves it as its refit estimate changes)
    parent_run_id: str | None
    tracking_uri: str | None  # None when it holds a password: passwords are never stored
    heartbeat_s: int
    version: int = RECORD_VERSION

    @classmethod
    def of(
        cls,
        settings: SearchSettings,
        *,
        space_yaml: str,
        tracking_uri: str,
        parent_run_id: str | None,
        heartbeat_s: int,
        deadline: float | None,
    ) -> StudyRecord:
        """The record of a search whose trials stop at ``deadline`` (``time.time()``; None: no time budget)."""
        safe_uri = redact(tracking_uri)
        return cls(
            settings=settings.stored(),
            space_yaml=space_yaml,
            deadline=deadline,
            parent_run_id=parent_run_id,
            tracking_uri=tracking_uri if safe_uri == tracking_uri else None,
            heartbeat_s=heartbeat_s,
        )

    @property
    def n_trials(self) -> int | None:
        return self.settings.get("n_trials")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudyRecord:
        """Read a stored record, of this version or of automl 0.1's untyped dict (version 1)."""
        if "version" not in data:  # automl 0.1: {"config": ..., "n_trials": ..., ...}
            settings = {**data["config"], "n_trials": data.get("n_trials", data["config"].get("n_trials"))}
            data = {**{k: v for k, v in data.items() if k not in ("config", "n_trials")}, "settings": settings}
        elif data["version"] > RECORD_VERSION:
            raise ConfigError(
                f"this study was set up by a newer automl (settings version {data['version']}, this one reads "
                f"up to {RECORD_VERSION}); upgrade automl on this machine"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names and k != "version"})
