"""Evaluation of a TextClassifierModel: F1 scores, per-class report, confusions, speed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from rakuten_mlops.errors import DataError
from rakuten_mlops.features.vectorizers import TextColumn
from rakuten_mlops.training.model import TextClassifierModel


@dataclass
class EvaluationResult:
    """Scores of one model on one labelled set; weighted_f1 is the metric that decides."""

    weighted_f1: float
    macro_f1: float
    accuracy: float
    n_rows: int
    per_class: pd.DataFrame  # index: label; columns precision, recall, f1, support
    confusion: pd.DataFrame  # rows: true label, columns: predicted label
    top_confusions: list[tuple[str, str, int]] = field(default_factory=list)
    predict_seconds_per_1k: float = 0.0

    def metrics(self) -> dict[str, float]:
        """Scalar metrics for MLflow `log_metrics`."""
        return {
            "weighted_f1": self.weighted_f1,
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "predict_seconds_per_1k": self.predict_seconds_per_1k,
        }


def score_predictions(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None, top: int = 10
) -> EvaluationResult:
    """Compute every score from true and predicted labels (strings)."""
    if len(y_true) != len(y_pred):
        raise DataError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if len(y_true) == 0:
        raise DataError("cannot evaluate on an empty set; give at least one labelled listing")
    truth = [str(v) for v in y_true]
    pred = [str(v) for v in y_pred]
    order = sorted(set(labels or []) | set(truth) | set(pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, pred, labels=order, zero_division=0
    )
    per_class = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(int)},
        index=pd.Index(order, name="label"),
    )
    matrix = confusion_matrix(truth, pred, labels=order)
    confusion = pd.DataFrame(
        matrix, index=pd.Index(order, name="true"), columns=pd.Index(order, name="predicted")
    )
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:top]
    pairs = [np.unravel_index(i, off.shape) for i in flat]
    top_confusions = [(order[i], order[j], int(off[i, j])) for i, j in pairs if off[i, j] > 0]
    present = sorted(set(truth))
    return EvaluationResult(
        weighted_f1=float(f1_score(truth, pred, labels=present, average="weighted", zero_division=0)),
        macro_f1=float(f1_score(truth, pred, labels=present, average="macro", zero_division=0)),
        accuracy=float(accuracy_score(truth, pred)),
        n_rows=len(truth),
        per_class=per_class,
        confusion=confusion,
        top_confusions=top_confusions,
    )


def evaluate(
    model: TextClassifierModel, designations: TextColumn, descriptions: TextColumn, labels: Sequence[object]
) -> EvaluationResult:
    """Predict the listings and score the predictions against `labels`."""
    if len(labels) != len(designations):
        raise DataError(f"{len(labels)} labels for {len(designations)} listings; give one label per listing")
    start = time.perf_counter()
    predicted = model.predict(designations, descriptions)
    elapsed = time.perf_counter() - start
    result = score_predictions([str(v) for v in labels], predicted, labels=model.classes)
    result.predict_seconds_per_1k = elapsed / max(len(predicted), 1) * 1000
    return result


def write_evaluation_artifacts(result: EvaluationResult, folder: Path) -> list[Path]:
    """Write confusion_matrix.csv/.png, classification_report.csv and top_confusions.csv."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    path = folder / "confusion_matrix.csv"
    result.confusion.to_csv(path)
    written.append(path)
    path = folder / "classification_report.csv"
    result.per_class.to_csv(path)
    written.append(path)
    path = folder / "top_confusions.csv"
    pd.DataFrame(result.top_confusions, columns=["true", "predicted", "count"]).to_csv(path, index=False)
    written.append(path)
    png = _plot_confusion(result.confusion, folder / "confusion_matrix.png")
    if png is not None:
        written.append(png)
    return written


def _plot_confusion(confusion: pd.DataFrame, path: Path) -> Path | None:
    """Row-normalised confusion heatmap; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    values = confusion.to_numpy(dtype=float)
    rates = values / np.clip(values.sum(axis=1, keepdims=True), 1, None)
    size = max(6.0, 0.35 * len(confusion))
    fig: Any
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(confusion.columns)), [str(c) for c in confusion.columns], rotation=90)
        ax.set_yticks(range(len(confusion.index)), [str(c) for c in confusion.index])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("Confusion matrix (row-normalised)")
        fig.colorbar(image, ax=ax, fraction=0.046)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
