"""The inference log's parts on real databases: the outbox file, the copy loop, the API-side log."""

from __future__ import annotations

import asyncio
import json
import resource
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from rakuten_mlops.db.models import Prediction, TablePrediction
from rakuten_mlops.serving.inference_log import InferenceLog, LogUnavailableError
from rakuten_mlops.serving.log_writer import Writer, import_spool_files, insert_predictions
from rakuten_mlops.serving.outbox import LoggedRequest, LoggedTableRequest, Outbox


def request(prefix: str, count: int, at: datetime | None = None, **texts: str | None) -> LoggedRequest:
    at = at or datetime.now(UTC)
    designation = texts.get("designation") or "Livre"
    return LoggedRequest(
        at,
        "3",
        2.5,
        [f"{prefix}-{i}" for i in range(count)],
        [f"{designation} {i}" for i in range(count)],
        [texts.get("description")] * count,
        ["2583"] * count,
        [0.75] * count,
    )


def stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(Prediction)).scalar_one()
        distinct = connection.execute(select(func.count(func.distinct(Prediction.request_id)))).scalar_one()
    return rows, distinct


def drain(engine: Engine, outbox: Outbox) -> Writer:
    """Run the copy loop until the outbox is empty (stop is asked at once: it drains, then returns)."""
    writer = Writer(engine, outbox, write_timeout_s=60)
    writer.stopping.set()
    writer.run(drain_timeout_s=60)
    return writer


def test_rows_go_through_the_outbox_to_the_database_exactly_as_served(engine: Engine, tmp_path: Path) -> None:
    paris = timezone(timedelta(hours=1))
    served = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=paris)
    outbox = Outbox(tmp_path / "spool")
    outbox.append([request("a", 2, served, designation="Poupée Noël", description="Très belle")])
    outbox.append([request("b", 1, served + timedelta(seconds=1), designation="Jeu PS4")])
    hostile = request("c", 1, served, designation="nul\x00byte", description="lone \ud800 surrogate")
    outbox.append([hostile])
    assert outbox.backlog() == (4, served.astimezone(UTC))

    writer = drain(engine, outbox)
    assert writer.stored == 4 and outbox.backlog() == (0, None)
    with engine.connect() as connection:
        rows = {r.request_id: r for r in connection.execute(select(Prediction)).all()}
    assert (rows["a-1"].designation, rows["a-1"].description) == ("Poupée Noël 1", "Très belle")
    assert rows["b-0"].description is None
    created = rows["a-0"].created_at
    assert (created if created.tzinfo else created.replace(tzinfo=UTC)) == served
    assert rows["c-0"].designation == "nulbyte 0" and "\ud800" not in rows["c-0"].description


def test_rows_copied_twice_are_stored_once(engine: Engine, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "spool")
    outbox.append([request("twice", 50)])
    _, requests = outbox.next_batch(1_000)
    insert_predictions(engine, requests)  # a writer killed here, before forgetting them...
    drain(engine, outbox)  # ...and the next writer copies them again
    assert stored(engine) == (50, 50)


def test_table_model_rows_share_the_outbox_and_land_in_their_own_table_once(
    engine: Engine, tmp_path: Path
) -> None:
    served = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    table = LoggedTableRequest(
        served, "churn-export-churned", "2", 4.0, ["t-0", "t-1"],
        ['{"plan": "pro", "note": "nul\\u0000"}', '{"plan": null}'], ["oui", "non"], [0.9, None],
    )  # fmt: skip
    outbox = Outbox(tmp_path / "spool")
    outbox.append([request("l", 3, served), table])  # one group commit, both kinds
    assert outbox.backlog() == (5, served)
    _, requests = outbox.next_batch(1_000)
    assert requests[1] == table
    insert_predictions(engine, requests)  # a writer killed before forgetting them, then another
    assert drain(engine, outbox).stored == 5
    assert stored(engine) == (3, 3)
    with engine.connect() as connection:
        rows = {r.request_id: r for r in connection.execute(select(TablePrediction)).all()}
    assert set(rows) == {"t-0", "t-1"}
    assert (rows["t-0"].model, rows["t-0"].model_version, rows["t-0"].prediction) == (
        "churn-export-churned", "2", "oui"
    )  # fmt: skip
    assert json.loads(rows["t-0"].record) == {"plan": "pro", "note": "nul\u0000"}
    assert (rows["t-0"].confidence, rows["t-1"].confidence) == (0.9, None)


def test_a_backlog_is_copied_in_large_batches_without_waiting(engine: Engine, tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "spool")
    outbox.append([request(f"r{n}", 100) for n in range(120)])  # 12,000 rows of 100-item requests
    batches: list[int] = []
    original = outbox.remove_through

    def counting(seq: int) -> None:
        batches.append(seq)
        original(seq)

    outbox.remove_through = counting  # type: ignore[method-assign]
    drain(engine, outbox)
    assert stored(engine) == (12_000, 12_000)
    assert len(batches) == 3  # 5,000-row batches, not one per request


def test_rows_of_the_earlier_spool_format_move_to_the_outbox(engine: Engine, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    line = {
        "request_id": "old-1", "created_at": "2026-11-20T10:00:00+00:00", "model_version": "1",
        "designation": "Lampe", "description": None, "prdtypecode": "2060", "confidence": 0.5, "latency_ms": 1.0,
    }  # fmt: skip
    (spool / "predictions-123-abcd.jsonl").write_text(json.dumps(line) + "\n{torn line\n", encoding="utf-8")
    outbox = Outbox(spool)
    assert import_spool_files(outbox, spool) == 1
    assert (
        not list(spool.glob("*.jsonl"))
        and (spool / "predictions-123-abcd.rejected").read_text() == "{torn line\n"
    )
    drain(engine, outbox)
    assert stored(engine) == (1, 1)


def test_a_database_that_refuses_leaves_rows_in_the_outbox(tmp_path: Path) -> None:
    from rakuten_mlops.db import make_engine
    from rakuten_mlops.testing.processes import free_port

    down = make_engine(
        f"postgresql://nobody:x@127.0.0.1:{free_port()}/none", connect_args={"connect_timeout": 2}
    )
    outbox = Outbox(tmp_path / "spool")
    outbox.append([request("kept", 10)])
    writer = drain(down, outbox)
    assert writer.stored == 0 and outbox.backlog()[0] == 10
    state = outbox.writer_state()
    assert state is not None and state.state == "database_down" and state.error


def test_connections_opening_a_new_outbox_at_once_all_open_it(tmp_path: Path) -> None:
    # The API's appender, its status reader and the writer process all open the outbox when it starts;
    # SQLite answers some of them "locked" at once (no busy wait) while another makes the file WAL.
    errors: list[str] = []
    for attempt in range(60):
        folder = tmp_path / f"spool-{attempt}"
        start = threading.Barrier(8)

        def open_it(folder: Path = folder, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                Outbox(folder).close()
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []


def test_the_api_side_log_refuses_what_it_cannot_make_durable_and_recovers(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    log = InferenceLog("sqlite:///" + str(tmp_path / "app.db"), spool).start(writer=False)
    try:
        asyncio.run(log.record(request("ok", 3)))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        # No file of this process may grow from now on: a full disk.
        resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, hard))
        try:
            with pytest.raises(LogUnavailableError, match="could not be stored durably"):
                asyncio.run(log.record(request("refused", 500, designation="x" * 2_000)))
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        asyncio.run(log.record(request("after", 2)))  # the disk has room again: accepted at once
        assert Outbox(spool).backlog()[0] == 5
    finally:
        log.stop(timeout=5)


def test_concurrent_requests_share_commits(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    log = InferenceLog("sqlite:///" + str(tmp_path / "app.db"), spool).start(writer=False)

    async def many() -> None:
        await asyncio.gather(*(log.record(request(f"c{n}", 2)) for n in range(200)))

    try:
        thread = threading.Thread(target=asyncio.run, args=(many(),))
        thread.start()
        thread.join(60)
        assert Outbox(spool).backlog()[0] == 400
        assert log.commits < 200  # requests that arrived together were committed together
    finally:
        log.stop(timeout=5)
