"""A home for the assistant's tests: a catalogue with two registered versions of the listing classifier."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import pytest
from tests.homes import sqlite_home

from rakuten_mlops.config import Settings
from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import ingest_sample
from rakuten_mlops.registry import Registry
from rakuten_mlops.training.pipeline import fit_and_evaluate, log_training_run, split_frames


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A catalogue with two registered versions of the listing classifier, v1 the champion."""
    folder = tmp_path_factory.mktemp("assistant") / "mlops"
    # Nothing listens at API_URL: the API tools say so.
    settings, engine = sqlite_home(folder, API_URL="http://127.0.0.1:9")
    ingest_sample(engine, 1_500, seed=7)
    frame = load_labelled(engine, settings.split_seed)
    engine.dispose()
    parts = split_frames(frame)
    previous = mlflow.get_tracking_uri()
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    for seed in (1, 2):
        run_id, uri, model_id = log_training_run(
            fit_and_evaluate(parts, "sklearn", "cpu", seed=seed), frame, parts, settings
        )
        registry.register(uri, run_id, model_id)
    registry.promote("1", "test fixture")
    mlflow.set_tracking_uri(previous)
    yield settings
