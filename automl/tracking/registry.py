"""The MLflow Model Registry: a search registers its model as the *challenger*; promoting it makes it
the *champion* (aliases, so ``models:/NAME@champion`` always names the model in service).

Each study has one registered model (named after it unless told otherwise); every search adds a
version with the study, the trial(s), the CV score ± std and the data summary as tags and the
search space as its description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from automl.errors import ConfigError
from automl.tracking.tracker import scoped_tracking_uri

CHALLENGER, CHAMPION = "challenger", "champion"
MAX_DESCRIPTION = 5000


@dataclass(frozen=True)
class Version:
    """One registered version and what its search recorded about it."""

    name: str
    version: str
    tags: dict[str, str]

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def describe(self) -> str:
        score = self.tags.get("score", "?")
        std = self.tags.get("score_std")
        metric = self.tags.get("metric", "score")
        spread = f" ± {float(std):.4f}" if std not in (None, "nan") else ""
        score_text = f"{float(score):.4f}" if score not in ("?", "nan") else score
        return (
            f"version {self.version} (study {self.tags.get('study', '?')}, {self.tags.get('model', 'model')}): "
            f"CV {metric} {score_text}{spread}"
        )


def register(
    tracking_uri: str, name: str, model_uri: str, *, run_id: str | None, tags: dict[str, Any], description: str
) -> Version:
    """Add ``model_uri`` as a new version of registered model ``name`` (created on first use), with
    alias ``challenger``."""
    client = MlflowClient(tracking_uri)
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    with scoped_tracking_uri(tracking_uri):  # MLflow resolves a models:/ source through the global URI
        created = client.create_model_version(
            name,
            source=model_uri,
            run_id=run_id,
            tags={k: str(v)[:MAX_DESCRIPTION] for k, v in tags.items()},
            description=description[:MAX_DESCRIPTION],
            model_id=model_id,
        )
    client.set_registered_model_alias(name, CHALLENGER, created.version)
    return Version(name, str(created.version), dict(created.tags or {}))


def aliased(tracking_uri: str, name: str, alias: str) -> Version | None:
    """The version of ``name`` that ``alias`` points at, or None."""
    client = MlflowClient(tracking_uri)
    _require(client, name)
    try:
        found = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return Version(name, str(found.version), dict(found.tags or {}))


def promote(tracking_uri: str, name: str) -> Version:
    """Point ``champion`` at the ``challenger`` version of ``name``; returns that version."""
    challenger = aliased(tracking_uri, name, CHALLENGER)
    if challenger is None:
        raise ConfigError(f"registered model {name!r} has no {CHALLENGER!r} version: run a search first")
    MlflowClient(tracking_uri).set_registered_model_alias(name, CHAMPION, challenger.version)
    return challenger


def _require(client: MlflowClient, name: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException:
        names = [m.name for m in client.search_registered_models()]
        raise ConfigError(
            f"no registered model {name!r} in this MLflow store; registered: {', '.join(names) or 'none'}"
        ) from None
