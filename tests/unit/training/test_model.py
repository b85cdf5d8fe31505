"""TextClassifierModel: probabilities, persistence, and behavioural tests on a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np
import pytest

from rakuten_mlops.errors import ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig
from rakuten_mlops.training.model import TextClassifierModel
from rakuten_mlops.training.trainers import SklearnTrainer

if TYPE_CHECKING:
    from conftest import Listings


@pytest.fixture(scope="module")
def model(train_set: Listings, small_features: FeatureConfig) -> TextClassifierModel:
    return SklearnTrainer(small_features).fit(
        train_set.designations, train_set.descriptions, train_set.labels
    )


def test_probabilities_are_a_distribution_in_class_order(
    model: TextClassifierModel, test_set: Listings
) -> None:
    proba = model.predict_proba(test_set.designations, test_set.descriptions)
    assert proba.shape == (len(test_set.labels), len(model.classes))
    assert np.allclose(proba.sum(axis=1), 1.0) and (proba >= 0).all()
    assert [model.classes[i] for i in proba.argmax(axis=1)] == model.predict(
        test_set.designations, test_set.descriptions
    )


def test_top_k_is_sorted_and_starts_with_the_prediction(model: TextClassifierModel) -> None:
    (ranked,) = model.top_k(["piscine pompe filtre"], [None], k=3)
    assert len(ranked) == 3 and ranked[0][0] == "2583"
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
    assert len(model.top_k(["livre"], k=10)[0]) == len(model.classes)


def test_save_and_load_round_trip_gives_identical_probabilities(
    model: TextClassifierModel, test_set: Listings, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "nested" / "model.joblib")
    loaded = TextClassifierModel.load(path)
    before = model.predict_proba(test_set.designations, test_set.descriptions)
    after = loaded.predict_proba(test_set.designations, test_set.descriptions)
    assert np.array_equal(before, after)
    assert loaded.classes == model.classes and loaded.params() == model.params()


def test_load_refuses_other_format_versions_and_foreign_files(
    model: TextClassifierModel, tmp_path: Path
) -> None:
    joblib.dump({"format_version": 999, "model": model}, tmp_path / "future.joblib")
    with pytest.raises(ModelError, match="format_version 999"):
        TextClassifierModel.load(tmp_path / "future.joblib")
    joblib.dump({"weights": [1, 2]}, tmp_path / "foreign.joblib")
    with pytest.raises(ModelError, match="does not hold a TextClassifierModel"):
        TextClassifierModel.load(tmp_path / "foreign.joblib")
    (tmp_path / "garbage.joblib").write_text("not a pickle")
    with pytest.raises(ModelError, match="cannot be read"):
        TextClassifierModel.load(tmp_path / "garbage.joblib")
    with pytest.raises(ModelError, match="does not exist"):
        TextClassifierModel.load(tmp_path / "missing.joblib")


def test_params_describe_the_model_for_mlflow(model: TextClassifierModel) -> None:
    params = model.params()
    assert params["head"] == "linear" and params["n_classes"] == 4 and params["trainer"] == "sklearn"
    assert params["features.listing_weight"] == 1.0 and params["trainer.loss"] == model.trainer_params["loss"]


# Behavioural tests (Made-With-ML style): invariance and minimum functionality.


@pytest.mark.parametrize(
    ("plain", "noisy"),
    [
        ("peluche ours doudou", "PELUCHE Ours DOUDOU"),
        ("peluche ours doudou", "<p><b>peluche</b> ours<br/>doudou</p>"),
        ("peluche ours doudou", "   peluche \t ours\n\n doudou   "),
        ("peluche ours doudou", "peluche&nbsp;ours doudou"),
    ],
)
def test_prediction_is_invariant_to_case_markup_and_spacing(
    model: TextClassifierModel, plain: str, noisy: str
) -> None:
    assert np.allclose(model.predict_proba([plain], [plain]), model.predict_proba([noisy], [noisy]))


@pytest.mark.parametrize(
    ("designation", "expected"),
    [
        ("Roman de poche, édition originale", "10"),
        ("Peluche ours pour enfant", "1280"),
        ("Pompe et filtre pour piscine", "2583"),
        ("Manette pour console Nintendo", "40"),
    ],
)
def test_minimum_functionality_on_clear_listings(
    model: TextClassifierModel, designation: str, expected: str
) -> None:
    assert model.predict([designation], [None]) == [expected]
    assert model.top_k([designation], [""], k=1)[0][0][1] > 0.5
