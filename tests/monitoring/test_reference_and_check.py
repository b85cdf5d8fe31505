"""The champion's reference sample from a real MLflow store, and a whole check as the flow will run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from sqlalchemy import insert

from rakuten_mlops.config import Settings
from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.errors import ModelError, RegistryError
from rakuten_mlops.monitoring.drift import check_drift
from rakuten_mlops.monitoring.sources import REFERENCE_ARTIFACT, load_current_window, load_reference_sample
from rakuten_mlops.monitoring.store import latest_drift, record_drift
from rakuten_mlops.registry import Registry


def test_the_reference_sample_logged_by_training_is_loaded_through_the_registry(
    trained: tuple[Settings, Registry, int], elsewhere: None
) -> None:
    _, registry, held_out_rows = trained
    reference = load_reference_sample(registry, "1")
    assert list(reference.columns) == ["designation", "description", "label"]
    assert len(reference) == min(5_000, held_out_rows)  # held-out rows, never training rows
    assert reference["description"].notna().all() and reference["designation"].str.len().gt(0).all()


def test_unknown_versions_and_runs_without_a_reference_fail_clearly(
    trained: tuple[Settings, Registry, int],
) -> None:
    settings, registry, _ = trained
    with pytest.raises(RegistryError, match="has no version 99"):
        load_reference_sample(registry, "99")
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    experiment = client.get_experiment_by_name("rakuten-product-classification")
    assert experiment is not None
    bare = client.create_run(experiment.experiment_id)  # a run that logged no reference sample
    version = client.create_model_version(registry.name, f"{bare.info.artifact_uri}/model", bare.info.run_id)
    with pytest.raises(ModelError, match=f"run {bare.info.run_id}\\) has no readable {REFERENCE_ARTIFACT}"):
        load_reference_sample(registry, str(version.version))


def test_a_whole_check_from_the_registry_and_the_inference_log(
    trained: tuple[Settings, Registry, int], elsewhere: None
) -> None:
    settings, registry, _ = trained
    version, model = registry.load_champion()
    engine = make_engine(settings.db_url)
    served = generate_listings(1_100, seed=31, drift=True)
    rows = [
        {
            "request_id": f"drifted-{i}",
            "model_version": version,
            "designation": row.designation,
            "description": row.description or None,
            "prdtypecode": "0",
            "confidence": 0.5,
            "latency_ms": 1.0,
        }
        for i, row in enumerate(served.itertuples())
    ]
    with engine.begin() as connection:
        connection.execute(insert(Prediction), rows)
    window = load_current_window(engine, last=1_000)
    result = check_drift(
        load_reference_sample(registry, version), window.listings, model, report_dir=settings.reports_dir
    )
    stored = record_drift(engine, result, version, window.description)
    latest = latest_drift(engine)
    engine.dispose()
    assert result.drift_detected and result.current_rows == 1_000
    assert latest == stored and latest is not None and latest.drift_detected
    assert latest.model_version == version and latest.window_description.startswith("last 1000 predictions")
    assert latest.report_path is not None and Path(latest.report_path).parent == settings.reports_dir
    assert Path(latest.report_path).stat().st_size > 10_000


def test_in_distribution_listings_do_not_move_any_descriptor_against_the_logged_reference(
    trained: tuple[Settings, Registry, int], elsewhere: None
) -> None:
    _, registry, _ = trained
    version, model = registry.load_champion()
    result = check_drift(load_reference_sample(registry, version), generate_listings(1_500, seed=32), model)
    assert not result.drift_detected
    assert result.drifted_features == []
