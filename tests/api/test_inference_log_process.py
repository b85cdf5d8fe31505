"""The inference log's writer process: every submitted row stored exactly once, even if it dies."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.serving.inference_log import PredictionRecord
from rakuten_mlops.serving.log_process import InferenceLogProcess


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = make_engine(url)
    upgrade(engine)
    return url, engine


def records(prefix: str, count: int) -> list[PredictionRecord]:
    now = datetime.now(UTC)
    return [
        PredictionRecord(
            f"{prefix}-{i}", now, "1", f"Listing {i} é", None if i % 2 else "desc", "2583", 0.5, 1.0
        )
        for i in range(count)
    ]


def stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(Prediction)).scalar_one()
        distinct = connection.execute(select(func.count(func.distinct(Prediction.request_id)))).scalar_one()
    return rows, distinct


def wait_for(condition, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_rows_are_stored_once_and_pending_drains(database: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = database
    pending_seen: list[int] = []
    writer = InferenceLogProcess(url, tmp_path / "spool", on_pending=pending_seen.append).start()
    try:
        assert writer.pid is not None and writer.pid != os.getpid()
        for request in range(20):
            writer.submit(records(f"r{request}", 50))
        assert writer.flush(timeout=30)
        assert stored(engine) == (1_000, 1_000)
        assert wait_for(lambda: writer.pending == 0)
        assert max(pending_seen) > 0  # the gauge saw rows waiting
    finally:
        writer.stop()
    with engine.connect() as connection:
        row = connection.execute(select(Prediction).where(Prediction.request_id == "r3-1")).one()
    assert (row.designation, row.description, row.prdtypecode) == ("Listing 1 é", None, "2583")
    assert not list((tmp_path / "spool").iterdir())  # no spool and no state file left behind


def test_a_killed_writer_is_replaced_and_loses_nothing(database: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = database
    writer = InferenceLogProcess(url, tmp_path / "spool", restart_interval=0.2).start()
    try:
        first = writer.pid
        assert first is not None
        for request in range(10):
            writer.submit(records(f"a{request}", 100))
        os.kill(first, signal.SIGKILL)  # rows in the pipe and in the writer's memory die with it
        for request in range(10):
            writer.submit(records(f"b{request}", 100))
        assert wait_for(lambda: writer.restarts >= 1)
        assert writer.pid != first
        assert writer.flush(timeout=30)
        assert stored(engine) == (2_000, 2_000)
    finally:
        writer.stop()


def test_rows_no_writer_confirmed_are_spooled_and_replayed(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    spool = tmp_path / "spool"
    writer = InferenceLogProcess(url, spool, restart_interval=3_600).start()  # never replaced here
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)
    assert wait_for(lambda: writer._process is not None and writer._process.poll() is not None)
    writer.submit(records("late", 30))
    writer.stop()
    rescued = list(spool.glob("predictions-*-rescued.jsonl"))
    assert len(rescued) == 1 and len(rescued[0].read_text().splitlines()) == 30
    assert stored(engine) == (0, 0)

    successor = InferenceLogProcess(url, spool).start()  # the next API start replays the file
    try:
        assert wait_for(lambda: stored(engine) == (30, 30))
        assert wait_for(lambda: not list(spool.glob("predictions-*.jsonl")))
    finally:
        successor.stop()
