"""Tabular data: a CSV with a target column, or scikit-learn's built-in tables, as raw DataFrames.

Rows stay raw (missing values, strings) in the ``Dataset``; ``TabularPreprocessor`` (imputation,
scaling, one-hot encoding) is fitted inside each fold on that fold's training rows only.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from automl.data.dataset import PROBLEM_TYPES, Dataset, ProblemType
from automl.errors import DataError, did_you_mean, unknown

BUILTIN_TABLES = ("breast_cancer", "diabetes", "digits")
MAX_CLASSES_OF_INTEGERS = 20  # an integer target with more distinct values is a regression target
MAX_CATEGORIES = 50  # one-hot columns per categorical feature; rarer values share one column


class TabularPreprocessor:
    """Median-impute and standardise numeric columns, impute and one-hot encode the others.

    Categories first seen at ``transform`` (e.g. only in validation rows) encode as all zeros.
    ``transform`` takes a DataFrame holding the training columns (extra columns are ignored)
    or an array of raw values in the training column order; it returns dense float32.
    """

    def __init__(self, numeric: list[str], categorical: list[str]) -> None:
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.columns = self.numeric + self.categorical
        transformers: list[tuple[str, Any, list[str]]] = []
        if self.numeric:
            numeric_steps = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
            transformers.append(("numeric", numeric_steps, self.numeric))
        if self.categorical:
            encoder = OneHotEncoder(handle_unknown="ignore", max_categories=MAX_CATEGORIES, sparse_output=False)
            categorical_steps = make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True), encoder
            )
            transformers.append(("categorical", categorical_steps, self.categorical))
        self.transformer = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)

    def fit(self, X: Any, y: np.ndarray | None = None) -> TabularPreprocessor:
        self.transformer.fit(self._frame(X))
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.asarray(self.transformer.transform(self._frame(X)), dtype=np.float32)

    def _frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            values = np.asarray(X, dtype=object)
            if values.ndim != 2 or values.shape[1] != len(self.columns):
                raise DataError(
                    f"tabular inputs need {len(self.columns)} columns ({', '.join(self.columns)}); got shape "
                    f"{values.shape}; pass a DataFrame or CSV with these column names"
                )
            X = pd.DataFrame(values, columns=self.columns)
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise DataError(f"the inputs lack column(s) {missing} the model was trained on; got {list(X.columns)}")
        frame = X[self.columns].copy()
        for column in self.numeric:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        for column in self.categorical:  # one type for the encoder: strings, NaN where missing
            frame[column] = frame[column].astype(object).map(lambda v: np.nan if pd.isna(v) else str(v))
        return frame


def infer_problem_type(y: pd.Series | np.ndarray) -> ProblemType:
    """Regression for numbers with fractions or many distinct values; classification otherwise."""
    series = pd.Series(y).dropna()
    if series.dtype == bool or not pd.api.types.is_numeric_dtype(series):
        return "classification"
    values = series.to_numpy(dtype=np.float64)
    integral = bool(np.all(np.mod(values, 1) == 0))
    return "classification" if integral and series.nunique() <= MAX_CLASSES_OF_INTEGERS else "regression"


def load_tabular_csv(
    path: Path, *, target: str | None, problem_type: str | None = None, groups: str | None = None
) -> Dataset:
    """A ``Dataset`` of the raw rows of the CSV at ``path``, predicting column ``target``.

    ``problem_type`` None infers it from the target; ``groups`` names a column whose values keep
    rows together in one fold (it is not a feature). Rows without a target are dropped (warned).
    """
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({str(exc).strip()})") from None
    if frame.empty:
        raise DataError(f"{path}: no rows")
    columns = [str(c) for c in frame.columns]
    if target is None:
        raise DataError(f"{path}: say which column to predict with --target (API: target=); columns: {columns}")
    _check_column(path, "target", target, columns)
    if groups is not None:
        _check_column(path, "groups", groups, columns)
        if groups == target:
            raise DataError(f"{path}: the groups column {groups!r} cannot also be the target")
    unlabelled = frame[target].isna().to_numpy()
    if unlabelled.all():
        raise DataError(f"{path}: the target column {target!r} is empty")
    if unlabelled.any():
        warnings.warn(
            f"{path}: dropped {int(unlabelled.sum())} row(s) without a value in the target column {target!r}",
            UserWarning,
            stacklevel=2,
        )
        frame = frame.loc[~unlabelled].reset_index(drop=True)
    group_values = None
    if groups is not None:
        if frame[groups].isna().any():
            raise DataError(f"{path}: the groups column {groups!r} has missing values; give every row a group")
        group_values = frame[groups].astype(str).to_numpy()
    features = frame.drop(columns=[target] + ([groups] if groups is not None else []))
    if features.shape[1] == 0:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")
    return tabular_dataset(features, frame[target], name=path.stem, problem_type=problem_type, groups=group_values)


def builtin_tabular(name: str = "breast_cancer") -> Dataset:
    """One of scikit-learn's shipped tables as raw rows: breast_cancer, diabetes (regression) or digits."""
    from sklearn import datasets

    if name not in BUILTIN_TABLES:
        raise DataError(unknown("built-in tabular data set", name, BUILTIN_TABLES))
    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    target = bunch.target
    if name == "breast_cancer":
        target = target.map(dict(enumerate(bunch.target_names)))  # labels 'malignant' / 'benign'
    problem_type = "regression" if name == "diabetes" else "classification"
    return tabular_dataset(bunch.data, target, name=name, problem_type=problem_type)


def tabular_dataset(
    features: pd.DataFrame,
    target: pd.Series,
    *,
    name: str,
    problem_type: str | None = None,
    groups: np.ndarray | None = None,
) -> Dataset:
    """A ``Dataset`` of raw ``features`` whose preprocessing is fitted per fold."""
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise DataError(unknown("problem type", problem_type, PROBLEM_TYPES))
    problem_type = problem_type or infer_problem_type(target)
    features = features.reset_index(drop=True).rename(columns=str)
    numeric = [c for c in features.columns if _is_numeric(features[c])]
    categorical = [c for c in features.columns if c not in numeric]
    features[numeric] = features[numeric].astype(np.float64)
    infinite = [c for c in numeric if np.isinf(features[c]).any()]
    if infinite:
        raise DataError(f"{name}: column(s) {infinite} hold infinite values; use empty cells for missing values")
    make_preprocessor = functools.partial(TabularPreprocessor, numeric, categorical)
    if problem_type == "regression":
        if not pd.api.types.is_numeric_dtype(target) or target.dtype == bool:
            raise DataError(
                f"{name}: the target {target.name!r} holds non-numeric values ({target.iloc[0]!r}); "
                "regression needs numbers (or use --problem-type classification)"
            )
        y = target.to_numpy(dtype=np.float32)
        if not np.isfinite(y).all():
            raise DataError(f"{name}: the target {target.name!r} holds infinite values")
        return Dataset(name, "tabular", features, y, "regression", groups=groups, make_preprocessor=make_preprocessor)
    labels = target.to_numpy() if _is_numeric(target) else target.astype(str).to_numpy()
    classes, y_index = np.unique(labels, return_inverse=True)
    return Dataset(
        name,
        "tabular",
        features,
        y_index.astype(np.int64),
        "classification",
        classes=[c.item() if isinstance(c, np.generic) else c for c in classes],
        groups=groups,
        make_preprocessor=make_preprocessor,
    )


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and column.dtype != bool


def _check_column(path: Path, what: str, name: str, columns: list[str]) -> None:
    if name not in columns:
        raise DataError(f"{path}: no {what} column {name!r}; columns: {columns}.{did_you_mean(name, columns)}")
