"""Data, search space and models shared by every tool of the peer benchmark (`compare_peers.py`).

Like for like: every tool searches automl's shipped space for the task (search_spaces/<task>.yaml)
through an adapter that turns KerasTuner's `HyperParameters` or an Optuna `Trial` into what
`SearchSpace.sample` asks for; every sampled configuration becomes the same Keras model (automl's
`build_spec` + Keras backend: same layers, loss and optimizer) trained with the same settings
(the configuration's batch size, epoch ceiling and early-stopping patience, restoring the best
weights). The first configuration of every tool is the space's defaults.

Every tool sees the same train/test split (stratified 20% test, split seed 0; `compare_peers.py
--split seed` draws the test part with each job's seed instead, the same for every tool):
- image: scikit-learn's digits, 8x8 grey images in [0, 1];
- tabular: scikit-learn's breast cancer, standardised with the training part's statistics;
- text: automl's built-in stdlib-docs texts; automl gets the raw texts (its vectorizer is fitted
  in each fold), the peers token ids from the same vectorizer fitted on the whole training part
  (and so are the document frequencies of their bag-of-words models).

``package-docs`` is a second text set, which automl's defaults and spaces were never tuned on:
docstrings of installed third-party packages (numpy, scipy, pandas, scikit-learn, SQLAlchemy),
labelled by what the package is for (``PACKAGE_TOPICS``). ``affairs`` is a second table, which
automl's tabular space was never tuned on: the survey of Fair (1978) that ships with statsmodels,
6,366 married women, 8 features (age, years married, children, religiousness, education,
occupations, rating of the marriage), labelled by whether they reported an affair (32 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

SPLIT_SEED = 0
TEST_FRACTION = 0.2
TASK_OF = {  # data set -> task
    "image": "image",
    "tabular": "tabular",
    "text": "text",
    "package-docs": "text",
    "distorted-digits": "image",
    "affairs": "tabular",
}
PACKAGE_TOPICS = {
    "arrays": (
        "numpy", "numpy.linalg", "numpy.fft", "numpy.random.mtrand", "numpy.ma.core", "numpy.polynomial.polynomial",
        "numpy.lib.function_base", "numpy.lib.shape_base", "numpy.core.fromnumeric", "numpy.core.numeric",
    ),
    "statistics": (
        "scipy.stats._stats_py", "scipy.stats._morestats", "scipy.stats._distn_infrastructure",
        "scipy.stats._continuous_distns", "scipy.stats._discrete_distns", "scipy.stats._mstats_basic",
        "scipy.stats._multivariate",
    ),
    "numerics": (
        "scipy.optimize._minimize", "scipy.optimize._optimize", "scipy.optimize._root", "scipy.optimize._linprog",
        "scipy.optimize._zeros_py", "scipy.optimize._differentialevolution", "scipy.optimize._minpack_py",
        "scipy.optimize._shgo", "scipy.optimize._basinhopping", "scipy.optimize._dual_annealing",
        "scipy.optimize._lbfgsb_py", "scipy.integrate._quadpack_py", "scipy.integrate._ivp.ivp",
        "scipy.interpolate._interpolate", "scipy.interpolate._fitpack2",
    ),
    "tables": (
        "pandas.core.frame", "pandas.core.series", "pandas.core.generic", "pandas.core.groupby.groupby",
        "pandas.core.reshape.merge", "pandas.core.indexes.base", "pandas.io.parsers.readers",
        "pandas.core.tools.datetimes",
    ),
    "learning": (
        "sklearn.linear_model._base", "sklearn.linear_model._logistic", "sklearn.ensemble._forest",
        "sklearn.ensemble._gb", "sklearn.svm._classes", "sklearn.tree._classes", "sklearn.model_selection._split",
        "sklearn.model_selection._search", "sklearn.cluster._kmeans", "sklearn.decomposition._pca",
        "sklearn.neighbors._classification", "sklearn.pipeline", "sklearn.preprocessing._data",
    ),
    "databases": (
        "sqlalchemy.engine.base", "sqlalchemy.engine.create", "sqlalchemy.orm.session", "sqlalchemy.orm.query",
        "sqlalchemy.sql.schema", "sqlalchemy.sql.selectable", "sqlalchemy.sql.elements", "sqlalchemy.sql.functions",
        "sqlalchemy.pool.base", "sqlalchemy.orm.relationships",
    ),
}  # fmt: skip
PACKAGE_DOCS_PER_TOPIC = 350  # about the stdlib-docs set's size and length, so that a fold costs about the same
PACKAGE_DOC_WORDS = 100  # each docstring's opening: its summary and first parameters


@dataclass
class Split:
    """The benchmark's data: the training part every tool searches on and the held-out test part.

    ``raw_train``/``raw_test`` are what automl is given (texts for the text task); ``X_*`` the
    model inputs the peers train on (token ids for text).
    """

    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    raw_train: Any
    raw_test: Any
    vocab_size: int | None = None

    @property
    def chance(self) -> float:
        """The test accuracy of always predicting the training part's majority class."""
        majority = np.bincount(self.y_train).argmax()
        return float(np.mean(self.y_test == majority))


def load_split(name: str, split_seed: int = SPLIT_SEED) -> Split:
    """A data set (a task's built-in data, ``package-docs``, ``distorted-digits`` or ``affairs``), split 80/20
    stratified with ``split_seed`` (0 unless a benchmark draws a test part per seed)."""
    task = TASK_OF.get(name)
    if name == "image":
        from sklearn.datasets import load_digits

        digits = load_digits()
        X, y = (digits.images / 16.0).astype(np.float32)[..., np.newaxis], digits.target
    elif name == "tabular":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        X = X.astype(np.float32)
    elif name == "text":
        from automl.data.text import builtin_text

        data = builtin_text()
        X, y = np.asarray(data.X, dtype=object), data.y
    elif name == "package-docs":
        X, y = package_docs()
    elif name == "distorted-digits":
        X, y = distorted_digits()
    elif name == "affairs":
        from statsmodels.datasets import fair

        table = fair.load_pandas().data
        y = (table.pop("affairs") > 0).to_numpy().astype(np.int64)
        X = table.to_numpy().astype(np.float32)
    else:
        raise ValueError(f"unknown data set {name!r}; use one of {', '.join(TASK_OF)}")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, stratify=y, random_state=split_seed
    )
    raw_train, raw_test, vocab_size = X_train, X_test, None
    if task == "tabular":  # every tool's MLP needs standardised features: fitted on the training part only
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train).astype(np.float32), scaler.transform(X_test).astype(np.float32)
        raw_train, raw_test = X_train, X_test
    if task == "text":
        from automl.data.text import text_dataset

        vectorizer = text_dataset(X, y, name=name).make_preprocessor().fit(X_train, y_train)
        X_train, X_test = vectorizer.transform(X_train), vectorizer.transform(X_test)
        vocab_size = vectorizer.max_tokens
    return Split(
        task,
        X_train,
        y_train.astype(np.int64),
        X_test,
        y_test.astype(np.int64),
        int(len(np.unique(y))),
        raw_train,
        raw_test,
        vocab_size,
    )


DISTORTED_DIGITS = 10_000


def distorted_digits(n: int = DISTORTED_DIGITS) -> tuple[np.ndarray, np.ndarray]:
    """A larger image set automl was never tuned on: ``n`` 28x28 grey images made from scikit-learn's
    digits, each enlarged to about 20x20 (a random scale of 0.85-1.15), turned by up to 20 degrees,
    its strokes thickened half of the time, shifted by up to 3 pixels, dimmed and noised (seeded)."""
    from scipy import ndimage
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(SPLIT_SEED)
    images, labels = np.zeros((n, 28, 28), np.float32), np.zeros(n, np.int64)
    for i in range(n):
        j = rng.integers(len(digits.target))
        image = ndimage.zoom(digits.images[j] / 16.0, 2.5 * rng.uniform(0.85, 1.15), order=1)
        image = ndimage.rotate(image, rng.uniform(-20, 20), reshape=False, order=1)
        if rng.random() < 0.5:
            image = ndimage.grey_dilation(image, size=(2, 2))
        size = min(image.shape[0], 28)
        top, left = (int(np.clip((28 - size) // 2 + rng.integers(-3, 4), 0, 28 - size)) for _ in range(2))
        images[i, top : top + size, left : left + size] = image[:size, :size]
        images[i] = np.clip(images[i] * rng.uniform(0.5, 1.0) + rng.normal(0, 0.15, (28, 28)), 0, 1)
        labels[i] = digits.target[j]
    return images[..., np.newaxis], labels


def package_docs() -> tuple[np.ndarray, np.ndarray]:
    """The ``package-docs`` texts and their topics' indices: the first ``PACKAGE_DOC_WORDS`` words
    of at most ``PACKAGE_DOCS_PER_TOPIC`` docstrings per topic (a seeded sample), those found under
    two topics dropped."""
    from automl.data.text import topic_docstrings

    unique = topic_docstrings(PACKAGE_TOPICS)
    rng = np.random.default_rng(SPLIT_SEED)
    texts, labels = [], []
    for index, topic in enumerate(PACKAGE_TOPICS):
        docs = sorted(doc for doc, found in unique if found == topic)
        chosen = rng.permutation(len(docs))[:PACKAGE_DOCS_PER_TOPIC]
        texts += [" ".join(docs[i].split()[:PACKAGE_DOC_WORDS]) for i in sorted(chosen)]
        labels += [index] * len(chosen)
    return np.asarray(texts, dtype=object), np.asarray(labels)


def own_space_file(task: str) -> str:
    """The shipped space of ``task`` in the tree that ``automl`` was imported from.

    An editable install maps ``automl.search_spaces`` to the installed checkout's folder even when
    ``automl`` itself comes from another worktree on PYTHONPATH, so a name such as ``"text"`` would
    search the installed checkout's space, not the worktree's.
    """
    import automl

    return str(Path(automl.__file__).resolve().parents[1] / "search_spaces" / f"{task}.yaml")


def space_of(data_set: str) -> Any:
    """The shipped space of a data set's task (``distorted-digits``: the image space), from ``automl``'s own tree."""
    from automl.space import load_space

    return load_space(own_space_file(TASK_OF[data_set]))


class KerasTunerTrial:
    """What `SearchSpace.sample` asks of a trial, over KerasTuner's `HyperParameters`.

    Each parameter's default is the space's default, so KerasTuner's first trial (drawn before it
    knows any parameter) is the space's default configuration, as automl's and the Optuna script's.
    """

    def __init__(self, hp: Any, defaults: dict[str, Any]) -> None:
        self.hp, self.defaults = hp, defaults

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        sampling = "log" if log else "linear"
        return self.hp.Int(name, low, high, step=None if log else step, sampling=sampling, default=self._default(name))

    def suggest_float(self, name: str, low: float, high: float, step: float | None = None, log: bool = False) -> float:
        sampling = "log" if log else "linear"
        return self.hp.Float(name, low, high, step=step, sampling=sampling, default=self._default(name))

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return self.hp.Choice(name, list(choices), default=self._default(name))

    def _default(self, name: str) -> Any:
        return self.defaults.get(name)


def build_model(config: dict[str, Any], split: Split) -> tuple[Any, Any]:
    """The compiled Keras model of a sampled configuration and its `ModelSpec` (automl's own build).

    A bag-of-words model's document frequencies are fitted on the whole training part here, as the
    peers' vocabulary is (automl fits both on each fold's training rows)."""
    from automl.backends import get_backend
    from automl.backends.keras.text import adapt_to
    from automl.model import build_spec

    spec = build_spec(
        config,
        input_shape=split.X_train.shape[1:],
        n_outputs=split.n_classes,
        problem_type="classification",
        vocab_size=split.vocab_size,
    )
    model = get_backend("keras").build(spec)
    adapt_to(model, split.X_train)
    return model, spec


def fit_settings(spec: Any, y: np.ndarray) -> dict[str, Any]:
    """The keyword arguments of `model.fit` for a configuration: its batch size, class weights and
    early stopping on the validation loss with the best weights restored (as automl trains)."""
    import keras

    from automl.backends.base import class_weights

    callbacks = []
    if spec.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping("val_loss", patience=spec.early_stopping_patience, restore_best_weights=True)
        )
    return {"batch_size": spec.batch_size, "class_weight": class_weights(spec, y), "callbacks": callbacks}
