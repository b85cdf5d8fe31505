"""The `ingest` flow under the real Prefect engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.states import State
from sqlalchemy import func, select

from flows.ingest import ingest
from rakuten_mlops.config import Settings
from rakuten_mlops.data.ingestion import IngestionResult
from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Product

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_flow_migrates_and_ingests_a_sample(settings: Settings) -> None:
    result = ingest(kind="sample", rows=800, seed=4)
    assert isinstance(result, IngestionResult)
    assert (result.status, result.inserted) == ("succeeded", 800)
    with make_engine(settings.db_url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(Product)).scalar_one() == 800


def test_rejected_file_fails_the_run_with_the_reason(settings: Settings, tmp_path: Path) -> None:
    frame = generate_listings(50, seed=1)
    frame.loc[frame.index[10], "designation"] = ""
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(frame, x, y)
    state = ingest(kind="rakuten", x_path=str(x), y_path=str(y), return_state=True)
    assert isinstance(state, State) and state.is_failed()
    assert "row 11" in (state.message or "") and "empty designation" in (state.message or "")
    result = state.result(raise_on_failure=False)
    assert isinstance(result, IngestionResult) and result.status == "rejected"


def test_flow_ingests_a_csv_keyed_by_its_id_column(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "shop.csv"
    path.write_text("ref,title,category\nA1,Tasse,kitchen\nA2,Tasse,kitchen\n", encoding="utf-8")
    parameters = {"kind": "csv", "path": str(path), "text_columns": ["title"], "label_column": "category"}
    first = ingest(**parameters, id_column="ref")
    assert isinstance(first, IngestionResult) and (first.inserted, first.updated) == (2, 0)
    path.write_text("ref,title,category\nA1,Tasse,gifts\nA2,Tasse,kitchen\n", encoding="utf-8")
    second = ingest(**parameters, id_column="ref")
    assert isinstance(second, IngestionResult) and (second.inserted, second.updated) == (0, 1)
    with make_engine(settings.db_url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(Product)).scalar_one() == 2
