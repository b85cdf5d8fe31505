"""A small real model and generated listings shared by the monitoring tests (built once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from tests.homes import sqlite_home

from rakuten_mlops.config import Settings
from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import ingest_sample
from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.registry import Registry
from rakuten_mlops.training.model import TextClassifierModel
from rakuten_mlops.training.pipeline import fit_and_evaluate, log_training_run, split_frames
from rakuten_mlops.training.trainers import SklearnTrainer

# Above 1,000 rows Evidently tests with distances (Wasserstein, Jensen-Shannon), as in production.
CHECK_ROWS = 1_200
TEXT = ["designation", "description"]


@pytest.fixture(scope="session")
def drift_model() -> TextClassifierModel:
    """A TF-IDF + SGD model trained on 3,000 generated listings."""
    frame = generate_listings(3_000, seed=101)
    return SklearnTrainer(random_state=0).fit(
        frame["designation"].tolist(),
        frame["description"].tolist(),
        frame["prdtypecode"].astype(str).tolist(),
    )


@pytest.fixture(scope="session")
def reference_listings() -> pd.DataFrame:
    """Listings from the training distribution, as the logged reference sample holds them."""
    return generate_listings(CHECK_ROWS, seed=102)[TEXT]


@pytest.fixture(scope="session")
def drifted_listings() -> pd.DataFrame:
    """Shifted listings: longer texts, new product words, other class priors."""
    return generate_listings(CHECK_ROWS, seed=103, drift=True)[TEXT]


@pytest.fixture(scope="session")
def same_listings() -> pd.DataFrame:
    """Another sample of the training distribution."""
    return generate_listings(CHECK_ROWS, seed=104)[TEXT]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Registry, int]]:
    """A home whose catalogue trained version 1 (champion) through the real training pipeline."""
    home = tmp_path_factory.mktemp("monitoring") / "mlops"
    settings, engine = sqlite_home(home)
    ingest_sample(engine, 5_000, seed=7)
    frame = load_labelled(engine, settings.split_seed)
    engine.dispose()
    parts = split_frames(frame)
    trained_model = fit_and_evaluate(parts, "sklearn", "cpu", seed=1)
    previous_uri = mlflow.get_tracking_uri()
    run_id, uri, model_id = log_training_run(trained_model, frame, parts, settings)  # sets the global URI
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    registry.register(uri, run_id, model_id)
    registry.promote("1", "test fixture")
    mlflow.set_tracking_uri(previous_uri)
    yield settings, registry, len(parts["validation"]) + len(parts["test"])


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[None]:
    """MLflow's process-wide tracking URI pointed at another, empty store."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'other-mlflow.db'}")
    yield
    mlflow.set_tracking_uri(previous)
