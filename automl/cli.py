"""The ``automl`` command. Commands are thin: validate, call the library, turn errors into one line.

Heavy imports (TensorFlow, MLflow, Optuna) happen inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from automl.errors import AutoMLError

EXIT_USAGE = 2


def _friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print an ``AutoMLError`` as one line and exit 2 (a traceback only with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AutoMLError as exc:
            if click.get_current_context().find_root().params.get("debug"):
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


def _runs_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--runs-dir",
        type=click.Path(path_type=Path),
        default=Path("runs"),
        show_default=True,
        help="Folder for the default Optuna and MLflow stores and artifacts.",
    )(f)


@cli.command()
@click.option(
    "--task",
    type=click.Choice(["image", "text", "tabular"]),
    default="image",
    show_default=True,
    help="What kind of data the models learn from.",
)
@click.option(
    "--data",
    type=str,
    default=None,
    help="Your data: image: a folder with one sub-folder of images per class, or an .npz with arrays x and y; "
    "tabular: a CSV (with --target); text: a CSV (with --text-column, --target) or a folder of class sub-folders "
    "of .txt files. Built-in sets: builtin:digits (image, tabular), builtin:breast_cancer, builtin:diabetes "
    "(tabular regression), builtin:stdlib-docs (text). Default: the task's built-in set.",
)
@click.option("--target", default=None, help="CSV column to predict (tabular and text CSVs).")
@click.option("--text-column", default=None, help="CSV column holding the texts (text task; default: text).")
@click.option(
    "--objective",
    type=click.Choice(["classification", "regression"]),
    default=None,
    help="Force the objective (default: inferred from the target column).",
)
@click.option("--groups", default=None, help="CSV column of groups: rows of one group stay in one fold (GroupKFold).")
@click.option(
    "--image-size", default=None, help="Resize images to N or WIDTHxHEIGHT (default: the median size, at most 64)."
)
@click.option("--space", type=str, default=None, help="Search space YAML file or shipped name (default: the task's).")
@click.option(
    "--backend",
    default="keras",
    show_default=True,
    help="keras, mxnet, or a comma list (keras,mxnet) to search over the framework too.",
)
@click.option("--n-trials", type=int, default=None, help="Total trials of the study (default 30 with --timeout 240).")
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Time budget in seconds: no trial starts after it, and a running trial stops at its next epoch "
    "(once one trial has completed).",
)
@click.option("--n-splits", type=int, default=5, show_default=True, help="Folds of cross-validation.")
@click.option("--sampler", default="tpe", show_default=True, help="tpe, random, cmaes, gp or qmc.")
@click.option("--pruner", default="hyperband", show_default=True, help="hyperband, sha, median or none.")
@click.option("--metric", default=None, help="Metric to optimize (default: accuracy / rmse).")
@click.option("--study", "study_name", default=None, help="Study name; the same name resumes the study.")
@click.option("--storage", default=None, help="Optuna storage URL (default: sqlite:///RUNS_DIR/optuna.db).")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: sqlite:///RUNS_DIR/mlflow.db).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of sampler, folds and weights.")
@click.option("--no-refit", is_flag=True, help="Skip refitting the best configuration on all the data.")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes on a CPU-only machine (default: one per 4 cores); with GPUs, spread over them.",
)
@click.option(
    "--gpus",
    default="all",
    show_default=True,
    help="GPUs to run trials on: all (every visible GPU), none, or indices such as 0,2.",
)
@click.option("--trials-per-gpu", type=int, default=1, show_default=True, help="Trials that share one GPU at once.")
@_runs_option
@_friendly_errors
def search(**options: Any) -> None:
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
    from automl.config import SearchConfig
    from automl.search import run_search

    refit = not options.pop("no_refit")
    config = SearchConfig(refit=refit, **options)
    try:
        result = run_search(config)
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
    from automl.interrupts import stop_on_signals
    from automl.workers import run_worker

    try:
        with stop_on_signals():
            run_worker(study_name, storage, tracking_uri=tracking_uri, worker_id=worker_id, log=_echo_err)
    except KeyboardInterrupt:
        sys.exit(130)


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


@cli.command()
@click.argument("study", required=False)
@click.option("--storage", default=None, help="Optuna storage URL (default: sqlite:///RUNS_DIR/optuna.db).")
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

    from automl.errors import ConfigError
    from automl.leaderboard import leaderboard, leaderboard_table
    from automl.storage import default_storage, open_storage, redact

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
        from automl.errors import unknown

        raise ConfigError(f"{unknown('study', study, names)} (in {redact(url)})")
    loaded = optuna.load_study(study_name=study, storage=open_storage(url))
    board = leaderboard(loaded)
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(leaderboard_table(board, "score", top=top))
    complete = board[board["state"] == "COMPLETE"]
    if len(complete):
        best = loaded.best_trial
        console.print(
            f"best trial {best.number}: {best.value:.4f} ± {best.user_attrs.get('score_std', float('nan')):.4f}"
        )
        console.print_json(json.dumps(best.user_attrs.get("config", best.params)))


@cli.command()
@click.argument("study")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the model into.")
@click.option(
    "--tracking-uri", default=None, help="MLflow store of the search (default: sqlite:///RUNS_DIR/mlflow.db)."
)
@_runs_option
@_friendly_errors
def export(study: str, out: Path, tracking_uri: str | None, runs_dir: Path) -> None:
    """Export the latest refit best model of STUDY: native format plus an MLflow model.

    \b
    Example:
      automl export image-digits-keras --out best_model
      automl predict --model best_model --data new_images.npz
    """
    from automl.export import export_best_model
    from automl.tracking import default_tracking_uri

    written = export_best_model(study, out, tracking_uri or default_tracking_uri(runs_dir))
    click.echo(
        f"exported {written.model_uri} ({written.backend}) to {out}: native model in {out / 'native'}, "
        f"MLflow model in {out / 'mlflow_model'}"
    )


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
@_friendly_errors
def predict(model_dir: Path, data: Path, out: Path | None) -> None:
    """Predict with an exported model; write one prediction per row as CSV.

    \b
    Example:
      automl predict --model best_model --data new_images.npz --out predictions.csv
    """
    from automl.export import predict_file

    frame = predict_file(model_dir, data)
    if out is None:
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        frame.to_csv(out, index=False)
        click.echo(f"{len(frame)} predictions written to {out}", err=True)


@cli.group(invoke_without_command=True)
@click.pass_context
def spaces(ctx: click.Context) -> None:
    """List the shipped search spaces (or validate a file: automl spaces validate FILE)."""
    if ctx.invoked_subcommand is None:
        from automl.spaces import load_space, shipped_spaces

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
    from automl.spaces import load_space

    space = load_space(file)
    click.echo(f"{file}: valid ({space.n_params()} searched parameters)")


@cli.command()
@click.option("--tracking-uri", default=None, help="MLflow store to browse (default: sqlite:///RUNS_DIR/mlflow.db).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=5000, show_default=True)
@_runs_option
def ui(tracking_uri: str | None, host: str, port: int, runs_dir: Path) -> None:
    """Open the MLflow UI on the search results (bound to 127.0.0.1 by default).

    \b
    Example:
      automl ui --port 5001
    """
    from automl.tracking import default_tracking_uri

    if tracking_uri is None:
        runs_dir.mkdir(parents=True, exist_ok=True)  # an empty store is fine: the UI shows no experiment yet
    uri = tracking_uri or default_tracking_uri(runs_dir)
    click.echo(f"MLflow UI on http://{host}:{port} for {uri} (Ctrl-C stops it)")
    os.execvp(
        sys.executable,
        [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)],
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="automl")


if __name__ == "__main__":
    main()
