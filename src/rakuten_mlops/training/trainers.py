"""Trainers turn (designation, description, label) columns into a TextClassifierModel.

`make_trainer(name, options)` is the one way to build one: the fixed `sklearn` (SGD) and `torch`
trainers that `train --search off` runs, and `FamilyTrainer`, the configuration a search chose.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rakuten_mlops.errors import ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig, TextColumn, TextFeaturizer
from rakuten_mlops.training.base import (
    ClassifierSpec,
    Family,
    Trainer,
    TrainerOptions,
    fit_temperature,
    holdout_split,
    prepare_labels,
)
from rakuten_mlops.training.choices import TrainerName
from rakuten_mlops.training.families import fit_head
from rakuten_mlops.training.model import TextClassifierModel


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
        if loss not in {"log_loss", "modified_huber"}:
            raise ModelError(f"SklearnTrainer's loss is log_loss or modified_huber, not {loss!r}")
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

    @property
    def spec(self) -> ClassifierSpec:
        """The SGD family and settings this trainer fits."""
        family = Family.SGD_LOG if self.loss == "log_loss" else Family.SGD_HUBER
        return ClassifierSpec(family, {"alpha": self.alpha, "epochs": self.epochs})

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
        seed, n_jobs = self.random_state, self.n_jobs
        if self.calibration_fraction > 0:
            fit_rows, calib_rows = holdout_split(y, self.calibration_fraction, seed)
            if len(calib_rows) and len(np.unique(y[fit_rows])) == len(classes):
                probe = fit_head(
                    self.spec, matrix[fit_rows], y[fit_rows], len(classes), seed=seed, n_jobs=n_jobs
                )
                temperature = fit_temperature(probe.scores(matrix[calib_rows]), y[calib_rows])
        head = fit_head(self.spec, matrix, y, len(classes), seed=seed, n_jobs=n_jobs)
        head.temperature = temperature
        self.timings["classifier_s"] = time.perf_counter() - start
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


class FamilyTrainer:
    """A featurizer configuration and one classifier family, with a temperature fitted elsewhere.

    The search measures a configuration on the validation split, fits the temperature there, and
    refits the winner with this trainer on train + validation.
    """

    def __init__(
        self,
        features: FeatureConfig,
        classifier: ClassifierSpec,
        *,
        temperature: float = 1.0,
        seed: int = 42,
        device: str = "cpu",
    ) -> None:
        if temperature <= 0:
            raise ModelError(f"temperature must be positive, got {temperature}")
        self.features = features
        self.classifier = classifier
        self.temperature = temperature
        self.seed = seed
        self.device = device
        self.name = classifier.family.trainer.value
        self.timings: dict[str, float] = {}

    def fit(
        self, designations: TextColumn, descriptions: TextColumn, labels: Sequence[object]
    ) -> TextClassifierModel:
        """Featurize all rows, fit the family, apply the given temperature."""
        classes, y = prepare_labels(labels, len(designations))
        start = time.perf_counter()
        featurizer = TextFeaturizer(self.features)
        matrix = featurizer.fit_transform(designations, descriptions)
        self.timings["featurize_s"] = time.perf_counter() - start
        start = time.perf_counter()
        head = fit_head(
            self.classifier, matrix, y, len(classes), seed=self.seed, device=self.device, n_jobs=-1
        )
        head.temperature = self.temperature
        self.timings["classifier_s"] = time.perf_counter() - start
        return TextClassifierModel(featurizer, head, classes, trainer=self.name, trainer_params=self.params())

    def params(self) -> dict[str, Any]:
        """Trainer settings for MLflow: the family and its settings."""
        return {**self.classifier.as_dict(), "seed": self.seed}


def make_trainer(name: TrainerName | str, options: TrainerOptions | None = None) -> Trainer:
    """The trainer called `name` ("sklearn" or "torch") built from `options`: the one factory.

    With `options.classifier` (a search's winner) it is that family's FamilyTrainer; otherwise the
    fixed SGD (`sklearn`) or torch trainer, with `options.settings` as its own knobs.
    """
    options = options or TrainerOptions()
    try:
        chosen = TrainerName(name)
    except ValueError:
        raise ModelError(f"unknown trainer {name!r}; choose 'sklearn' or 'torch'") from None
    features = options.features or FeatureConfig()
    if options.classifier is not None:
        if options.classifier.family.trainer is not chosen:
            raise ModelError(
                f"family {options.classifier.family.value} belongs to the "
                f"{options.classifier.family.trainer.value} trainer, not {chosen.value}"
            )
        return FamilyTrainer(
            features,
            options.classifier,
            temperature=options.temperature,
            seed=options.seed,
            device=options.device,
        )
    settings = dict(options.settings)
    try:
        if chosen is TrainerName.SKLEARN:
            return SklearnTrainer(features, random_state=options.seed, **settings)
        from rakuten_mlops.training.torch_trainer import TorchTrainer  # torch is an optional extra

        return TorchTrainer(
            features, device=options.device, seed=options.seed, on_epoch=options.on_epoch, **settings
        )
    except TypeError as exc:  # an unknown setting name
        raise ModelError(f"the {chosen.value} trainer does not take these settings: {exc}") from None
