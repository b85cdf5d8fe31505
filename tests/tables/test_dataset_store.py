"""The datasets store on SQLite and PostgreSQL: versions, idempotent uploads, kept files, refusals that store nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from rakuten_mlops.config import Settings
from rakuten_mlops.db.models import Dataset, DatasetVersion
from rakuten_mlops.errors import DataError, ValidationError
from rakuten_mlops.tables.runlog import RunLog
from rakuten_mlops.tables.store import DatasetNotFoundError, DatasetStore
from rakuten_mlops.tables.workbench import preprocess_dataset, profile_dataset, suggest_for_dataset


@pytest.fixture
def store(engine: Engine, settings: Settings) -> DatasetStore:
    return DatasetStore.from_settings(settings, engine)


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        datasets = connection.scalar(select(func.count()).select_from(Dataset))
        versions = connection.scalar(select(func.count()).select_from(DatasetVersion))
    return int(datasets or 0), int(versions or 0)


def test_an_upload_becomes_a_version_once_whatever_how_often_it_is_added(
    store: DatasetStore, messy: tuple[Path, pd.DataFrame]
) -> None:
    path, written = messy
    first = store.add(path)
    again = store.add(path)
    assert (first.name, first.version, first.created) == ("churn-export", 1, True)
    assert (again.version, again.created, again.hash) == (1, False, first.hash)
    assert (first.rows, first.columns) == (len(written), written.shape[1])  # every row kept, duplicates too
    detail = store.show("churn-export")
    kept = store.path(f"files/{first.hash}/upload/churn_export.csv")
    assert kept.read_bytes() == path.read_bytes()  # the file as uploaded is in the artifact store
    assert [c.name for c in detail.schema_] == list(written.columns)
    assert detail.read_options == {"delimiter": ";", "encoding": "cp1252"}
    assert len(store.load_frame("churn-export")) == len(written)


def test_new_bytes_under_the_same_name_are_the_next_version(store: DatasetStore, tmp_path: Path) -> None:
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text("a,b\n1,2\n", encoding="utf-8")
    two.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    assert store.add(one, "sales").version == 1
    assert store.add(two, "sales").version == 2
    assert store.add(one, "sales").version == 1  # an old upload is found again, not stored twice
    assert [(d.name, d.latest_version, d.versions, d.rows) for d in store.list()] == [("sales", 2, 2, 2)]
    assert store.show("sales", 1).rows == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a,b\n", "has a header (2 columns) but no rows"),
        (b"\x00\x01binary", "is binary"),
        (b"a,b\n1,2\n3\n", "row 2: has 1 field where the header has 2"),
        (b"a,a\n1,2\n", "column 'a': the header names this column twice"),
    ],
)
def test_a_bad_file_stores_nothing(
    store: DatasetStore, engine: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=re.escape(message)):
        store.add(path)
    assert counts(engine) == (0, 0)
    assert not (store.root / "files").exists() or not any((store.root / "files").iterdir())


def test_a_file_over_the_limit_is_refused_with_the_limit_named(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    small = DatasetStore(engine, settings.datasets_dir, max_bytes=1024)
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 1000, encoding="utf-8")
    with pytest.raises(
        ValidationError, match=r"file big.csv: is 0.0 MB, over the 0 MB limit.*DATASET_MAX_MB"
    ):
        small.add(path)
    assert counts(engine) == (0, 0)


def test_unknown_names_and_versions_say_what_exists(store: DatasetStore, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    store.add(path, "known")
    with pytest.raises(DatasetNotFoundError, match="no dataset is named 'other'; known datasets: known"):
        store.show("other")
    with pytest.raises(DatasetNotFoundError, match="has no version 7"):
        store.show("known", 7)
    with pytest.raises(DataError, match="cannot name a dataset"):
        store.add(path, "../etc")


def test_a_preprocessed_version_records_its_lineage_pipeline_and_log(
    store: DatasetStore, messy: tuple[Path, pd.DataFrame]
) -> None:
    store.add(messy[0], "churn")
    profile = profile_dataset(store, "churn", "churned")
    assert profile_dataset(store, "churn", "churned") == profile  # computed once, then read from the cache
    store.add(messy[0], "same-bytes")
    twin = profile_dataset(store, "same-bytes", "churned")  # the cache is shared by content...
    assert (twin.name, twin.version, twin.rows) == ("same-bytes", 1, profile.rows)  # ...not by name
    steps = [s.id for s in suggest_for_dataset(store, "churn", "churned").steps][:6]
    log = RunLog(store.root / "logs" / "run-1.jsonl", "preprocess")
    result = preprocess_dataset(store, "churn", "churned", steps, log, run_id="run-1")
    assert (result.version, result.parent_version, result.steps) == (2, 1, steps)
    detail = store.show("churn", 2)
    assert detail.lineage is not None
    assert (detail.lineage.parent_version, detail.lineage.run_id) == (1, "run-1")
    assert [s["id"] for s in detail.lineage.steps] == steps
    assert detail.lineage.parameters["target"] == "churned"
    assert detail.lineage.log == "logs/run-1.jsonl"
    frame = store.load_frame("churn", 2)
    assert len(frame) == detail.rows == result.rows
    pipeline = store.load_pipeline("churn", 2)
    parent = store.load_frame("churn", 1)
    assert list(pipeline.transform(parent.drop(columns=["churned"]).head(3)).columns) == [
        c for c in frame.columns if c != "churned"
    ]
    with pytest.raises(DataError, match="is an upload"):
        store.load_pipeline("churn", 1)
