"""Data and search space shared by the peer benchmark (`compare_peers.py`).

Every tool sees the same train/test split (stratified 20% test, split seed 0). The peers
(KerasTuner, a hand-written Optuna script) search one space written once here, through a small
`Picker` adapter over KerasTuner's `HyperParameters` or an Optuna `Trial`, so the two spaces
cannot drift apart:

- image (scikit-learn digits, 8x8 grey): 1-3 conv blocks (filters 16-128 log, kernel 3/5, same
  padding, 2x2 max pooling), dense 32-256 (log), dropout 0-0.5, four activations;
- tabular (scikit-learn breast cancer, standardised with statistics of the training part): an
  MLP of 1-3 dense layers of 16-256 units (log), dropout 0-0.5, four activations;
- both: adam / sgd / rmsprop, learning rate 1e-4 to 1e-1 (log), batch size 32.

automl searches its own shipped space for the task (search_spaces/<task>.yaml), which is wider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

SPLIT_SEED = 0
TEST_FRACTION = 0.2
MAX_EPOCHS = 27
BATCH_SIZE = 32
ACTIVATIONS = ["relu", "elu", "tanh", "swish"]
OPTIMIZERS = ["adam", "sgd", "rmsprop"]


@dataclass
class Split:
    """The benchmark's data: the training part every tool searches on and the held-out test part."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


def load_split(task: str) -> Split:
    """Digits images (task "image") or breast cancer features (task "tabular"), split 80/20 stratified."""
    if task == "image":
        digits = load_digits()
        X, y = (digits.images / 16.0).astype(np.float32)[..., np.newaxis], digits.target
    elif task == "tabular":
        X, y = load_breast_cancer(return_X_y=True)
        X = X.astype(np.float32)
    else:
        raise ValueError(f"unknown task {task!r}; use image or tabular")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    if task == "tabular":  # the MLPs of every tool need standardised features: fit on the training part only
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train).astype(np.float32), scaler.transform(X_test).astype(np.float32)
    return Split(X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64), int(len(np.unique(y))))


class Picker(Protocol):
    """Draws one hyperparameter value; implemented over KerasTuner and Optuna."""

    def int(self, name: str, low: int, high: int, log: bool = False) -> int: ...
    def float(self, name: str, low: float, high: float, log: bool = False, step: float | None = None) -> float: ...
    def choice(self, name: str, choices: list[Any]) -> Any: ...


class KerasTunerPicker:
    """`Picker` over a KerasTuner `HyperParameters`."""

    def __init__(self, hp: Any) -> None:
        self.hp = hp

    def int(self, name: str, low: int, high: int, log: bool = False) -> int:
        return self.hp.Int(name, low, high, sampling="log" if log else "linear")

    def float(self, name: str, low: float, high: float, log: bool = False, step: float | None = None) -> float:
        return self.hp.Float(name, low, high, step=step, sampling="log" if log else "linear")

    def choice(self, name: str, choices: list[Any]) -> Any:
        return self.hp.Choice(name, choices)


class OptunaPicker:
    """`Picker` over an Optuna `Trial`."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def int(self, name: str, low: int, high: int, log: bool = False) -> int:
        return self.trial.suggest_int(name, low, high, log=log)

    def float(self, name: str, low: float, high: float, log: bool = False, step: float | None = None) -> float:
        return self.trial.suggest_float(name, low, high, log=log, step=step)

    def choice(self, name: str, choices: list[Any]) -> Any:
        return self.trial.suggest_categorical(name, choices)


def build_model(pick: Picker, task: str, input_shape: tuple[int, ...], n_classes: int) -> Any:
    """A compiled Keras model drawn from the peers' space (see the module docstring)."""
    import keras

    activation = pick.choice("activation", ACTIVATIONS)
    model = keras.Sequential([keras.Input(input_shape)])
    if task == "image":
        for i in range(pick.int("n_blocks", 1, 3)):
            filters = pick.int(f"filters_{i}", 16, 128, log=True)
            kernel = pick.choice(f"kernel_{i}", [3, 5])
            model.add(keras.layers.Conv2D(filters, kernel, padding="same", activation=activation))
            model.add(keras.layers.MaxPooling2D(2, padding="same"))
        model.add(keras.layers.Flatten())
        hidden = [pick.int("dense_units", 32, 256, log=True)]
    else:
        hidden = [pick.int(f"units_{i}", 16, 256, log=True) for i in range(pick.int("n_layers", 1, 3))]
    dropout = pick.float("dropout", 0.0, 0.5, step=0.1)
    for units in hidden:
        model.add(keras.layers.Dense(units, activation=activation))
        if dropout:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(n_classes, activation="softmax"))
    optimizer = pick.choice("optimizer", OPTIMIZERS)
    learning_rate = pick.float("learning_rate", 1e-4, 1e-1, log=True)
    model.compile(
        optimizer=keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}}),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
