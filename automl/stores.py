"""Where a search's results live: the default store URLs under a runs folder, and URLs safe to show."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "token", "secret", "access_key", "secret_key")


def default_storage(runs_dir: Path) -> str:
    """``sqlite:///<runs_dir>/optuna.db`` as an absolute URL."""
    return f"sqlite:///{(Path(runs_dir) / 'optuna.db').resolve()}"


def default_tracking_uri(runs_dir: Path) -> str:
    """``sqlite:///<runs_dir>/mlflow.db`` as an absolute URI."""
    return f"sqlite:///{(Path(runs_dir) / 'mlflow.db').resolve()}"


def is_local_tracking_store(tracking_uri: str) -> bool:
    """A file or SQLite MLflow store (one writer only) rather than a tracking server or a database server."""
    return tracking_uri.startswith(("sqlite:", "file:")) or "://" not in tracking_uri


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to print or log)."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # not an SQLAlchemy URL (e.g. a journal file path or an http URI): split it ourselves
        return _redact_plain(url)
    hidden = parsed.render_as_string(hide_password=True) if parsed.password else url
    return _redact_plain(hidden)


def _redact_plain(url: str) -> str:
    """Passwords in the user part (``user:password@``) and in the query (``?password=``) replaced by ``***``."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, colon, _ = credentials.partition(":")
        netloc = f"{user}:***@{host}" if colon else netloc
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in SECRET_QUERY_KEYS for key, _ in pairs):
            query = urlencode([(k, "***" if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*/:")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing hidden: the URL as given (urlunsplit would rewrite sqlite:////abs/path)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
