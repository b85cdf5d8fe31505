"""The MLflow pyfunc logs into a real SQLite store and predicts like the native model."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from tests.tools import require_module

from rakuten_mlops.features.vectorizers import FeatureConfig
from rakuten_mlops.training.trainers import SklearnTrainer

if TYPE_CHECKING:
    from conftest import Listings

mlflow = require_module("mlflow", "make install")


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway SQLite store; yields an experiment id. Tracking URI and sys.path are restored after."""
    previous_uri = mlflow.get_tracking_uri()
    previous_path = list(sys.path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        yield mlflow.create_experiment("pyfunc", artifact_location=(tmp_path / "artifacts").as_uri())
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(previous_uri)
        sys.path[:] = previous_path


@pytest.mark.slow
def test_logged_pyfunc_predicts_like_the_native_model(
    mlflow_store: str, tmp_path: Path, train_set: Listings, small_features: FeatureConfig
) -> None:
    from rakuten_mlops.training.pyfunc import log_model

    native = SklearnTrainer(small_features).fit(
        train_set.designations, train_set.descriptions, train_set.labels
    )
    with mlflow.start_run(experiment_id=mlflow_store):
        info = log_model(native, name="model")
    assert (tmp_path / "artifacts").is_dir()
    frame = pd.DataFrame(
        {
            "designation": ["Pompe de piscine", "Roman de poche", "Peluche ours", "Manette console"],
            "description": ["filtre chlore", None, np.nan, ""],
        }
    )
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    out = loaded.predict(frame)
    expected = native.predict_proba(frame["designation"].tolist(), [None, None, None, ""])
    assert list(out.columns) == ["prdtypecode", "confidence"]
    assert out["prdtypecode"].tolist() == [2583, 10, 1280, 40]
    assert np.allclose(out["confidence"].to_numpy(), expected.max(axis=1))
    assert loaded.metadata.get_input_schema().input_names() == ["designation", "description"]
    only_designation = loaded.predict(frame[["designation"]])
    assert only_designation["prdtypecode"].tolist()[0] == 2583


def test_pip_requirements_are_pinned() -> None:
    from rakuten_mlops.training.pyfunc import pip_requirements

    requirements = pip_requirements()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert all("==" in r for r in requirements) and not any(r.startswith("torch") for r in requirements)
