"""The `preprocess` flow under the real Prefect engine: a new version, its lineage, its log, its pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from prefect.states import State

from flows.preprocess import preprocess
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.tables.reading import read_frame
from rakuten_mlops.tables.records import PreprocessResult
from rakuten_mlops.tables.samples import write_messy_csv
from rakuten_mlops.tables.store import DatasetStore

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def store(settings: Settings, tmp_path: Path) -> DatasetStore:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    store = DatasetStore.from_settings(settings, engine)
    path = tmp_path / "churn.csv"
    write_messy_csv(path, 300, seed=11)
    store.add(path, "churn")
    return store


def test_the_flow_stores_a_new_version_with_lineage_log_and_a_pipeline_that_reproduces_it(
    store: DatasetStore, tmp_path: Path
) -> None:
    steps = [
        "drop_duplicates",
        "drop-customer_id",
        "drop-account_status",
        "numeric-visits",
        "impute-visits",
        "impute-age",
        "encode-plan",
    ]
    result = preprocess(name="churn", target="churned", steps=steps, log_id="follow-me")
    assert isinstance(result, PreprocessResult)
    assert (result.name, result.version, result.parent_version) == ("churn", 2, 1)
    assert sorted(result.steps) == sorted(steps)  # run in the suggested order, whatever the order given
    assert result.run_id  # the Prefect flow run
    detail = store.show("churn")
    assert detail.version == 2 and detail.lineage is not None
    assert (detail.lineage.parent_version, detail.lineage.run_id) == (1, result.run_id)
    assert [s["id"] for s in detail.lineage.steps] == result.steps

    log_path = store.root / "logs" / "follow-me.jsonl"
    assert result.log == str(log_path)
    lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert all({"time", "level", "source", "message"} <= set(line) for line in lines)
    by_step = {line["step"]: line for line in lines if "step" in line}
    assert by_step["drop_duplicates"]["rows_affected"] == 6
    assert by_step["impute-age"]["values"]["strategy"] == "mean"

    # Serving reads the original file again: the stored pipeline gives exactly the stored version.
    rows = read_frame(tmp_path / "churn.csv")
    rows = rows[~pd.util.hash_pandas_object(rows, index=False).duplicated().to_numpy()]
    out = store.load_pipeline("churn", 2).transform(rows.drop(columns=["churned"])).reset_index(drop=True)
    stored = store.load_frame("churn", 2)
    pd.testing.assert_frame_equal(out, stored.drop(columns=["churned"]), check_exact=True)


def test_a_step_that_cannot_run_fails_the_run_and_says_why_in_its_log(store: DatasetStore) -> None:
    state = preprocess(name="churn", target="nope", steps=None, log_id="bad-target", return_state=True)
    assert isinstance(state, State) and state.is_failed()
    assert "no column 'nope'" in (state.message or "")
    lines = [
        json.loads(line)
        for line in (store.root / "logs" / "bad-target.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert lines[-1]["level"] == "ERROR" and "no column 'nope'" in lines[-1]["message"]
    assert store.show("churn").version == 1  # nothing stored
