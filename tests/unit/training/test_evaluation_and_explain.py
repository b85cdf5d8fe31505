"""Evaluation numbers agree with sklearn.metrics; explanations name the obvious token."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from rakuten_mlops.errors import DataError
from rakuten_mlops.features.vectorizers import FeatureConfig
from rakuten_mlops.training.evaluation import evaluate, score_predictions, write_evaluation_artifacts
from rakuten_mlops.training.explain import explain, top_terms
from rakuten_mlops.training.model import TextClassifierModel
from rakuten_mlops.training.trainers import SklearnTrainer

if TYPE_CHECKING:
    from conftest import Listings

TRUTH = ["a", "a", "a", "b", "b", "c", "c", "c", "c", "d"]
PRED = ["a", "b", "a", "b", "c", "c", "c", "a", "c", "c"]


@pytest.fixture(scope="module")
def model(train_set: Listings, small_features: FeatureConfig) -> TextClassifierModel:
    return SklearnTrainer(small_features).fit(
        train_set.designations, train_set.descriptions, train_set.labels
    )


def test_scores_match_sklearn_metrics_on_a_known_case() -> None:
    result = score_predictions(TRUTH, PRED)
    assert result.weighted_f1 == pytest.approx(f1_score(TRUTH, PRED, average="weighted"))
    assert result.macro_f1 == pytest.approx(f1_score(TRUTH, PRED, average="macro"))
    assert result.accuracy == pytest.approx(accuracy_score(TRUTH, PRED)) == pytest.approx(0.6)
    assert result.per_class.loc["a", "recall"] == pytest.approx(2 / 3)
    assert result.per_class.loc["c", "precision"] == pytest.approx(3 / 5)
    assert result.per_class["support"].tolist() == [3, 2, 4, 1]
    assert result.confusion.loc["d", "c"] == 1 and result.confusion.to_numpy().sum() == 10
    assert result.top_confusions[0] == ("a", "b", 1) and len(result.top_confusions) == 4


def test_empty_or_mismatched_inputs_are_refused() -> None:
    with pytest.raises(DataError, match="empty"):
        score_predictions([], [])
    with pytest.raises(DataError, match="predictions"):
        score_predictions(["a"], ["a", "b"])


def test_evaluate_scores_a_trained_model(model: TextClassifierModel, test_set: Listings) -> None:
    result = evaluate(model, test_set.designations, test_set.descriptions, test_set.labels)
    predicted = model.predict(test_set.designations, test_set.descriptions)
    assert result.weighted_f1 == pytest.approx(f1_score(test_set.labels, predicted, average="weighted"))
    assert result.weighted_f1 > 0.9 and result.predict_seconds_per_1k > 0
    assert list(result.confusion.index) == model.classes == list(result.confusion.columns)
    assert set(result.metrics()) == {"weighted_f1", "macro_f1", "accuracy", "predict_seconds_per_1k"}


def test_evaluation_artifacts_are_written(tmp_path: Path) -> None:
    written = write_evaluation_artifacts(score_predictions(TRUTH, PRED), tmp_path / "eval")
    names = {p.name for p in written}
    assert names == {
        "confusion_matrix.csv",
        "confusion_matrix.png",
        "classification_report.csv",
        "top_confusions.csv",
    }
    confusion = pd.read_csv(tmp_path / "eval" / "confusion_matrix.csv", index_col=0)
    assert confusion.loc["a", "b"] == 1
    assert (tmp_path / "eval" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    top = pd.read_csv(tmp_path / "eval" / "top_confusions.csv")
    assert list(top.columns) == ["true", "predicted", "count"]


def test_top_terms_name_each_class_vocabulary(model: TextClassifierModel) -> None:
    terms = top_terms(model, k=15)
    assert set(terms) == set(model.classes)
    pool_terms = " ".join(name for name, _ in terms["2583"])
    assert "piscine" in pool_terms or "pompe" in pool_terms
    weights = [w for _, w in terms["2583"]]
    assert weights == sorted(weights, reverse=True) and len(weights) == 15


def test_explain_names_the_obvious_token(model: TextClassifierModel) -> None:
    reasons = explain(model, "piscine lot neuf", None, k=5)
    assert reasons[0][0].startswith("listing:word:") and "piscine" in reasons[0][0]
    assert reasons[0][1] > 0 and len(reasons) == 5
    assert explain(model, "", None) == []
