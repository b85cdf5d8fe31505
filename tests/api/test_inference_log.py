"""The inference log's batched writer (the thread the writer process runs) on a real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.serving.inference_log import InferenceLog, PredictionRecord


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    upgrade(engine)
    return engine


def record(request_id: str, designation: str, description: str | None, at: datetime) -> PredictionRecord:
    return PredictionRecord(request_id, at, "3", designation, description, "2583", 0.75, 2.5)


def test_a_request_that_fills_a_batch_is_written_without_waiting(engine: Engine, tmp_path: Path) -> None:
    # An hour between gathering passes: only a request of batch_size rows or more is written before it.
    log = InferenceLog(engine, tmp_path / "spool", batch_size=100, flush_interval=3600).start()
    try:
        now = datetime.now(UTC)
        log.submit([record(f"big-{i}", f"Livre {i}", None, now) for i in range(100)])
        assert log.flush(timeout=30)
        assert log.written == 100 and log.pending == 0
    finally:
        log.stop()


def test_rows_are_stored_as_served_and_bad_text_made_storable(engine: Engine, tmp_path: Path) -> None:
    paris = timezone(timedelta(hours=1))
    served = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=paris)
    clean = [
        record("a", "Poupée Noël", "Très belle", served),
        record("b", "Jeu PS4", None, served + timedelta(seconds=1)),
    ]
    hostile = [record("c", "nul\x00byte", "lone \ud800 surrogate", served)]
    log = InferenceLog(engine, tmp_path / "spool", batch_size=1, flush_interval=0.01).start()
    try:
        log.submit(clean)  # a batch with nothing to change
        assert log.flush(timeout=30)
        log.submit(hostile)
        assert log.flush(timeout=30)
    finally:
        log.stop()
    with engine.connect() as connection:
        rows = {r.request_id: r for r in connection.execute(select(Prediction)).all()}
    assert (rows["a"].designation, rows["a"].description) == ("Poupée Noël", "Très belle")
    assert (rows["b"].designation, rows["b"].description) == ("Jeu PS4", None)
    assert rows["a"].created_at.replace(tzinfo=UTC) == served  # stored in UTC
    assert rows["b"].created_at - rows["a"].created_at == timedelta(seconds=1)
    assert (rows["a"].model_version, rows["a"].prdtypecode, rows["a"].confidence) == ("3", "2583", 0.75)
    assert rows["c"].designation == "nulbyte" and rows["c"].description == "lone ? surrogate"
