"""Trainers learn the synthetic classes; the torch device logic fails clearly without CUDA."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from tests.tools import require_module

from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig
from rakuten_mlops.training.base import TrainerOptions
from rakuten_mlops.training.model import LinearHead, MLPHead
from rakuten_mlops.training.trainers import SklearnTrainer, make_trainer

if TYPE_CHECKING:
    from conftest import Listings


def accuracy(predicted: list[str], truth: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))


def test_sklearn_trainer_learns_separable_classes(
    train_set: Listings, test_set: Listings, small_features: FeatureConfig
) -> None:
    model = SklearnTrainer(small_features).fit(
        train_set.designations, train_set.descriptions, train_set.labels
    )
    assert isinstance(model.head, LinearHead)
    assert model.classes == ["10", "1280", "2583", "40"]
    predicted = model.predict(test_set.designations, test_set.descriptions)
    assert accuracy(predicted, test_set.labels) >= 0.95
    assert 0.0 < model.head.temperature < 100.0


def test_sklearn_trainer_is_deterministic(train_set: Listings, small_features: FeatureConfig) -> None:
    first = SklearnTrainer(small_features, random_state=3).fit(
        train_set.designations, train_set.descriptions, train_set.labels
    )
    second = SklearnTrainer(small_features, random_state=3).fit(
        train_set.designations, train_set.descriptions, train_set.labels
    )
    assert isinstance(first.head, LinearHead) and isinstance(second.head, LinearHead)
    assert np.array_equal(first.head.weights, second.head.weights)


def test_integer_labels_become_strings(train_set: Listings, small_features: FeatureConfig) -> None:
    labels = [int(label) for label in train_set.labels]
    model = SklearnTrainer(small_features).fit(train_set.designations, train_set.descriptions, labels)
    assert model.classes == ["10", "1280", "2583", "40"]


def test_bad_labels_are_refused(train_set: Listings, small_features: FeatureConfig) -> None:
    trainer = SklearnTrainer(small_features)
    with pytest.raises(DataError, match="at least 2 classes"):
        trainer.fit(train_set.designations, train_set.descriptions, ["10"] * len(train_set.labels))
    with pytest.raises(DataError, match="row 1 is missing"):
        trainer.fit(train_set.designations[:3], train_set.descriptions[:3], ["10", None, "40"])
    with pytest.raises(DataError, match="one prdtypecode per listing"):
        trainer.fit(train_set.designations, train_set.descriptions, train_set.labels[:5])


def test_unknown_trainer_name_is_refused() -> None:
    with pytest.raises(ModelError, match="unknown trainer 'xgboost'"):
        make_trainer("xgboost")


def test_unknown_trainer_setting_is_refused_naming_the_trainer() -> None:
    with pytest.raises(ModelError, match="sklearn trainer does not take"):
        make_trainer("sklearn", TrainerOptions(settings={"learning_rate": 0.1}))


@pytest.mark.parametrize("hidden", [0, 16])
def test_torch_trainer_on_cpu_matches_sklearn_accuracy(
    hidden: int, train_set: Listings, test_set: Listings, small_features: FeatureConfig
) -> None:
    require_module("torch", "make install-torch")
    losses: list[tuple[int, float]] = []
    options = TrainerOptions(
        features=small_features, device="cpu", on_epoch=lambda epoch, loss: losses.append((epoch, loss)),
        settings={"hidden": hidden, "epochs": 8, "batch_size": 32, "lr": 0.02},
    )  # fmt: skip
    trainer = make_trainer("torch", options)
    model = trainer.fit(train_set.designations, train_set.descriptions, train_set.labels)
    assert isinstance(model.head, MLPHead if hidden else LinearHead)
    assert [epoch for epoch, _ in losses] == list(range(1, 9))
    assert losses[-1][1] < losses[0][1]
    assert accuracy(model.predict(test_set.designations, test_set.descriptions), test_set.labels) >= 0.95
    assert model.params()["trainer.device"] == "cpu"


def test_resolve_device_falls_back_to_cpu_and_refuses_missing_cuda() -> None:
    torch = require_module("torch", "make install-torch")
    from rakuten_mlops.training.torch_trainer import resolve_device

    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if torch.cuda.is_available():
        assert resolve_device("auto") == "cuda"
        assert resolve_device("cuda") == "cuda"
    else:
        assert resolve_device("auto") == "cpu"
        with pytest.raises(ModelError, match="CUDA is not available"):
            resolve_device("cuda")
