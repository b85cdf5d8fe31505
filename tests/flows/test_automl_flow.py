"""The `automl` flow under the real Prefect engine: a stored table and a sentence -> a registered champion."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_diabetes

from flows.automl_flow import automl
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.registry import Registry
from rakuten_mlops.runs.catalog import find
from rakuten_mlops.tables.store import DatasetStore

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_flow_plans_the_task_from_a_sentence_and_registers_its_champion(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    table = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    path = settings.mlops_home / "diabetes.csv"
    table.to_csv(path, index=False)
    DatasetStore.from_settings(settings, engine).add(path)
    with caplog.at_level("INFO", logger="prefect.flow_runs"):
        result = automl("diabetes", prompt="prédire la progression de la maladie", budget_minutes=0.1)
    lines = [r.getMessage() for r in caplog.records if r.name == "prefect.flow_runs"]
    assert any(line.startswith("task: predict progression (regression, rmse)") for line in lines), lines
    assert (result["model_name"], result["version"], result["promoted"]) == (
        "diabetes-progression",
        "1",
        True,
    )
    champion = Registry.from_uri(settings.tracking_uri, "diabetes-progression").champion()
    assert champion is not None and str(champion.version) == "1"
    spec = find("automl")
    assert spec is not None and spec.full_name == "automl/on-demand" and spec.load_flow() is automl
