"""A model trained on a preprocessed dataset version is served behind that version's own fitted steps.

Real components: the workbench on SQLite and real files (a messy churn export, every suggested step
run), the AutoML task logged to a real MLflow store and registry, the served champion as the API
loads it, and the API itself answering records shaped like the upload. The model must give on the
uploaded rows exactly what it gives on the preprocessed version's rows: a prediction sees the
preprocessing its training saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sqlalchemy import Engine

from rakuten_mlops.automl.explain import Explainer
from rakuten_mlops.automl.served import TableModels
from rakuten_mlops.automl.task import plan_task, run_task
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.lineage import source_rows
from rakuten_mlops.tables.runlog import RunLog
from rakuten_mlops.tables.samples import write_messy_csv
from rakuten_mlops.tables.store import DatasetStore
from rakuten_mlops.tables.workbench import preprocess_dataset

pytestmark = pytest.mark.slow


def _messy_upload(settings: Settings, tmp_path: Path, rows: int, seed: int) -> tuple[Engine, DatasetStore]:
    """A migrated catalogue whose workbench holds a messy churn export as `churn` v1."""
    engine = make_engine(settings.db_url)
    upgrade(engine)
    store = DatasetStore.from_settings(settings, engine)
    write_messy_csv(tmp_path / "churn.csv", rows, seed=seed)
    store.add(tmp_path / "churn.csv", name="churn")
    return engine, store


def test_a_model_of_a_preprocessed_version_reads_uploaded_records_through_the_versions_steps(
    settings: Settings, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from rakuten_mlops.serving.app import create_app

    engine, store = _messy_upload(settings, tmp_path, 400, 5)
    done = preprocess_dataset(store, "churn", "churned", None, RunLog(None, "test"))  # every suggested step
    uploaded, preprocessed = store.load_frame("churn", 1), store.load_frame("churn", done.version)
    assert "drop_duplicates" in done.steps and len(preprocessed) < len(uploaded)  # rows were dropped too

    planned = plan_task(store, "churn", target="churned", version=done.version)
    upload_columns = [c for c in uploaded.columns if c != "churned"]
    assert planned.inputs == upload_columns  # a record carries the upload's columns, the dropped ones too
    assert "account_status" not in planned.spec.features  # the leak was dropped by a step

    result = run_task(settings, planned, budget_minutes=0.3, max_trials=2, families=("linear",))
    assert result.inputs == upload_columns and set(result.features) <= set(preprocessed.columns)
    champion = TableModels(settings.tracking_uri).champion(result.model_name)
    assert champion.columns == upload_columns

    # The uploaded rows behind the version's first rows give what the version's own rows give.
    source = source_rows(store, "churn", done.version)
    inner = Pipeline(champion.pipeline.steps[1:])  # the search's model, without the dataset's steps
    head = preprocessed.head(40)
    expected = [str(p) for p in inner.predict(head[result.features])]
    records = json.loads(source.rows[upload_columns].head(40).astype(object).to_json(orient="records"))
    served = [a["prediction"] for a in champion.predict(champion.frame(records))]
    assert served == expected

    # Explained per column the model reads, from an uploaded record.
    row = champion.frame(records[:1])
    explanation = Explainer(champion.pipeline, source.rows[upload_columns].head(60)).explain_row(row)
    assert explanation.prediction == served[0]
    explained = set(explanation.contributions)
    assert not explained & {"customer_id", "account_status", "signup_date", "source"}  # dropped or parsed
    assert explained & (set(preprocessed.columns) - set(uploaded.columns))  # columns the steps made

    # The API answers the upload's records; one without a column the steps drop is still refused by name.
    with TestClient(create_app(settings, poll_seconds=0)) as client:
        answer = client.post(f"/models/{result.model_name}/predict", json={"records": records[:5]})
        assert answer.status_code == 200, answer.text
        assert [p["prediction"] for p in answer.json()["predictions"]] == expected[:5]
        partial = [{k: v for k, v in records[0].items() if k != "customer_id"}]
        refused = client.post(f"/models/{result.model_name}/predict", json={"records": partial})
        assert refused.status_code == 422 and "'customer_id'" in refused.json()["detail"]

    # The version was preprocessed for `churned`: another target is refused, naming both, also by the command.
    with pytest.raises(DataError, match=r"preprocessed for `churned`.*predict `visits` from v1"):
        plan_task(store, "churn", target="visits", version=done.version)
    command = [sys.executable, "-m", "rakuten_mlops.cli", "automl", "churn", "--dataset-version", str(done.version),
               "--target", "visits", "--yes", "--json"]  # fmt: skip
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert "preprocessed for `churned`" in json.loads(refused.stdout.strip().splitlines()[-1])["error"]
    engine.dispose()


def test_the_uploaded_rows_behind_a_version_are_found_and_a_pipeline_that_does_not_give_them_is_named(
    settings: Settings, tmp_path: Path
) -> None:
    engine, store = _messy_upload(settings, tmp_path, 200, 6)
    scaled = preprocess_dataset(store, "churn", "churned", ["drop_duplicates", "scale"], RunLog(None, "test"))
    source = source_rows(store, "churn", scaled.version)
    assert (len(source.rows), source.target) == (scaled.rows, "churned")
    pd.testing.assert_frame_equal(  # the upload's rows that drop_duplicates kept, in order
        source.rows, store.load_frame("churn", 1).drop_duplicates().reset_index(drop=True), check_dtype=False
    )
    # Another version's fitted steps in place of this one's: they do not give its rows, and the error says so.
    imputed = preprocess_dataset(store, "churn", "churned", ["impute-age"], RunLog(None, "test"))
    detail = store.show("churn", scaled.version)
    assert detail.lineage is not None and detail.lineage.pipeline is not None
    other = store.show("churn", imputed.version).lineage
    assert other is not None and other.pipeline is not None
    store.path(detail.lineage.pipeline).write_bytes(store.path(other.pipeline).read_bytes())
    with pytest.raises(
        DataError, match=rf"saved pipeline of dataset 'churn' v{scaled.version} does not give"
    ):
        source_rows(store, "churn", scaled.version)
    engine.dispose()
