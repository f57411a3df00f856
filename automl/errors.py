"""One flat error tree: everything automl raises on purpose derives from ``AutoMLError``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AutoMLError(Exception):
    """Base class of every error automl raises deliberately (shown as one line by the CLI)."""


class ConfigError(AutoMLError, ValueError):
    """A search setting (CLI flag or API argument) has an invalid value."""


class SearchSpaceError(AutoMLError, ValueError):
    """A search space file is malformed or asks for something no backend can build.

    The message names the file, the key path, what was found and what is allowed.
    """

    def __init__(self, source: str, path: str, message: str, line: int | None = None) -> None:
        self.source, self.path, self.line = source, path, line
        where = source + (f", line {line}" if line else "") + (f", at '{path}'" if path else "")
        super().__init__(f"{where}: {message}")


class DataError(AutoMLError, ValueError):
    """Input data cannot be used for the requested task."""


class BackendUnavailableError(AutoMLError, ImportError):
    """The deep-learning framework of a backend cannot be imported."""


class TrialFailed(AutoMLError):
    """This trial cannot produce a score (diverged, bad configuration for the data, ...).

    Fails the trial alone; the study goes on.
    """


class EveryTrialFails(AutoMLError):
    """The first trials of a study all failed: a configuration or data error, stopped early."""


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' when ``value`` is close to one allowed name, else ''."""
    match = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" Did you mean '{match[0]}'?" if match else ""


def unknown(what: str, value: object, allowed: Iterable[object]) -> str:
    """The message for a value outside its allowed set: "unknown X 'v'; allowed: a, b. Did you mean 'a'?"."""
    names = [str(a).lower() if isinstance(a, bool) else str(a) for a in allowed]
    return f"unknown {what} {value!r}; allowed: {', '.join(names)}.{did_you_mean(str(value), names)}"
