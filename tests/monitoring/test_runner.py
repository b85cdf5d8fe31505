"""A drift check as the flow runs it: cached reference descriptors, logged predictions, MLflow report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from pandas.testing import assert_frame_equal
from sqlalchemy import insert

from rakuten_mlops.config import Settings
from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.monitoring.descriptors import compute_descriptors, describe_served
from rakuten_mlops.monitoring.runner import MONITORING_EXPERIMENT, reference_descriptors, run_drift_check
from rakuten_mlops.monitoring.sources import load_reference_sample
from rakuten_mlops.monitoring.store import latest_drift
from rakuten_mlops.registry import Registry


def test_the_reference_is_described_once_per_version_then_read_from_the_cache(
    trained: tuple[Settings, Registry, int], tmp_path: Path
) -> None:
    _, registry, held_out = trained
    version, model = registry.load_champion()
    first = reference_descriptors(registry, version, model, tmp_path)
    (cached,) = tmp_path.glob(f"*-v{version}-descriptors-*.parquet")
    assert len(first) == min(held_out, 5_000)
    assert_frame_equal(first, compute_descriptors(load_reference_sample(registry, version), model))
    # A marked cache file is what the next call returns: the reference is not described again.
    first.assign(confidence=0.123).to_parquet(cached, index=False)
    assert (reference_descriptors(registry, version, model, tmp_path)["confidence"] == 0.123).all()
    # A torn file is described again and replaced.
    cached.write_bytes(b"not parquet")
    assert_frame_equal(reference_descriptors(registry, version, model, tmp_path), first)
    assert_frame_equal(reference_descriptors(registry, version, model, tmp_path), first)
    assert len(pd.read_parquet(cached)) == len(first)


def test_served_listings_take_class_and_confidence_from_the_log(
    trained: tuple[Settings, Registry, int],
) -> None:
    _, registry, _ = trained
    _, model = registry.load_champion()
    listings = generate_listings(400, seed=41)[["designation", "description"]]
    scored = compute_descriptors(listings, model)
    logged = listings.assign(prdtypecode=scored["predicted_class"], confidence=scored["confidence"])
    assert_frame_equal(describe_served(logged, model), scored)
    other = describe_served(logged.assign(prdtypecode="2583", confidence=0.5), model)
    assert set(other["predicted_class"]) == {"2583"} and set(other["confidence"]) == {0.5}


def test_a_check_stores_its_verdict_and_logs_the_html_report_to_mlflow(
    trained: tuple[Settings, Registry, int], elsewhere: None
) -> None:
    settings, registry, _ = trained
    version, model = registry.load_champion()
    engine = make_engine(settings.db_url)
    served = generate_listings(1_100, seed=43, drift=True)
    with engine.begin() as connection:
        connection.execute(
            insert(Prediction),
            [
                {
                    "request_id": f"runner-{i}",
                    "model_version": version,
                    "designation": row.designation,
                    "description": row.description or None,
                    "prdtypecode": "2583",
                    "confidence": 0.4,
                    "latency_ms": 1.0,
                }
                for i, row in enumerate(served.itertuples())
            ],
        )
    check = run_drift_check(
        engine,
        registry,
        version=version,
        model=model,
        threshold=0.5,
        report_dir=settings.reports_dir,
        last=1_000,
        tracking_uri=settings.tracking_uri,
        artifacts_dir=settings.artifacts_dir,
    )
    stored = latest_drift(engine)
    engine.dispose()
    assert check.result.drift_detected and stored == check.report
    assert stored.window_description.endswith(f"(served by v{version})")
    assert check.mlflow_run_id is not None
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    run = client.get_run(check.mlflow_run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == MONITORING_EXPERIMENT
    assert run.data.metrics["drift_share"] == pytest.approx(check.result.drift_share)
    assert run.data.tags["drift_report_id"] == str(stored.id)
    (artifact,) = client.list_artifacts(check.mlflow_run_id, "drift_report")
    assert artifact.path == f"drift_report/{Path(stored.report_path or '').name}"
