"""The ``automl`` command. Commands are thin: validate, call the library, turn errors into one line.

The search options are derived from the settings (``automl.run.settings``). Heavy imports
(TensorFlow, MLflow, Optuna) happen inside the commands, so ``--help`` is instant.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from automl.errors import AutoMLError
from automl.logs import console_logging, new_console
from automl.run.settings import options

EXIT_USAGE = 2


def _friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print an ``AutoMLError`` as one line and exit 2 (a traceback only with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AutoMLError as exc:
            if _debug():
                raise
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.version_option(package_name="automl")
def cli(debug: bool) -> None:
    """Hyperparameter search for Keras and MXNet models: YAML spaces, Optuna, k-fold CV, MLflow.

    \b
    Example:
      automl search --task image            # built-in digits, default budget (~5 min)
      automl ui                             # browse the results in MLflow
    """


def _debug() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("debug"))


@contextlib.contextmanager
def _console_logging() -> Iterator[None]:
    """automl's log lines on the console (with --debug: also the debug lines, framework ones included)."""
    with console_logging(new_console(), logging.DEBUG if _debug() else logging.INFO):
        yield


def _setting_option(name: str, **changes: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click option of search setting ``name`` for another command (``changes``: its help, say)."""
    default, option = next((d, o) for n, d, o in options() if n == name)
    kind: Any = click.Path(path_type=Path) if option.cli_type is Path else option.cli_type
    settings = {"type": kind, "default": default, "show_default": default is not None, "help": option.help}
    return click.option(*option.flags(name), name, **{**settings, **changes})


_runs_option = _setting_option("runs_dir")


def _setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One click option per search setting, derived from ``SearchSettings`` (automl.run.settings)."""
    for name, default, option in reversed(list(options())):
        flags = option.flags(name)
        if option.off_flag:
            decorator = click.option(flags[0], name, flag_value=not default, default=default, help=option.off_help)
        else:
            kind: Any = click.Choice(option.choices) if option.choices else option.cli_type
            if option.cli_type is Path:
                kind = click.Path(path_type=Path)
            decorator = click.option(
                *flags,
                name,
                type=kind,
                default=default,
                show_default=default is not None,
                help=option.help.removesuffix(" API: also an (X, y) pair of arrays.").removesuffix(
                    " API: also a list."
                ),
                metavar=option.metavar,
                multiple=option.multiple,
            )
        command = decorator(command)
    return command


@cli.command()
@_setting_options
@_friendly_errors
def search(**settings: Any) -> None:
    """Run a hyperparameter search with k-fold cross-validation.

    \b
    Examples:
      automl search --task image
      automl search --task image --n-trials 3 --n-splits 3
      automl search --task image --data my_images.npz --timeout 3600 --study my-study
      automl search --task image --data photos/ --image-size 32
      automl search --task tabular --data houses.csv --target price --groups district
      automl search --task tabular --data builtin:diabetes
      automl search --task image --workers 2 --n-trials 6
    """
    from automl.run.search import run_search
    from automl.run.settings import SearchSettings

    try:
        result = run_search(SearchSettings(**settings), log_level=logging.DEBUG if _debug() else logging.INFO)
    except KeyboardInterrupt:  # run_search has already saved the study and said how to resume
        sys.exit(130)
    if not result.leaderboard.empty and (result.leaderboard["state"] == "COMPLETE").any():
        click.echo(f"best {result.metric}: {result.best_score:.4f} ± {result.best_score_std:.4f}")


@cli.command()
@click.option("--study", "study_name", required=True, help="Name of a study that 'automl search' set up.")
@click.option(
    "--storage",
    envvar="AUTOML_STORAGE",
    required=True,
    help="Optuna storage URL of the study, e.g. postgresql://user:pass@host/db (or env AUTOML_STORAGE).",
)
@click.option(
    "--tracking-uri",
    envvar="AUTOML_TRACKING_URI",
    default=None,
    help="MLflow tracking URI (or env AUTOML_TRACKING_URI; default: the one the search recorded).",
)
@click.option("--worker-id", default=None, help="Name of this worker in MLflow tags (default: HOST:PID).")
@_friendly_errors
def worker(study_name: str, storage: str, tracking_uri: str | None, worker_id: str | None) -> None:
    """Join a study and run its trials until its budget is reached (one process per GPU or CPU slot).

    Set CUDA_VISIBLE_DEVICES to pick this worker's GPU.

    \b
    Example:
      automl search --task image --study big --storage postgresql://u:p@db/automl \\
          --tracking-uri http://mlflow:5000 --n-trials 200 --workers 1
      automl worker --study big --storage postgresql://u:p@db/automl --tracking-uri http://mlflow:5000
    """
    from automl.run.worker import run_worker
    from automl.trial.interrupts import stop_on_signals

    try:
        with _console_logging(), stop_on_signals():
            run_worker(study_name, storage, tracking_uri=tracking_uri, worker_id=worker_id)
    except KeyboardInterrupt:
        sys.exit(130)


@cli.command()
@click.argument("study", required=False)
@_setting_option("storage")
@click.option("--top", type=int, default=10, show_default=True, help="Rows of the leaderboard to show.")
@_runs_option
@_friendly_errors
def show(study: str | None, storage: str | None, top: int, runs_dir: Path) -> None:
    """Show a study's leaderboard and best configuration (without STUDY: list the studies).

    \b
    Examples:
      automl show
      automl show image-digits-keras --top 20
    """
    import json

    import optuna
    from rich.console import Console

    from automl.errors import ConfigError, unknown
    from automl.names import TrialAttr
    from automl.run.study import open_storage
    from automl.stores import default_storage, redact
    from automl.tracking.leaderboard import leaderboard, leaderboard_table
    from automl.trial.goals import best_trial, is_multi_objective, objective_names, pareto_front, trial_values

    url = storage or default_storage(runs_dir)
    if storage is None and not (runs_dir / "optuna.db").exists():
        raise ConfigError(f"no study store at {runs_dir / 'optuna.db'}; run 'automl search' first or pass --storage")
    summaries = optuna.get_all_study_summaries(open_storage(url), include_best_trial=False)
    names = [s.study_name for s in summaries]
    if study is None:
        for summary in summaries:
            click.echo(f"{summary.study_name:<40} {summary.n_trials:>5} trials")
        return
    if study not in names:
        raise ConfigError(f"{unknown('study', study, names)} (in {redact(url)})")
    loaded = optuna.load_study(study_name=study, storage=open_storage(url))
    board = leaderboard(loaded)
    console = Console(width=None if sys.stdout.isatty() else 160)
    names = objective_names(loaded)
    console.print(leaderboard_table(board, names[0], top=top))
    if is_multi_objective(loaded):
        front = pareto_front(loaded)
        console.print(f"Pareto front ({len(front)} trial(s); automl export {study} --trial N exports one):")
        for trial in front:
            values = trial_values(trial, names)
            console.print(f"  trial {trial.number}: " + ", ".join(f"{n} {values[n]:.6g}" for n in names))
    best = best_trial(loaded)
    if best is not None:
        std = best.user_attrs.get(TrialAttr.SCORE_STD, float("nan"))
        console.print(f"best trial {best.number}: {names[0]} {best.values[0]:.4f} ± {std:.4f}")
        console.print_json(json.dumps(best.user_attrs.get(TrialAttr.CONFIG, best.params)))


@cli.command()
@click.argument("study")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the model into.")
@click.option(
    "--pick",
    metavar="CONDITIONS",
    help="Refit and export the best completed trial meeting these conditions on its metrics and costs, "
    'e.g. "accuracy>=0.98 and latency_ms<2" (the best on the first metric when several match).',
)
@click.option("--trial", "trial_number", type=int, help="Refit and export completed trial N.")
@_setting_option("storage", help="Optuna storage of the study, for --pick and --trial.")
@_setting_option("tracking_uri", help="MLflow store of the search (default: sqlite:///RUNS_DIR/mlflow.db).")
@_runs_option
@_friendly_errors
def export(
    study: str,
    out: Path,
    pick: str | None,
    trial_number: int | None,
    storage: str | None,
    tracking_uri: str | None,
    runs_dir: Path,
) -> None:
    """Export the latest final model of STUDY (or, with --pick or --trial, a trial of its
    front refit on the study's data): native format plus an MLflow model, and costs.json (its
    parameters, size and latency, measured here).

    \b
    Examples:
      automl export image-digits-keras --out best_model
      automl export image-digits-keras --out small_model --pick "accuracy>=0.97 and n_params<20000"
      automl predict --model best_model --data new_images.npz
    """
    from automl.refit.export import export_best_model
    from automl.stores import default_tracking_uri

    if pick is not None and trial_number is not None:
        raise click.UsageError("give --pick or --trial, not both")
    if pick is not None or trial_number is not None:
        written = _export_choice(study, out, pick, trial_number, storage, runs_dir)
    else:
        written = export_best_model(study, out, tracking_uri or default_tracking_uri(runs_dir))
    click.echo(f"exported {written.model_uri} ({written.backend}) to {out}: {written.layout()}")
    costs = written.costs
    click.echo(
        f"measured here: {costs['n_params']:,.0f} parameters, {costs['model_bytes']:,.0f} bytes, "
        f"{costs['latency_ms']:.2f} ms per example (median of batch-of-one predictions)"
    )


def _export_choice(
    study: str, out: Path, pick: str | None, trial_number: int | None, storage: str | None, runs_dir: Path
) -> Any:
    import optuna

    from automl.errors import ConfigError, unknown
    from automl.run.pick import choose_trial, export_choice, study_dataset
    from automl.run.study import open_storage
    from automl.stores import default_storage

    url = storage or default_storage(runs_dir)
    opened = open_storage(url)
    names = [s.study_name for s in optuna.get_all_study_summaries(opened, include_best_trial=False)]
    if study not in names:
        raise ConfigError(unknown("study", study, names))
    loaded = optuna.load_study(study_name=study, storage=opened)
    chosen = choose_trial(loaded, pick=pick, trial=trial_number)  # a bad choice fails before the data loads
    dataset, settings = study_dataset(loaded)
    return export_choice(loaded, dataset, settings.seed, out, trial=chosen.number, models=settings.models_per_refit)


@cli.command()
@click.option(
    "--model", "model_dir", type=click.Path(path_type=Path), required=True, help="A folder written by 'automl export'."
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    required=True,
    help="Inputs: a folder of images, a CSV of raw rows (tabular and text models), an .npz with array x, "
    "an .npy array, or a CSV of flattened features.",
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="CSV file to write (default: stdout).")
@click.option(
    "--trust-pickle",
    is_flag=True,
    help="Load a model folder saved by automl 0.1, whose preprocessor is a pickle (loading it runs its code).",
)
@_friendly_errors
def predict(model_dir: Path, data: Path, out: Path | None, trust_pickle: bool) -> None:
    """Predict with an exported model; write one prediction per row as CSV.

    \b
    Example:
      automl predict --model best_model --data new_images.npz --out predictions.csv
    """
    from automl.refit.export import predict_file

    frame = predict_file(model_dir, data, trust_pickle=trust_pickle)
    if out is None:
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        frame.to_csv(out, index=False)
        click.echo(f"{len(frame)} predictions written to {out}", err=True)


@cli.command()
@click.argument("name")
@_setting_option("tracking_uri", envvar="AUTOML_TRACKING_URI")
@_runs_option
@_setting_option("task", help="Task of --data (image, text, tabular).")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Data of yours to score both models on.")
@_setting_option("target")
@_friendly_errors
def promote(
    name: str, tracking_uri: str | None, runs_dir: Path, task: str, data: Path | None, target: str | None
) -> None:
    """Make the challenger of registered model NAME its champion, after comparing the two.

    A search registers its model as the challenger (alias ``challenger``); the champion
    (``models:/NAME@champion``) is the one ``automl serve`` and your deployments load.

    \b
    Examples:
      automl promote image-digits-keras
      automl promote houses --task tabular --data holdout.csv --target price
    """
    import automl

    promotion = automl.promote(name, tracking_uri=tracking_uri, runs_dir=runs_dir, data=data, task=task, target=target)
    for line in promotion.lines():
        click.echo(line)


@cli.command()
@click.argument("model")
@click.option("--port", type=int, default=5001, show_default=True, help="Port (automl ui takes 5000).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@_setting_option("tracking_uri", envvar="AUTOML_TRACKING_URI")
@_runs_option
@_friendly_errors
def serve(model: str, port: int, host: str, tracking_uri: str | None, runs_dir: Path) -> None:
    """Serve MODEL over HTTP with MLflow's scoring server (/ping, /invocations).

    MODEL is a registered or logged model (models:/NAME@champion, models:/m-..., runs:/...)
    or a folder automl export wrote. POST raw CSV rows for tables ({"dataframe_split": ...}),
    texts for text models (a "text" column), flattened pixel rows for images ({"inputs": ...}).

    \b
    Examples:
      automl serve models:/image-digits-keras@champion
      automl serve best_model --port 8000
    """
    from automl.run.serve import resolve_model, server_command, server_environment

    uri = resolve_model(model)
    click.echo(f"serving {uri} on http://{host}:{port}/invocations (Ctrl-C stops it)")
    os.execvpe(sys.executable, server_command(uri, host, port), server_environment(tracking_uri, runs_dir))


@cli.command()
@_setting_option("storage", envvar="AUTOML_STORAGE")
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@_runs_option
@_friendly_errors
def dashboard(storage: str | None, port: int, host: str, runs_dir: Path) -> None:
    """Open optuna-dashboard on the studies' storage (pip install 'automl[dashboard]').

    \b
    Example:
      automl dashboard --port 8081
    """
    import importlib.util

    from automl.errors import ConfigError
    from automl.stores import default_storage, redact

    if importlib.util.find_spec("optuna_dashboard") is None:
        raise ConfigError("automl dashboard needs optuna-dashboard: pip install 'automl[dashboard]'")
    url = storage or default_storage(runs_dir)
    click.echo(f"Optuna dashboard on http://{host}:{port} for {redact(url)} (Ctrl-C stops it)")
    os.environ["AUTOML_DASHBOARD_STORAGE"] = url  # the storage URL stays off the command line
    code = (
        "import os, optuna_dashboard; "
        "optuna_dashboard.run_server(os.environ['AUTOML_DASHBOARD_STORAGE'], host=os.environ['AUTOML_DASHBOARD_HOST'], "
        "port=int(os.environ['AUTOML_DASHBOARD_PORT']))"
    )
    os.environ.update(AUTOML_DASHBOARD_HOST=host, AUTOML_DASHBOARD_PORT=str(port))
    os.execvp(sys.executable, [sys.executable, "-c", code])


@cli.group(invoke_without_command=True)
@click.pass_context
def spaces(ctx: click.Context) -> None:
    """List the shipped search spaces (or validate a file: automl spaces validate FILE)."""
    if ctx.invoked_subcommand is None:
        from automl.space import load_space, shipped_spaces

        for name, path in shipped_spaces().items():
            space = load_space(path)
            click.echo(f"{name:<10} {space.n_params():>3} params  {space.description}  ({path})")


@spaces.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@_friendly_errors
def spaces_validate(file: Path) -> None:
    """Check a search space file; print what is wrong, where, and what is allowed.

    \b
    Example:
      automl spaces validate my_space.yaml
    """
    from automl.space import load_space

    space = load_space(file)
    click.echo(f"{file}: valid ({space.n_params()} searched parameters)")


@spaces.command("check")
@click.argument("space")
@_setting_option("task", help="Task of the data the draws train on (default: the space's own task, else image).")
@_setting_option("data")
@_setting_option("target")
@click.option("--draws", type=int, default=20, show_default=True, help="Random configurations to train.")
@click.option("--backend", default="keras", show_default=True, help="keras or mxnet.")
@_setting_option("keras_backend")
@click.option("--rows", type=int, default=None, help="Train on a stratified sample of this many rows.")
@_setting_option("seed")
@_friendly_errors
def spaces_check(
    space: str,
    task: str,
    data: str | None,
    target: str | None,
    draws: int,
    backend: str,
    keras_backend: str,
    rows: int | None,
    seed: int,
) -> None:
    """Train random draws of SPACE on one fold and count those that end at chance.

    A draw ends at chance below chance + (default - chance) / 2, where chance is a constant
    prediction's score (majority class, R² 0) and default the space's default configuration's.
    Exits 1 when more than 10% of the draws do.

    \b
    Example:
      automl spaces check my_space.yaml --task tabular --data houses.csv --target price
    """
    from automl.run.health import MAX_AT_CHANCE, check_space_health
    from automl.run.settings import SearchSettings
    from automl.space import load_space

    if click.get_current_context().get_parameter_source("task").name == "DEFAULT":
        task = load_space(space).task or task
    settings = SearchSettings(task=task, data=data, target=target, space=space, seed=seed, keras_backend=keras_backend)
    with _console_logging():
        report = check_space_health(settings, draws=draws, backend=backend, seed=seed, max_rows=rows)
    click.echo(
        f"{report.space}: {report.metric} on fold 1, chance {report.chance:.3f}, default {report.default_score:.3f}"
    )
    for draw in report.draws:
        mark = "AT CHANCE" if report.at_chance(draw) else ""
        click.echo(f"  draw {draw.number:>3}  {draw.score:.3f}  {draw.seconds:6.1f}s  {mark:<9} {draw.failed or ''}")
    verdict = "healthy" if report.fraction_at_chance <= MAX_AT_CHANCE else "unhealthy"
    click.echo(
        f"{verdict}: {report.fraction_at_chance:.0%} of the draws ended at chance (below {report.threshold:.3f}), "
        f"{report.time_fraction_at_chance:.0%} of the training time"
    )
    if verdict == "unhealthy":
        sys.exit(1)


@cli.command()
@_setting_option(
    "tracking_uri",
    envvar="AUTOML_TRACKING_URI",
    help="MLflow store to browse (or env AUTOML_TRACKING_URI; default: sqlite:///RUNS_DIR/mlflow.db).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=5000, show_default=True)
@_runs_option
def ui(tracking_uri: str | None, host: str, port: int, runs_dir: Path) -> None:
    """Open the MLflow UI on the search results (bound to 127.0.0.1 by default).

    \b
    Example:
      automl ui --port 5001
    """
    from automl.stores import default_tracking_uri, redact

    if tracking_uri is None:
        runs_dir.mkdir(parents=True, exist_ok=True)  # an empty store is fine: the UI shows no experiment yet
    uri = tracking_uri or default_tracking_uri(runs_dir)
    click.echo(f"MLflow UI on http://{host}:{port} for {redact(uri)} (Ctrl-C stops it)")
    # the store's URI goes in the environment, not on a command line that ps shows (it may hold a password)
    os.environ["MLFLOW_BACKEND_STORE_URI"] = uri
    os.execvp(sys.executable, [sys.executable, "-m", "mlflow", "ui", "--host", host, "--port", str(port)])


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="automl")


if __name__ == "__main__":
    main()
