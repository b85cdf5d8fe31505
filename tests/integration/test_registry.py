"""Training steps and the registry against a real MLflow SQLite store and a real catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.config import Settings
from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import ingest_sample
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.errors import RegistryError
from rakuten_mlops.registry import CHALLENGER, Registry, decide
from rakuten_mlops.training.pipeline import fit_and_evaluate, gate_and_promote, log_training_run, split_frames


@pytest.fixture
def catalogue(settings: Settings) -> pd.DataFrame:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    ingest_sample(engine, 4_000, seed=21)
    return load_labelled(engine, settings.split_seed)


def train_and_register(
    frame: pd.DataFrame, settings: Settings, *, shuffle: bool = False
) -> tuple[str, float, dict]:
    parts = split_frames(frame)
    if shuffle:
        train = parts["train"].copy()
        train["label"] = np.random.default_rng(0).permutation(train["label"].to_numpy())
        parts = {**parts, "train": train}
    trained = fit_and_evaluate(parts, "sklearn", "cpu", seed=1)
    run_id, uri, model_id = log_training_run(trained, frame, parts, settings)
    version = Registry.from_uri(settings.tracking_uri, settings.model_name).register(uri, run_id, model_id)
    return str(version.version), trained.test.weighted_f1, parts


def test_a_model_trained_on_shuffled_labels_is_never_promoted(
    catalogue: pd.DataFrame, settings: Settings
) -> None:
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    good, good_f1, parts = train_and_register(catalogue, settings)
    first = gate_and_promote(registry, good, registry.load_model(good), parts["test"], 0.0, promote=True)
    assert first.promote and good_f1 > 0.5
    bad, bad_f1, parts = train_and_register(catalogue, settings, shuffle=True)
    second = gate_and_promote(registry, bad, registry.load_model(bad), parts["test"], 0.0, promote=True)
    assert not second.promote and bad_f1 < 0.3
    assert second.champion_score == pytest.approx(good_f1)
    champion = registry.champion()
    assert champion is not None and str(champion.version) == good
    tags = {v.version: v.tags for v in registry.versions()}
    assert tags[bad]["gate.decision"] == "rejected" and "not shown better" in tags[bad]["gate.reason"]
    assert float(tags[bad]["gate.p_value"]) > 0.99 and float(tags[bad]["gate.difference_low"]) < 0
    assert str(registry.alias(CHALLENGER).version) == bad  # type: ignore[union-attr]


def test_an_identical_retrain_is_not_promoted_and_the_paired_test_is_in_the_tags(
    catalogue: pd.DataFrame, settings: Settings
) -> None:
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    v1, f1, parts = train_and_register(catalogue, settings)
    assert gate_and_promote(registry, v1, registry.load_model(v1), parts["test"], 0.0, promote=True).promote
    v2, again, _ = train_and_register(catalogue, settings)  # the same data and seed: the same model
    assert again == pytest.approx(f1)
    decision = gate_and_promote(registry, v2, registry.load_model(v2), parts["test"], 0.0, promote=True)
    assert not decision.promote and decision.comparison is not None
    assert decision.comparison.difference == 0.0 and decision.comparison.p_value == 1.0
    tags = {v.version: v.tags for v in registry.versions()}[v2]
    assert tags["gate.decision"] == "rejected" and tags["gate.confidence"] == "0.95"
    assert tags["gate.p_value"] == "1.0000" and int(tags["gate.rows"]) == len(parts["test"])
    assert float(tags["gate.challenger_weighted_f1"]) == pytest.approx(f1)
    assert str(registry.champion().version) == v1  # type: ignore[union-attr]


def test_promote_rollback_and_history(catalogue: pd.DataFrame, settings: Settings) -> None:
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    v1, *_ = train_and_register(catalogue, settings)
    v2, *_ = train_and_register(catalogue, settings)
    registry.promote(v1, "first")
    registry.promote(v2, "second")
    assert registry.rollback("bad release") == v1
    assert str(registry.champion().version) == v1  # type: ignore[union-attr]
    with pytest.raises(RegistryError, match="no earlier champion"):
        registry.rollback()
    assert [(e["version"], e["action"]) for e in registry.history()] == [
        (v1, "promote"),
        (v2, "promote"),
        (v1, "rollback"),
    ]
    assert registry.load_champion()[0] == v1


def test_logged_run_carries_metrics_artifacts_and_reference(
    catalogue: pd.DataFrame, settings: Settings
) -> None:
    from mlflow import MlflowClient

    version, f1, _ = train_and_register(catalogue, settings)
    info = next(
        v
        for v in Registry.from_uri(settings.tracking_uri, settings.model_name).versions()
        if v.version == version
    )
    assert info.metrics["weighted_f1"] == pytest.approx(f1)
    client = MlflowClient(settings.tracking_uri)
    run = client.get_run(info.run_id)  # type: ignore[arg-type]
    assert run.data.tags["trainer"] == "sklearn" and run.data.tags["rows_train"].isdigit()
    artifacts = {
        a.path
        for folder in ("evaluation", "reference", "explanations")
        for a in client.list_artifacts(info.run_id, folder)
    }  # type: ignore[arg-type]
    assert {
        "evaluation/confusion_matrix.png",
        "reference/reference_sample.parquet",
        "explanations/top_terms.json",
    } <= artifacts
    assert str(settings.artifacts_dir) in run.info.artifact_uri


def test_gate_rule() -> None:
    assert decide("1", 0.7, None, None, 0.01).promote
    assert decide("2", 0.80, "1", 0.79, 0.005).promote
    assert not decide("2", 0.799, "1", 0.79, 0.01).promote
    assert not decide("2", 0.8215, "1", 0.8215, 0.0).promote  # a tie never promotes
