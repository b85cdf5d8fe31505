"""A task's metric on held-out rows, and the gate's paired comparison of two models on the same rows.

Scores are reported in the metric's own units (an RMSE is an RMSE); the comparison turns errors
around (`better`), so that its difference is always "how much better the challenger is".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from rakuten_mlops.gate import PairedComparison, compare_by

LOWER_IS_BETTER = {"rmse", "mae", "log_loss"}
LABELS = {
    "weighted_f1": "weighted F1",
    "accuracy": "accuracy",
    "roc_auc": "ROC AUC",
    "log_loss": "log loss",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R2",
}
PROBABILITY_METRICS = {"roc_auc", "log_loss"}


@dataclass(frozen=True)
class Answers:
    """One model's answers on the held-out rows: predictions, and class probabilities for a classifier."""

    predictions: np.ndarray
    probabilities: np.ndarray | None = None  # rows x classes, in `classes` order
    classes: tuple[str, ...] = ()


def score(metric: str, truth: np.ndarray, answers: Answers) -> float:
    """The metric of these answers on these rows, in its own units."""
    p = answers.predictions
    if metric == "weighted_f1":
        return float(f1_score(truth, p, average="weighted", zero_division=0))
    if metric == "accuracy":
        return float(accuracy_score(truth, p))
    if metric == "rmse":
        return float(mean_squared_error(truth, p) ** 0.5)
    if metric == "mae":
        return float(mean_absolute_error(truth, p))
    if metric == "r2":
        return float(r2_score(truth, p))
    probabilities = answers.probabilities
    if probabilities is None:
        raise ValueError(f"the {LABELS[metric]} needs class probabilities")
    classes = list(answers.classes)
    if metric == "log_loss":
        return float(log_loss(truth, probabilities, labels=classes))
    if metric == "roc_auc":
        if len(classes) == 2:
            return float(roc_auc_score(truth == classes[1], probabilities[:, 1]))
        return float(
            roc_auc_score(truth, probabilities, multi_class="ovr", average="weighted", labels=classes)
        )
    raise ValueError(f"unknown metric {metric!r}")


def better(metric: str, value: float) -> float:
    """The score turned so that higher is better (errors negated)."""
    return -value if metric in LOWER_IS_BETTER else value


def show(metric: str, value: float) -> str:
    """'RMSE 58.61' or 'weighted F1 0.9733'."""
    digits = 4 if metric not in {"rmse", "mae"} else 6
    return f"{LABELS[metric]} {value:.{digits}g}"


def paired(
    metric: str,
    truth: np.ndarray,
    challenger: Answers,
    champion: Answers,
    *,
    confidence: float = 0.95,
    samples: int = 1_000,
    seed: int = 0,
) -> PairedComparison:
    """Paired bootstrap of the metric (higher is better) of two models' answers on the same rows."""

    def on(rows: np.ndarray) -> tuple[float, float]:
        def one(answers: Answers) -> float:
            probabilities = answers.probabilities
            subset = Answers(
                answers.predictions[rows],
                None if probabilities is None else probabilities[rows],
                answers.classes,
            )
            try:
                return better(metric, score(metric, truth[rows], subset))
            except ValueError:  # a resample without one of the classes the metric needs
                return float("nan")

        return one(challenger), one(champion)

    scorer: Callable[[np.ndarray], tuple[float, float]] = on
    return compare_by(scorer, len(truth), confidence=confidence, samples=samples, seed=seed)
