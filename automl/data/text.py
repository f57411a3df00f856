"""Text classification data: a per-fold token vectorizer, CSV and folder loaders, a built-in set.

Texts stay raw strings in the ``Dataset``; each CV fold fits a fresh ``TextVectorizer`` on its
training rows, so the vocabulary never sees validation text.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

from automl.data.dataset import Dataset
from automl.errors import DataError, did_you_mean

PAD, OOV = 0, 1  # reserved token ids; the vocabulary starts at 2
MAX_TOKENS = 20_000
SEQUENCE_LENGTH_RANGE = (8, 256)
DEFAULT_TEXT_COLUMN, DEFAULT_TARGET = "text", "label"
_tokenize = CountVectorizer(lowercase=True).build_analyzer()  # lower-cased words of 2+ letters/digits


class TextVectorizer:
    """Lower-cased word tokens -> float32 token ids of shape ``(n, sequence_length)``.

    The vocabulary is the ``max_tokens - 2`` most frequent tokens of the rows passed to ``fit``
    (ties broken alphabetically), numbered from 2 by frequency; 0 pads, 1 stands for any token not
    in the vocabulary. Texts keep their first ``sequence_length`` tokens and are padded at the
    front (as Keras' ``pad_sequences`` does), so a recurrent model ends on real tokens.
    """

    def __init__(self, max_tokens: int = MAX_TOKENS, sequence_length: int = 64) -> None:
        self.max_tokens, self.sequence_length = max_tokens, sequence_length

    def fit(self, X: Any, y: Any = None) -> TextVectorizer:
        counts = Counter(token for text in X for token in _tokenize(str(text)))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: max(self.max_tokens - 2, 0)]
        self.vocabulary_ = {token: index for index, (token, _) in enumerate(ranked, start=2)}
        return self

    def transform(self, X: Any) -> np.ndarray:
        out = np.full((len(X), self.sequence_length), PAD, dtype=np.float32)
        for row, text in enumerate(X):
            ids = [self.vocabulary_.get(token, OOV) for token in _tokenize(str(text))[: self.sequence_length]]
            if ids:
                out[row, -len(ids) :] = ids
        return out


def inverse_document_frequency(token_ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """Smoothed inverse document frequency of each token id in rows of ``TextVectorizer`` output,
    ``ln((1 + n) / (1 + df)) + 1`` as scikit-learn's ``TfidfVectorizer``; 0 for the padding and the
    unknown-token ids, so that they drop out of a TF-IDF vector. float32 of shape ``(vocab_size,)``."""
    ids = np.asarray(token_ids).astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size}); got {ids.min()} to {ids.max()}")
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])  # ids: (texts, sequence_length)
    pairs = np.unique(rows * vocab_size + ids.reshape(-1))  # each (row, token) once
    document_frequency = np.bincount(pairs % vocab_size, minlength=vocab_size)
    idf = np.log((1.0 + len(ids)) / (1.0 + document_frequency)) + 1.0
    idf[[PAD, OOV]] = 0.0
    return idf.astype(np.float32)


def text_dataset(texts: np.ndarray, labels: np.ndarray, *, name: str, max_tokens: int = MAX_TOKENS) -> Dataset:
    """A text classification ``Dataset``; sequence length and vocabulary size are read from the texts.

    ``sequence_length`` is the 95th percentile of the token counts, clipped to
    ``SEQUENCE_LENGTH_RANGE``; ``vocab_size`` is ``min(max_tokens, distinct tokens + 2)``.
    """
    tokens = [_tokenize(text) for text in texts]
    low, high = SEQUENCE_LENGTH_RANGE
    sequence_length = int(np.clip(np.ceil(np.percentile([len(t) for t in tokens], 95)), low, high))
    vocab_size = min(max_tokens, len({token for text in tokens for token in text}) + 2)
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"{name}: every text has the label {classes[0]!r}; classification needs at least two classes")
    return Dataset(
        name=name,
        task="text",
        X=np.asarray(texts, dtype=object),
        y=y.astype(np.int64),
        problem_type="classification",
        classes=classes.tolist(),
        vocab_size=vocab_size,
        make_preprocessor=functools.partial(TextVectorizer, max_tokens=vocab_size, sequence_length=sequence_length),
    )


def load_text(path: Path, *, text_column: str | None = None, target: str | None = None) -> Dataset:
    """Texts and labels from a CSV (``text_column``, ``target``; default ``text`` and ``label``)
    or from a folder with one sub-folder of ``.txt`` files per class.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return _load_folder(path)
    return _load_csv(path, text_column or DEFAULT_TEXT_COLUMN, target or DEFAULT_TARGET)


def _load_csv(path: Path, text_column: str, target: str) -> Dataset:
    try:
        frame = pd.read_csv(path, dtype={text_column: str}, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the CSV file is empty") from None
    except pd.errors.ParserError as exc:  # pandas names the line, e.g. "Expected 2 fields in line 4, saw 3"
        raise DataError(f"{path}: cannot parse the CSV: {str(exc).strip()}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8") from None
    columns = [str(c) for c in frame.columns]
    for role, flag, column in (("text", "--text-column", text_column), ("label", "--target", target)):
        if column not in columns:
            raise DataError(
                f"{path}: no {role} column {column!r} (choose it with {flag}); the columns are: "
                f"{', '.join(columns)}.{did_you_mean(column, columns)}"
            )
    for column in (text_column, target):
        blank = frame[column].isna() | frame[column].astype(str).str.strip().eq("")
        if blank.any():
            lines = ", ".join(str(i + 2) for i in np.flatnonzero(blank)[:5])  # +2: header line, 1-based
            raise DataError(f"{path}: {int(blank.sum())} row(s) have an empty {column!r} (lines {lines})")
    labels = frame[target].to_numpy()
    if labels.dtype == object:
        labels = labels.astype(str)
    return text_dataset(frame[text_column].to_numpy(dtype=object), labels, name=path.stem)


def _load_folder(path: Path) -> Dataset:
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{path}: no class sub-folders; expected one sub-folder of .txt files per class")
    texts, labels, skipped = [], [], []
    for folder in folders:
        for file in sorted(folder.glob("*.txt")):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                skipped.append(file)
                continue
            if text.strip():
                texts.append(text)
                labels.append(folder.name)
            else:
                skipped.append(file)
    if skipped:
        names = ", ".join(str(p.relative_to(path)) for p in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        warnings.warn(f"{path}: skipped {len(skipped)} empty, unreadable or non-UTF-8 file(s): {names}", stacklevel=3)
    found = sorted(set(labels))
    if len(found) < 2:
        what = f"only the class {found[0]!r} has" if found else "no class sub-folder has"
        raise DataError(
            f"{path}: {what} readable .txt files ({len(folders)} sub-folder(s): "
            f"{', '.join(f.name for f in folders)}); classification needs at least two classes"
        )
    return text_dataset(np.asarray(texts, dtype=object), np.asarray(labels), name=path.name)


# --------------------------------------------------------------------------- built-in data
# Standard-library modules by topic; their docstrings are the built-in "stdlib-docs" texts.
STDLIB_TOPICS = {
    "text": (
        "string", "re", "textwrap", "difflib", "unicodedata", "codecs", "html", "html.parser", "locale",
        "gettext", "shlex", "csv", "json", "json.decoder", "json.encoder",
    ),
    "maths": (
        "math", "cmath", "decimal", "fractions", "statistics", "random", "numbers", "_pydecimal", "operator",
        "heapq", "bisect",
    ),
    "files": (
        "os", "os.path", "shutil", "pathlib", "glob", "fnmatch", "tempfile", "io", "_pyio", "stat", "filecmp",
        "zipfile", "tarfile", "gzip", "bz2", "lzma", "fileinput",
    ),
    "network": (
        "socket", "ssl", "http.client", "http.server", "http.cookies", "http.cookiejar", "urllib.request",
        "urllib.parse", "urllib.error", "email.message", "email.utils", "email.parser", "email.header",
        "email.mime.text", "email.policy", "email._header_value_parser", "smtplib", "ftplib", "imaplib", "poplib",
        "ipaddress", "socketserver", "xmlrpc.client",
    ),
    "dates": ("datetime", "time", "calendar", "zoneinfo", "sched", "_strptime"),
}  # fmt: skip
MIN_WORDS = 5


def builtin_text() -> Dataset:
    """The "stdlib-docs" set: docstrings of standard-library functions and classes, labelled by topic.

    About 2,000 deduplicated documents of at least ``MIN_WORDS`` words in five topics (text,
    maths, files, network, dates), read from the running Python: nothing is downloaded. A
    docstring found under two topics is dropped.
    """
    texts, labels = _stdlib_docs()
    return text_dataset(np.asarray(texts, dtype=object), np.asarray(labels), name="stdlib-docs")


@functools.lru_cache(maxsize=1)
def _stdlib_docs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    unique = topic_docstrings(STDLIB_TOPICS)
    return tuple(doc for doc, _ in unique), tuple(topic for _, topic in unique)


def topic_docstrings(topics: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """(docstring, topic) of the modules listed under each topic, in the order found; a docstring
    found under two topics is dropped."""
    found: dict[str, set[str]] = {}
    for topic, modules in topics.items():
        for module_name in modules:
            for doc in _docstrings(importlib.import_module(module_name)):
                found.setdefault(doc, set()).add(topic)
    return [(doc, where.pop()) for doc, where in found.items() if len(where) == 1]


def _docstrings(module: Any) -> list[str]:
    """Whitespace-normalised docstrings of the functions and classes (and their methods) defined in ``module``."""
    objects = []
    for _, obj in sorted(vars(module).items()):
        if getattr(obj, "__module__", None) != module.__name__:
            continue  # imported from elsewhere
        objects.append(obj)
        if inspect.isclass(obj):
            objects += [member for _, member in sorted(vars(obj).items()) if callable(member) or _is_descriptor(member)]
    docs = (" ".join(obj.__doc__.split()) for obj in objects if isinstance(getattr(obj, "__doc__", None), str))
    return [doc for doc in docs if len(doc.split()) >= MIN_WORDS]


def _is_descriptor(member: Any) -> bool:
    return isinstance(member, property | staticmethod | classmethod)
