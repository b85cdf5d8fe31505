"""Each classifier family exports to a NumPy head that serves, calibrates and explains its predictions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from tests.tools import require_module

from rakuten_mlops.errors import ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig
from rakuten_mlops.training.base import ClassifierSpec, Family, TrainerOptions, prepare_labels
from rakuten_mlops.training.explain import explain
from rakuten_mlops.training.families import fit_head
from rakuten_mlops.training.model import LinearHead, MLPHead, TextClassifierModel
from rakuten_mlops.training.trainers import FamilyTrainer, make_trainer

if TYPE_CHECKING:
    from conftest import Listings

LINEAR = [Family.LINEAR_SVC, Family.LOGISTIC, Family.SGD_LOG, Family.SGD_HUBER, Family.COMPLEMENT_NB]


def fit(family: Family, train_set: Listings, features: FeatureConfig) -> TextClassifierModel:
    params = {"hidden": 16, "epochs": 6, "batch_size": 32, "lr": 0.02} if family is Family.TORCH_MLP else {}
    options = TrainerOptions(
        features=features, classifier=ClassifierSpec(family, params), temperature=0.5, device="cpu"
    )
    return make_trainer(family.trainer, options).fit(
        train_set.designations, train_set.descriptions, train_set.labels
    )


@pytest.mark.parametrize("family", LINEAR)
def test_linear_families_export_a_linear_head_whose_explanation_is_exact(
    family: Family, train_set: Listings, test_set: Listings, small_features: FeatureConfig
) -> None:
    model = fit(family, train_set, small_features)
    assert isinstance(model.head, LinearHead) and model.head.temperature == 0.5
    predicted = model.predict(test_set.designations, test_set.descriptions)
    assert np.mean([p == t for p, t in zip(predicted, test_set.labels, strict=True)]) >= 0.9
    designation, description = test_set.designations[0], test_set.descriptions[0]
    scores = model.decision_scores([designation], [description])[0]
    best = int(scores.argmax())
    every_term = explain(model, designation, description, k=100_000)
    # value x weight per term, plus the class's intercept, is the class score: nothing is approximated.
    assert sum(w for _, w in every_term) + float(model.head.intercept[best]) == pytest.approx(
        float(scores[best]), abs=1e-4
    )
    assert every_term[0][1] >= every_term[-1][1]


def test_the_torch_mlp_exports_an_mlp_head_that_explains(
    train_set: Listings, test_set: Listings, small_features: FeatureConfig
) -> None:
    require_module("torch", "make install-torch")
    model = fit(Family.TORCH_MLP, train_set, small_features)
    assert isinstance(model.head, MLPHead) and model.trainer == "torch"
    found = explain(model, test_set.designations[1], test_set.descriptions[1], k=5)
    assert found and all(name.count(":") >= 2 for name, _ in found)


def test_a_class_missing_from_a_subsample_is_never_predicted(
    train_set: Listings, small_features: FeatureConfig
) -> None:
    from rakuten_mlops.features.vectorizers import TextFeaturizer

    classes, y = prepare_labels(train_set.labels, len(train_set.labels))
    keep = y != 2  # drop every row of the third class
    matrix = TextFeaturizer(small_features).fit_transform(train_set.designations, train_set.descriptions)
    for family in (Family.LINEAR_SVC, Family.COMPLEMENT_NB):
        head = fit_head(ClassifierSpec(family), matrix[keep], y[keep], len(classes))
        assert head.scores(matrix).shape == (matrix.shape[0], len(classes))
        assert 2 not in set(head.scores(matrix).argmax(axis=1))


def test_a_family_of_the_other_trainer_is_refused(small_features: FeatureConfig) -> None:
    options = TrainerOptions(features=small_features, classifier=ClassifierSpec(Family.TORCH_MLP))
    with pytest.raises(ModelError, match="belongs to the torch trainer"):
        make_trainer("sklearn", options)
    with pytest.raises(ModelError, match="temperature must be positive"):
        FamilyTrainer(small_features, ClassifierSpec(Family.LINEAR_SVC), temperature=0.0)


def test_a_head_no_family_makes_cannot_be_explained_and_says_so(
    train_set: Listings, small_features: FeatureConfig
) -> None:
    model = fit(Family.SGD_LOG, train_set, small_features)
    model.head = object()  # type: ignore[assignment]
    with pytest.raises(ModelError, match="cannot explain a head of type object"):
        explain(model, "peluche ours", None)


def test_linear_svc_fitted_in_threads_is_the_same_model(
    train_set: Listings, small_features: FeatureConfig
) -> None:
    from rakuten_mlops.features.vectorizers import TextFeaturizer

    classes, y = prepare_labels(train_set.labels, len(train_set.labels))
    matrix = TextFeaturizer(small_features).fit_transform(train_set.designations, train_set.descriptions)
    spec = ClassifierSpec(Family.LINEAR_SVC, {"C": 0.5})
    alone, threaded = (fit_head(spec, matrix, y, len(classes), n_jobs=n) for n in (1, 2))
    assert np.allclose(alone.weights, threaded.weights, atol=1e-3)
    assert np.array_equal(alone.scores(matrix).argmax(axis=1), threaded.scores(matrix).argmax(axis=1))
