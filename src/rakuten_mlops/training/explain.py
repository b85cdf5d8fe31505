"""Readable explanations: the strongest terms per class, and why one listing got its class.

Linear head (LinearSVC, logistic regression, SGD, ComplementNB, torch softmax regression): a
feature's contribution is value × weight, exact for the class score (with the intercept).
MLP head: `top_terms` ranks the effective input→class weights W1 @ W2 (the network with
every ReLU open, a global approximation); `explain` uses gradient × input at the listing,
i.e. value × (W1[:, active] @ W2[active, c]) over the hidden units active for that listing,
which is exact up to the hidden biases.
"""

from __future__ import annotations

import numpy as np

from rakuten_mlops.errors import ModelError
from rakuten_mlops.training.model import LinearHead, MLPHead, TextClassifierModel


def _effective_weights(model: TextClassifierModel) -> np.ndarray:
    head = model.head
    if isinstance(head, LinearHead):
        return head.weights
    if isinstance(head, MLPHead):
        return np.asarray(head.w1 @ head.w2)
    raise ModelError(f"cannot explain a head of type {type(head).__name__}")


def top_terms(model: TextClassifierModel, k: int = 15) -> dict[str, list[tuple[str, float]]]:
    """The k features with the largest positive weight for each class, best first."""
    if k < 1:
        raise ModelError(f"k must be at least 1, got {k}")
    weights = _effective_weights(model)  # (n_features, n_classes)
    k = min(k, weights.shape[0])
    out: dict[str, list[tuple[str, float]]] = {}
    for column, label in enumerate(model.classes):
        scores = weights[:, column]
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        out[label] = [(model.featurizer.feature_name(int(i)), float(scores[i])) for i in best]
    return out


def explain(
    model: TextClassifierModel, designation: str, description: str | None = None, k: int = 10
) -> list[tuple[str, float]]:
    """Features that pushed this listing towards its predicted class most, as (name, contribution)."""
    if k < 1:
        raise ModelError(f"k must be at least 1, got {k}")
    if not isinstance(model.head, LinearHead | MLPHead):
        raise ModelError(
            f"cannot explain a head of type {type(model.head).__name__}: explanations need a linear or MLP head"
        )
    row = model.features([designation], [description]).tocsr()
    indices, values = row.indices, row.data.astype(np.float64)
    if len(indices) == 0:
        return []
    head = model.head
    predicted = int(head.scores(row).argmax(axis=1)[0])
    if isinstance(head, LinearHead):
        weights = head.weights[indices, predicted].astype(np.float64)
    elif isinstance(head, MLPHead):
        active = head.hidden(row)[0] > 0
        weights = head.w1[indices][:, active] @ head.w2[active, predicted]
    else:
        raise ModelError(f"cannot explain a head of type {type(head).__name__}")
    contributions = values * weights
    order = np.argsort(-contributions, kind="stable")[:k]
    return [(model.featurizer.feature_name(int(indices[i])), float(contributions[i])) for i in order]
