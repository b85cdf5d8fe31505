"""Trainers turn (designation, description, label) columns into a TextClassifierModel."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.linear_model import SGDClassifier

from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig, TextColumn, TextFeaturizer
from rakuten_mlops.training.model import LinearHead, TextClassifierModel, softmax

TrainerName = Literal["sklearn", "torch"]
EpochCallback = Callable[[int, float], None]


class Trainer(Protocol):
    """Anything that fits a TextClassifierModel from three equal-length columns."""

    name: str

    def fit(
        self, designations: TextColumn, descriptions: TextColumn, labels: Sequence[object]
    ) -> TextClassifierModel:
        """Train and return a model."""
        ...


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

    result = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded")
    return float(np.exp(result.x))


def holdout_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified-ish split of row indices: (fit rows, calibration rows)."""
    rng = np.random.default_rng(seed)
    calib = np.zeros(len(y), dtype=bool)
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        take = int(len(members) * fraction) if len(members) >= 5 else 0
        calib[rng.choice(members, take, replace=False)] = True
    return np.flatnonzero(~calib), np.flatnonzero(calib)


class SklearnTrainer:
    """TF-IDF + SGD logistic regression (one-vs-rest), temperature-scaled softmax probabilities."""

    name = "sklearn"

    def __init__(
        self,
        features: FeatureConfig | None = None,
        *,
        loss: str = "log_loss",
        alpha: float = 5e-6,
        epochs: int = 5,
        calibration_fraction: float = 0.1,
        random_state: int = 42,
        n_jobs: int = -1,
    ) -> None:
        if epochs < 1 or alpha <= 0:
            raise ModelError("SklearnTrainer needs epochs >= 1 and alpha > 0")
        if not 0.0 <= calibration_fraction < 0.5:
            raise ModelError("calibration_fraction must be in [0, 0.5)")
        self.features = features or FeatureConfig()
        self.loss = loss
        self.alpha = alpha
        self.epochs = epochs
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.timings: dict[str, float] = {}

    def _classifier(self) -> SGDClassifier:
        return SGDClassifier(
            loss=self.loss,
            alpha=self.alpha,
            max_iter=self.epochs,
            tol=None,  # a fixed number of epochs: deterministic and bounded in time
            early_stopping=False,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )

    def fit(
        self, designations: TextColumn, descriptions: TextColumn, labels: Sequence[object]
    ) -> TextClassifierModel:
        """Featurize, fit the linear model, calibrate a softmax temperature on a held-out slice."""
        classes, y = prepare_labels(labels, len(designations))
        start = time.perf_counter()
        featurizer = TextFeaturizer(self.features)
        matrix = featurizer.fit_transform(designations, descriptions)
        self.timings["featurize_s"] = time.perf_counter() - start
        start = time.perf_counter()
        temperature = 1.0
        if self.calibration_fraction > 0:
            fit_rows, calib_rows = holdout_split(y, self.calibration_fraction, self.random_state)
            if len(calib_rows) and len(np.unique(y[fit_rows])) == len(classes):
                probe = self._classifier().fit(matrix[fit_rows], y[fit_rows])
                temperature = fit_temperature(_scores(probe, matrix[calib_rows]), y[calib_rows])
        classifier = self._classifier().fit(matrix, y)
        self.timings["classifier_s"] = time.perf_counter() - start
        head = LinearHead.from_coef(_coef(classifier, len(classes)), _intercept(classifier), temperature)
        return TextClassifierModel(featurizer, head, classes, trainer=self.name, trainer_params=self.params())

    def params(self) -> dict[str, Any]:
        """Trainer settings for MLflow."""
        return {
            "loss": self.loss,
            "alpha": self.alpha,
            "epochs": self.epochs,
            "calibration_fraction": self.calibration_fraction,
            "random_state": self.random_state,
        }


def _coef(classifier: SGDClassifier, n_classes: int) -> np.ndarray:
    coef = np.asarray(classifier.coef_)
    # Binary problems give one row; expand to two symmetric rows so every head is (n_classes, n_features).
    return np.vstack([-coef[0] / 2, coef[0] / 2]) if n_classes == 2 else coef


def _intercept(classifier: SGDClassifier) -> np.ndarray:
    b = np.asarray(classifier.intercept_)
    return np.array([-b[0] / 2, b[0] / 2]) if b.shape[0] == 1 else b


def _scores(classifier: SGDClassifier, matrix: sp.csr_matrix) -> np.ndarray:
    scores = np.asarray(classifier.decision_function(matrix))
    return np.column_stack([-scores / 2, scores / 2]) if scores.ndim == 1 else scores


def get_trainer(name: str, **options: Any) -> Trainer:
    """Return the trainer called `name` ("sklearn" or "torch") built with `options`."""
    if name == "sklearn":
        return SklearnTrainer(**options)
    if name == "torch":
        from rakuten_mlops.training.torch_trainer import TorchTrainer  # torch is an optional extra

        return TorchTrainer(**options)
    raise ModelError(f"unknown trainer {name!r}; choose 'sklearn' or 'torch'")
