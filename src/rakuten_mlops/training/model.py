"""The saved model: featurizer + numpy head + class labels; inference needs no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp

from rakuten_mlops.errors import ModelError
from rakuten_mlops.features.vectorizers import TextColumn, TextFeaturizer

FORMAT_VERSION = 1


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of a (n, n_classes) score matrix, numerically stable."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return np.asarray(z)


@dataclass
class LinearHead:
    """Linear scores X @ coef.T + intercept; weights kept transposed for fast sparse products."""

    weights: np.ndarray  # (n_features, n_classes), C-contiguous float32
    intercept: np.ndarray  # (n_classes,)
    temperature: float = 1.0

    @classmethod
    def from_coef(cls, coef: np.ndarray, intercept: np.ndarray, temperature: float = 1.0) -> LinearHead:
        """Build from sklearn's (n_classes, n_features) layout."""
        weights = np.ascontiguousarray(np.asarray(coef, dtype=np.float32).T)
        return cls(weights, np.asarray(intercept, dtype=np.float32).ravel(), float(temperature))

    @property
    def coef(self) -> np.ndarray:
        """The (n_classes, n_features) coefficient matrix."""
        return self.weights.T

    @property
    def n_features(self) -> int:
        """Number of input columns."""
        return int(self.weights.shape[0])

    def scores(self, features: sp.csr_matrix) -> np.ndarray:
        """Raw class scores (logits)."""
        return np.asarray(features @ self.weights + self.intercept)


@dataclass
class MLPHead:
    """One hidden ReLU layer: relu(X @ w1 + b1) @ w2 + b2."""

    w1: np.ndarray  # (n_features, hidden)
    b1: np.ndarray  # (hidden,)
    w2: np.ndarray  # (hidden, n_classes)
    b2: np.ndarray  # (n_classes,)
    temperature: float = 1.0

    @property
    def n_features(self) -> int:
        """Number of input columns."""
        return int(self.w1.shape[0])

    def hidden(self, features: sp.csr_matrix) -> np.ndarray:
        """Hidden activations after ReLU."""
        return np.asarray(np.maximum(features @ self.w1 + self.b1, 0.0))

    def scores(self, features: sp.csr_matrix) -> np.ndarray:
        """Raw class scores (logits)."""
        return np.asarray(self.hidden(features) @ self.w2 + self.b2)


Head = LinearHead | MLPHead


@dataclass
class TextClassifierModel:
    """A trained product-type classifier; labels are strings such as "2583"."""

    featurizer: TextFeaturizer
    head: Head
    classes: list[str]
    trainer: str = "unknown"
    trainer_params: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        n_out = self.head.intercept.shape[0] if isinstance(self.head, LinearHead) else self.head.b2.shape[0]
        if n_out != len(self.classes):
            raise ModelError(f"head has {n_out} outputs but {len(self.classes)} classes were given")
        if self.featurizer.n_features != self.head.n_features:
            raise ModelError(
                f"featurizer makes {self.featurizer.n_features} columns but the head expects "
                f"{self.head.n_features}; retrain the model"
            )

    def features(self, designations: TextColumn, descriptions: TextColumn | None = None) -> sp.csr_matrix:
        """Feature matrix of listings (descriptions default to empty)."""
        if descriptions is None:
            descriptions = [None] * len(designations)
        return self.featurizer.transform(designations, descriptions)

    def decision_scores(self, designations: TextColumn, descriptions: TextColumn | None = None) -> np.ndarray:
        """Raw class scores before softmax, (n, n_classes)."""
        return self.head.scores(self.features(designations, descriptions))

    def predict_proba(self, designations: TextColumn, descriptions: TextColumn | None = None) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in `classes` order, rows summing to 1."""
        scores = self.decision_scores(designations, descriptions).astype(np.float64)
        return softmax(scores, self.head.temperature)

    def predict(self, designations: TextColumn, descriptions: TextColumn | None = None) -> list[str]:
        """Most probable class label of each listing."""
        best = self.decision_scores(designations, descriptions).argmax(axis=1)
        return [self.classes[i] for i in best]

    def top_k(
        self, designations: TextColumn, descriptions: TextColumn | None = None, k: int = 3
    ) -> list[list[tuple[str, float]]]:
        """The k most probable (label, probability) pairs of each listing, best first."""
        if k < 1:
            raise ModelError(f"k must be at least 1, got {k}")
        proba = self.predict_proba(designations, descriptions)
        k = min(k, proba.shape[1])
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return [
            [(self.classes[j], float(row[j])) for j in idx] for row, idx in zip(proba, order, strict=True)
        ]

    def params(self) -> dict[str, Any]:
        """Flat description of the model for MLflow `log_params`."""
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "trainer": self.trainer,
            "head": "mlp" if isinstance(self.head, MLPHead) else "linear",
            "n_classes": len(self.classes),
            "n_features": self.head.n_features,
            "temperature": round(self.head.temperature, 6),
        }
        if isinstance(self.head, MLPHead):
            out["hidden"] = int(self.head.w1.shape[1])
        out.update({f"features.{k}": v for k, v in self.featurizer.config.as_dict().items()})
        out.update({f"trainer.{k}": v for k, v in self.trainer_params.items()})
        return out

    def save(self, path: Path) -> Path:
        """Write the model to one joblib file (parent folders are created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"format_version": self.format_version, "model": self}, path, compress=3)
        return path

    @classmethod
    def load(cls, path: Path) -> TextClassifierModel:
        """Read a model written by `save`, checking its format version."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"model file {path} does not exist; train a model or fix the path")
        try:
            payload = joblib.load(path)
        except Exception as exc:  # joblib raises many types for a corrupt or foreign file
            raise ModelError(f"model file {path} cannot be read ({exc}); it is not a saved model") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("model"), cls):
            raise ModelError(f"model file {path} does not hold a TextClassifierModel")
        version = payload.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelError(
                f"model file {path} has format_version {version}, this code reads {FORMAT_VERSION}; "
                "retrain the model with this version of rakuten_mlops"
            )
        model: TextClassifierModel = payload["model"]
        return model
