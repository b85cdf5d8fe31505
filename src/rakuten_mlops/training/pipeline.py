"""The steps of the training pipeline as plain functions; flows/pipeline_flow.py orchestrates them.

load the labelled catalogue -> search candidates on train, score them on validation (or, with
search off, fit the fixed trainer on train) -> refit the winner on train + validation -> evaluate
on test -> log params, metrics, artifacts, the search's leaderboard, a reference sample and the
model to MLflow -> register a version (alias "challenger") -> evaluate the champion on the same
test split -> gate -> promote when the challenger is at least as good.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn.metrics import f1_score

from rakuten_mlops import progress, tracking
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError
from rakuten_mlops.gate import compare
from rakuten_mlops.registry import GateDecision, Registry, decide
from rakuten_mlops.training.base import Family, TrainerOptions, fit_temperature
from rakuten_mlops.training.choices import SearchMode, TrainerName
from rakuten_mlops.training.evaluation import EvaluationResult, evaluate, write_evaluation_artifacts
from rakuten_mlops.training.explain import top_terms
from rakuten_mlops.training.families import torch_available
from rakuten_mlops.training.model import TextClassifierModel
from rakuten_mlops.training.pyfunc import log_model
from rakuten_mlops.training.search.evaluate import SearchData
from rakuten_mlops.training.search.leaderboard import log_search
from rakuten_mlops.training.search.results import SearchPlan, SearchResult
from rakuten_mlops.training.search.space import decode
from rakuten_mlops.training.trainers import make_trainer

EXPERIMENT = tracking.TRAINING_EXPERIMENT
REFERENCE_ROWS = 5_000
MIN_TRAIN_ROWS = 50


class TrainingSummary(BaseModel):
    """What one training-pipeline run did; printed by `rakuten-mlops train`."""

    run_id: str
    model_version: str
    trainer: str
    device: str
    rows: dict[str, int]
    metrics: dict[str, float]
    train_seconds: float
    promoted: bool
    decision: str
    champion_version: str | None
    champion_score_on_test: float | None
    search: str = SearchMode.OFF.value
    # The search's choice (family, its settings, validation F1) and how many candidates it measured.
    winner: dict[str, Any] | None = None
    leaderboard_size: int = 0
    search_seconds: float = 0.0


@dataclass
class TrainedModel:
    """A fitted model with its scores on the held-out splits."""

    model: TextClassifierModel
    trainer: str
    device: str
    params: dict[str, Any]
    validation: EvaluationResult | None
    test: EvaluationResult
    train_seconds: float
    search: SearchResult | None = None


def split_frames(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The labelled catalogue by split; refuses a catalogue too small to train and test on."""
    parts = {name: frame[frame["split"] == name] for name in ("train", "validation", "test")}
    if len(parts["train"]) < MIN_TRAIN_ROWS or parts["train"]["label"].nunique() < 2 or parts["test"].empty:
        raise DataError(
            f"the catalogue has {len(frame)} labelled listings ({len(parts['train'])} for training, "
            f"{len(parts['test'])} for testing); ingest more (rakuten-mlops ingest sample) before training"
        )
    return parts


def _score(model: TextClassifierModel, part: pd.DataFrame) -> EvaluationResult:
    return evaluate(model, part["designation"].tolist(), part["description"].tolist(), part["label"].tolist())


def fit_and_evaluate(parts: dict[str, pd.DataFrame], trainer: str, device: str, seed: int) -> TrainedModel:
    """Fit the fixed trainer on the train split, calibrate on validation, score validation and test."""
    validation = parts["validation"]
    # With a validation split the temperature is fitted there, so the trainer needs no holdout of its own.
    settings = {"calibration_fraction": 0.0} if trainer == TrainerName.SKLEARN and len(validation) else {}
    chosen = make_trainer(trainer, TrainerOptions(seed=seed, device=device, settings=settings))
    train = parts["train"]
    progress.report("train", 0, 1)
    started = time.perf_counter()
    model = chosen.fit(train["designation"].tolist(), train["description"].tolist(), train["label"].tolist())
    if len(validation):
        calibrate(model, validation)
    seconds = time.perf_counter() - started
    progress.report("train", 1, 1)
    params = dict(chosen.params())
    used_device = str(params.get("device", "cpu"))
    scored = _score(model, validation) if len(validation) else None
    return TrainedModel(model, trainer, used_device, params, scored, _score(model, parts["test"]), seconds)


def calibrate(model: TextClassifierModel, validation: pd.DataFrame) -> None:
    """Set the model's softmax temperature to the one that fits the validation rows best."""
    known = validation[validation["label"].astype(str).isin(model.classes)]
    if known.empty:
        return
    index = {label: i for i, label in enumerate(model.classes)}
    y = np.array([index[str(label)] for label in known["label"]])
    scores = model.decision_scores(known["designation"].tolist(), known["description"].tolist())
    model.head.temperature = fit_temperature(scores, y)


def search_families(trainer: str) -> tuple[Family, ...]:
    """The torch trainer searches its MLP only; sklearn searches every family (the MLP with torch installed)."""
    if trainer == TrainerName.TORCH:
        return (Family.TORCH_MLP,)
    return tuple(f for f in Family if f is not Family.TORCH_MLP or torch_available())


def plan_search(
    parts: dict[str, pd.DataFrame],
    mode: SearchMode,
    trainer: str,
    device: str,
    budget_minutes: float | None,
    seed: int,
) -> tuple[SearchData, SearchPlan]:
    """The rows the search may read (train and validation, never test) and its plan."""
    data = SearchData.from_frames(parts["train"], parts["validation"])
    plan = SearchPlan.default(
        mode, search_families(trainer), len(parts["train"]), budget_minutes, seed=seed, device=device
    )
    return data, plan


def refit_winner(
    parts: dict[str, pd.DataFrame], result: SearchResult, device: str, seed: int
) -> TrainedModel:
    """Fit the search's winner on train + validation with its validation temperature; score it on test."""
    features, classifier = decode(result.winner.params)
    options = TrainerOptions(
        features=features,
        classifier=classifier,
        temperature=result.winner.temperature,
        seed=seed,
        device=device,
    )
    trainer = make_trainer(classifier.family.trainer, options)
    rows = pd.concat([parts["train"], parts["validation"]])
    progress.report("refit", 0, 1)
    started = time.perf_counter()
    model = trainer.fit(rows["designation"].tolist(), rows["description"].tolist(), rows["label"].tolist())
    seconds = time.perf_counter() - started
    progress.report("refit", 1, 1)
    used = device if classifier.family.trainer is TrainerName.TORCH else "cpu"
    if used == "auto":
        from rakuten_mlops.training.torch_trainer import resolve_device

        used = resolve_device(used)
    return TrainedModel(
        model, trainer.name, used, dict(trainer.params()), None, _score(model, parts["test"]), seconds, result
    )


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def log_training_run(
    trained: TrainedModel, frame: pd.DataFrame, parts: dict[str, pd.DataFrame], settings: Settings
) -> tuple[str, str, str | None]:
    """Log everything about the run to MLflow; return (run_id, model_uri, model_id)."""
    experiment_id = tracking.use_experiment(settings, EXPERIMENT)
    rows = {name: len(part) for name, part in parts.items()}
    batches = sorted({int(b) for b in frame["batch_id"].unique()})
    # A server that stops mid-run: one sentence, and the run marked FAILED (now, or at the next training).
    with (
        tracking.tracked_run(settings.tracking_uri, settings.mlops_home, experiment_id=experiment_id) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        mlflow.set_tags(
            {
                "trainer": trained.trainer,
                "device": trained.device,
                "git_commit": _git_commit(),
                "ingestion_batches": ",".join(map(str, batches))[:4_000],
                "split_seed": str(settings.split_seed),
                **{f"rows_{name}": str(n) for name, n in rows.items()},
            }
        )
        mlflow.log_params(
            {k: v for k, v in {**trained.params, **trained.model.params()}.items() if v is not None}
        )
        metrics = {**trained.test.metrics(), "train_seconds": trained.train_seconds}
        if trained.validation is not None:
            metrics.update({f"validation_{k}": v for k, v in trained.validation.metrics().items()})
        mlflow.log_metrics(metrics)
        if trained.search is not None:
            log_search(trained.search, run.info.run_id, experiment_id, folder / "search")
        for path in write_evaluation_artifacts(trained.test, folder / "evaluation"):
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        terms = folder / "top_terms.json"
        terms.write_text(json.dumps(top_terms(trained.model, k=15), ensure_ascii=False, indent=1))
        mlflow.log_artifact(str(terms), artifact_path="explanations")
        # Held-out rows: on training rows the model knows every word and is over-confident,
        # so vocabulary coverage and confidence would "drift" on any new listing.
        held_out = pd.concat([parts["validation"], parts["test"]])
        reference = held_out.sample(n=min(REFERENCE_ROWS, len(held_out)), random_state=settings.split_seed)
        reference_path = folder / "reference_sample.parquet"
        reference[["designation", "description", "label"]].to_parquet(reference_path, index=False)
        mlflow.log_artifact(str(reference_path), artifact_path="reference")
        info = log_model(trained.model, name="model")
        return run.info.run_id, info.model_uri, getattr(info, "model_id", None)


def _predict(model: TextClassifierModel, part: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(part["designation"].tolist(), part["description"].tolist()), dtype=str)


def gate_and_promote(
    registry: Registry,
    version: str,
    challenger: TextClassifierModel,
    test: pd.DataFrame,
    min_improvement: float,
    promote: bool,
    confidence: float = 0.95,
    seed: int = 0,
) -> GateDecision:
    """Compare the challenger with the champion on the same test rows; promote a real improvement only.

    Both models predict the same rows and a paired bootstrap of the weighted-F1 difference decides
    (`rakuten_mlops.gate`): the challenger must be better by more than `min_improvement` at
    `confidence`, so a retrain that is as good as the champion is not promoted.
    """
    truth = test["label"].astype(str).to_numpy()
    ours = _predict(challenger, test)
    found = registry.champion()
    if found is None:
        score = float(f1_score(truth, ours, average="weighted", zero_division=0))
        decision = decide(version, score, None, None, min_improvement)
    else:
        champion_version = str(found.version)
        theirs = _predict(registry.load_model(champion_version), test)
        comparison = compare(truth, ours, theirs, confidence=confidence, seed=seed)
        decision = decide(
            version,
            comparison.challenger,
            champion_version,
            comparison.champion,
            min_improvement,
            comparison,
        )
    return registry.apply(decision, promote)
