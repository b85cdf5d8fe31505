"""Classifier families over a TF-IDF matrix, each exported to a NumPy head serving already knows.

Every scikit-learn family here is linear in the features, so it becomes a `LinearHead` (scores =
X @ W + b) and its explanations are exact term contributions: LinearSVC, logistic regression, SGD
(log or modified Huber loss) and ComplementNB (whose joint log-likelihood is X @ feature_log_prob_.T).
The torch MLP becomes an `MLPHead`. Probabilities come from a temperature fitted on validation.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from rakuten_mlops.errors import ModelError
from rakuten_mlops.training.base import ClassifierSpec, EpochCallback, Family
from rakuten_mlops.training.model import Head, LinearHead

# A class the fit never saw (absent from a subsample) can never win: its score is this far below.
_ABSENT_SCORE = -1e4


def _sklearn_classifier(spec: ClassifierSpec, seed: int, n_jobs: int) -> Any:
    p = dict(spec.params)
    if spec.family is Family.LINEAR_SVC:
        # tol 1e-3 instead of 1e-4: two thirds of the fit time on WordNet's char n-grams, the same F1 (0.8030).
        return LinearSVC(
            C=float(p.get("C", 0.5)), tol=float(p.get("tol", 1e-3)), max_iter=int(p.get("max_iter", 1000)),
            random_state=seed,
        )  # fmt: skip
    if spec.family is Family.LOGISTIC:
        # Multinomial SAG: lbfgs spent minutes in its own bookkeeping over n_features x n_classes
        # weights (217 s against 13 s on WordNet for the same F1).
        return LogisticRegression(
            C=float(p.get("C", 30.0)), solver="sag", max_iter=int(p.get("max_iter", 20)), tol=1e-3,
            random_state=seed,
        )  # fmt: skip
    if spec.family in (Family.SGD_LOG, Family.SGD_HUBER):
        return SGDClassifier(
            loss="log_loss" if spec.family is Family.SGD_LOG else "modified_huber",
            alpha=float(p.get("alpha", 5e-6)),
            max_iter=int(p.get("epochs", 5)),
            tol=None,  # a fixed number of epochs: deterministic and bounded in time
            random_state=seed,
            n_jobs=n_jobs,
        )
    if spec.family is Family.COMPLEMENT_NB:
        return ComplementNB(alpha=float(p.get("alpha", 0.3)), norm=bool(p.get("norm", 0)))
    raise ModelError(f"{spec.family.value} is not a scikit-learn family")


def linear_head(classifier: Any, n_classes: int) -> LinearHead:
    """A fitted linear scikit-learn classifier as a LinearHead over all `n_classes` classes."""
    if isinstance(classifier, ComplementNB):
        coef = np.asarray(classifier.feature_log_prob_)
        intercept = np.zeros(coef.shape[0])
    else:
        coef = np.asarray(classifier.coef_)
        intercept = np.asarray(classifier.intercept_, dtype=np.float64).ravel()
    seen = np.asarray(classifier.classes_, dtype=np.int64)
    if coef.shape[0] == 1:  # a two-class fit gives one row: split it into two symmetric rows
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    full_coef = np.zeros((n_classes, coef.shape[1]), dtype=np.float32)
    full_intercept = np.full(n_classes, _ABSENT_SCORE, dtype=np.float32)
    full_coef[seen] = coef
    full_intercept[seen] = intercept
    return LinearHead.from_coef(full_coef, full_intercept)


def fit_head(
    spec: ClassifierSpec,
    matrix: sp.csr_matrix,
    y: np.ndarray,
    n_classes: int,
    *,
    seed: int = 42,
    device: str = "cpu",
    n_jobs: int = 1,
    on_epoch: EpochCallback | None = None,
) -> Head:
    """Fit one family on (matrix, y) and return its uncalibrated head (temperature 1)."""
    if len(np.unique(y)) < 2:
        raise ModelError("a classifier needs rows of at least 2 classes")
    if spec.family is Family.TORCH_MLP:
        from rakuten_mlops.training.torch_trainer import TorchSettings, train_head  # torch is optional

        settings = TorchSettings.from_mapping(spec.params)
        return train_head(matrix, y, n_classes, settings, seed=seed, device=device, on_epoch=on_epoch)
    if spec.family is Family.LINEAR_SVC and n_jobs != 1 and len(np.unique(y)) > 2:
        return _one_vs_rest_in_threads(spec, matrix, y, n_classes, seed, n_jobs)
    classifier = _sklearn_classifier(spec, seed, n_jobs)
    with warnings.catch_warnings():
        # A capped number of iterations is a choice of the search, not a fault to report per fit.
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(matrix, y)
    return linear_head(classifier, n_classes)


def _one_vs_rest_in_threads(
    spec: ClassifierSpec, matrix: sp.csr_matrix, y: np.ndarray, n_classes: int, seed: int, n_jobs: int
) -> LinearHead:
    """LinearSVC's one-vs-rest problems fitted in threads: liblinear runs one class at a time and
    releases the GIL, so a refit on 2 cores takes half the time; each class solves the same problem
    as inside LinearSVC."""
    seen = np.unique(y)

    def one(label: int) -> tuple[np.ndarray, float]:
        binary = _sklearn_classifier(spec, seed, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            binary.fit(matrix, (y == label).astype(np.int64))
        return np.asarray(binary.coef_[0]), float(binary.intercept_[0])

    fitted = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(one)(int(label)) for label in seen)
    coef = np.zeros((n_classes, matrix.shape[1]), dtype=np.float32)
    intercept = np.full(n_classes, _ABSENT_SCORE, dtype=np.float32)
    for label, (weights, bias) in zip(seen, fitted, strict=True):
        coef[label], intercept[label] = weights, bias
    return LinearHead.from_coef(coef, intercept)


def torch_available() -> bool:
    """Whether the torch MLP family can run here (the optional torch extra is installed), without importing it."""
    return importlib.util.find_spec("torch") is not None
