"""DatabaseManager on a real database: SQLite, then PostgreSQL (the shared `engine` fixture)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from managers.database import DatabaseManager
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.errors import DatabaseError
from rakuten_mlops.monitoring.alerts import raise_alert
from rakuten_mlops.testing.processes import free_port


def test_ingest_reports_progress_then_counts_duplicates(engine: Engine) -> None:
    manager = DatabaseManager(engine, chunk_rows=100)
    seen: list[tuple[int, int | None]] = []
    first = manager.ingest_sample(300, seed=3, on_progress=lambda done, total: seen.append((done, total)))
    assert first.status == "succeeded" and first.inserted == 300
    assert seen[-1] == (300, 300) and len(seen) == 3
    again = manager.ingest_sample(300, seed=3)
    assert (again.inserted, again.duplicates) == (0, 300)
    batches = manager.batches()
    assert list(batches["status"]) == ["succeeded", "succeeded"]


def test_a_rejected_file_comes_back_with_its_reason_and_writes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    manager = DatabaseManager(engine)
    bad = tmp_path / "shop.csv"
    bad.write_text("title,category\nTasse,10\n,20\n", encoding="utf-8")
    result = manager.ingest_table(bad, ["title"], "category")
    assert result.status == "rejected" and result.inserted == 0
    assert "column 'title', row 2" in (result.error or "")
    assert manager.profile().rows == 0
    assert manager.batches().iloc[0]["status"] == "rejected"


def test_a_mapped_csv_is_ingested(engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "shop.csv"
    good.write_text("title,body,category\nTasse,porcelaine,10\nLivre,roman,20\n", encoding="utf-8")
    result = DatabaseManager(engine).ingest_table(good, ["title", "body"], "category")
    assert (result.status, result.inserted) == ("succeeded", 2)


def test_profile_sample_and_lengths_describe_the_catalogue(engine: Engine) -> None:
    manager = DatabaseManager(engine)
    manager.ingest_sample(400, seed=4)
    profile = manager.profile()
    assert profile.rows == 400 and len(profile.classes) > 5
    label = profile.classes[0].label
    sample = manager.sample(label=label, limit=10)
    assert 0 < len(sample) <= 10 and set(sample["label"]) == {label}
    word = sample.iloc[0]["designation"].split()[0]
    assert all(word.lower() in d.lower() for d in manager.sample(contains=word)["designation"])
    lengths = manager.text_lengths()
    assert len(lengths) == 400 and (lengths["designation"] > 0).all()


def test_traffic_recent_predictions_and_activity(engine: Engine) -> None:
    manager = DatabaseManager(engine)
    manager.ingest_sample(120, seed=1)
    now = datetime.now(UTC)
    rows = [
        {
            "request_id": uuid.uuid4().hex,
            "created_at": now - timedelta(minutes=i),
            "model_version": "1",
            "designation": f"listing {i}",
            "prdtypecode": "2583",
            "confidence": 0.5,
            "latency_ms": 2.0,
        }
        for i in range(5)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Prediction), rows)
    raise_alert(engine, "drift", "warning", "descriptors drifted")
    traffic = manager.traffic(since=now - timedelta(hours=1))
    assert traffic.predictions == 5 and traffic.mean_confidence == 0.5
    assert traffic.hourly["predictions"].sum() == 5
    assert list(manager.recent_predictions(3)["designation"]) == ["listing 0", "listing 1", "listing 2"]
    kinds = {event["kind"] for event in manager.activity()}
    assert kinds == {"ingestion", "alert"}


def test_an_empty_database_says_how_to_migrate(tmp_path: Path) -> None:
    manager = DatabaseManager(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    status = manager.status()
    assert not status.up and "db upgrade" in status.detail
    with pytest.raises(DatabaseError, match="db upgrade"):
        manager.profile()


def test_an_unreachable_database_is_a_database_error() -> None:
    engine = make_engine(
        f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/none", connect_args={"connect_timeout": 2}
    )
    manager = DatabaseManager(engine)
    assert not manager.status().up
    with pytest.raises(DatabaseError, match=r"127\.0\.0\.1"):
        manager.profile()
