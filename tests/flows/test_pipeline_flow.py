"""The training-pipeline flow end to end under the real Prefect engine and a real MLflow store."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from flows.pipeline_flow import training_pipeline
from rakuten_mlops.config import Settings
from rakuten_mlops.data.ingestion import ingest_sample
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.registry import Registry
from rakuten_mlops.training.choices import SearchMode

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_pipeline_promotes_then_respects_no_promote(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    ingest_sample(engine, 3_000, seed=13)
    with caplog.at_level("INFO", logger="prefect.flow_runs"):
        first = training_pipeline()
    # Each step says what it did, with its figures, in the run's log.
    steps = [r.getMessage() for r in caplog.records if r.name == "prefect.flow_runs"]
    assert any(m.startswith("load_training_frame: 3000 labelled listings") for m in steps), steps
    assert any(m.startswith("search_candidates (quick): ") and "candidates in" in m for m in steps), steps
    assert any(m.startswith("refit: ") and "test weighted F1 0." in m for m in steps), steps
    assert any(m.startswith("log_and_register: MLflow run ") and "as v1" in m for m in steps), steps
    assert any(m.startswith("gate: v1 promoted. no champion yet") for m in steps), steps
    assert first.promoted and first.champion_version == first.model_version == "1"
    assert 0.4 < first.metrics["weighted_f1"] <= 1.0
    assert first.rows["train"] + first.rows["validation"] + first.rows["test"] == 3_000
    second = training_pipeline(promote=False, search=SearchMode.OFF)  # the search is checked above
    assert not second.promoted and "promotion disabled" in second.decision
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    assert str(registry.champion().version) == "1"  # type: ignore[union-attr]

    # The champion is loadable by alias as a pyfunc and agrees with the native model.
    mlflow.set_tracking_uri(settings.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{settings.model_name}@champion")
    listings = pd.DataFrame({"designation": ["Piscine tubulaire ronde 366 cm", "Manette PS4 sans fil"],
                             "description": ["Filtre à cartouche inclus", None]})  # fmt: skip
    answer = pyfunc.predict(listings)
    native = registry.load_champion()[1].predict(
        listings["designation"].tolist(), ["Filtre à cartouche inclus", ""]
    )
    assert [str(c) for c in answer["prdtypecode"]] == native
