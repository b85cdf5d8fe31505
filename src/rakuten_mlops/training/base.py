"""What every trainer shares: the protocol, the option set the factory takes, labels and calibration.

The trainers (`trainers.py`, `torch_trainer.py`) and the model search import from here and never from
each other, so the package has no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
from scipy.optimize import minimize_scalar

from rakuten_mlops.errors import DataError
from rakuten_mlops.features.vectorizers import FeatureConfig, TextColumn
from rakuten_mlops.training.choices import Device, TrainerName
from rakuten_mlops.training.model import TextClassifierModel, softmax

EpochCallback = Callable[[int, float], None]


class Family(StrEnum):
    """Classifier families the search chooses from."""

    LINEAR_SVC = "linear_svc"
    LOGISTIC = "logistic_regression"
    SGD_LOG = "sgd_log"
    SGD_HUBER = "sgd_modified_huber"
    COMPLEMENT_NB = "complement_nb"
    TORCH_MLP = "torch_mlp"

    @property
    def trainer(self) -> TrainerName:
        """The trainer a model of this family is recorded under."""
        return TrainerName.TORCH if self is Family.TORCH_MLP else TrainerName.SKLEARN


ParamValue = int | float | str


@dataclass(frozen=True)
class ClassifierSpec:
    """One family with its settings, e.g. ClassifierSpec(Family.LINEAR_SVC, {"C": 0.5})."""

    family: Family
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def as_dict(self) -> dict[str, ParamValue]:
        """Flat params for MLflow: family plus its settings."""
        return {"family": self.family.value, **{k: self.params[k] for k in sorted(self.params)}}


class Trainer(Protocol):
    """Anything that fits a TextClassifierModel from three equal-length columns."""

    name: str

    def fit(
        self, designations: TextColumn, descriptions: TextColumn, labels: Sequence[object]
    ) -> TextClassifierModel:
        """Train and return a model."""
        ...

    def params(self) -> dict[str, Any]:
        """Trainer settings for MLflow."""
        ...


@dataclass(frozen=True)
class TrainerOptions:
    """Everything a trainer is built from: `make_trainer(name, options)` is the only way in.

    `settings` are the trainer's own knobs (SGD's `alpha`, the MLP's `hidden`, ...), checked by the
    trainer that receives them.
    """

    features: FeatureConfig | None = None
    # A searched configuration: this family and settings, with the temperature fitted on validation.
    classifier: ClassifierSpec | None = None
    temperature: float = 1.0
    seed: int = 42
    device: str = Device.AUTO
    on_epoch: EpochCallback | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


def prepare_labels(labels: Sequence[object], n_rows: int) -> tuple[list[str], np.ndarray]:
    """Return sorted string classes and the integer class index of each row."""
    if len(labels) != n_rows:
        raise DataError(f"got {len(labels)} labels for {n_rows} listings; give one prdtypecode per listing")
    as_text = [str(label).strip() if label is not None else "" for label in labels]
    empty = next((i for i, label in enumerate(as_text) if label in {"", "nan", "None", "<NA>"}), None)
    if empty is not None:
        raise DataError(f"label of row {empty} is missing; drop unlabelled rows before training")
    classes, y = np.unique(np.asarray(as_text, dtype=object), return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"training needs at least 2 classes, got {len(classes)}: {list(classes)}")
    return [str(c) for c in classes], y.astype(np.int64)


def fit_temperature(scores: np.ndarray, y: np.ndarray, max_rows: int = 50_000, seed: int = 0) -> float:
    """Temperature minimising the log loss of softmax(scores / T); turns margins into probabilities."""
    if scores.shape[0] > max_rows:
        pick = np.random.default_rng(seed).choice(scores.shape[0], max_rows, replace=False)
        scores, y = scores[pick], y[pick]
    scores = scores.astype(np.float64)
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        proba = softmax(scores, float(np.exp(log_t)))
        return float(-np.log(np.clip(proba[rows, y], 1e-12, None)).mean())

    result = minimize_scalar(nll, bounds=(np.log(0.001), np.log(1000.0)), method="bounded")
    return float(np.exp(result.x))


def log_loss(scores: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the true classes under softmax(scores / temperature)."""
    proba = softmax(scores.astype(np.float64), temperature)
    return float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None)).mean())


def holdout_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified-ish split of row indices: (fit rows, calibration rows)."""
    rng = np.random.default_rng(seed)
    calib = np.zeros(len(y), dtype=bool)
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        take = int(len(members) * fraction) if len(members) >= 5 else 0
        calib[rng.choice(members, take, replace=False)] = True
    return np.flatnonzero(~calib), np.flatnonzero(calib)


def stratified_subsample(y: np.ndarray, fraction: float, seed: int, min_per_class: int = 2) -> np.ndarray:
    """Sorted row indices: `fraction` of each class, at least `min_per_class` rows where a class has them."""
    if fraction >= 1.0:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        take = min(len(members), max(min_per_class, round(len(members) * fraction)))
        picked.append(rng.choice(members, take, replace=False))
    return np.sort(np.concatenate(picked))
