"""The inference log's writer process: copies the outbox to the `predictions` table, then empties it.

Predictions of the AutoML table models go to `table_predictions`, in the same transaction.

`python -m rakuten_mlops.serving.log_writer` reads its settings as one JSON line on stdin (the
database URL is a secret: never on a command line). Each API worker starts one; a file lock lets
one of them write at a time and another take over when it dies.

The writer holds nothing the outbox does not: it may be killed at any moment. Rows are inserted
skipping request ids already stored, so a batch inserted just before a kill and inserted again by
the next writer is stored once. A database that hangs instead of refusing (a stopped server, a
network partition, a lock pile-up) is caught by a deadline: past `write_timeout_s` on one batch
the writer exits, its API starts another, and the rows wait in the outbox meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg2
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.db.models import Prediction, TablePrediction
from rakuten_mlops.serving.outbox import Logged, LoggedRequest, LoggedTableRequest, Outbox

log = logging.getLogger("rakuten_mlops.inference_log.writer")
LOCK_FILE = "writer.lock"
BATCH_ROWS = 5_000
POLL_S = 0.05  # how often an idle writer looks for new entries
STALLED_EXIT = 75  # exit code of a writer that gave up on a database which stopped answering
# The PostgreSQL insert talks to psycopg2 directly, so its errors arrive unwrapped.
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, psycopg2.Error)
COLUMNS = (
    "request_id",
    "created_at",
    "model_version",
    "designation",
    "description",
    "prdtypecode",
    "confidence",
    "latency_ms",
)
TABLE_COLUMNS = (
    "request_id",
    "created_at",
    "model",
    "model_version",
    "record",
    "prediction",
    "confidence",
    "latency_ms",
)


def _inserts(table: str, columns: Sequence[str]) -> dict[str, str]:
    names = ", ".join(columns)
    return {
        "sqlite": f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) "
        "ON CONFLICT (request_id) DO NOTHING",
        "postgresql": f"INSERT INTO {table} ({names}) VALUES %s ON CONFLICT (request_id) DO NOTHING",
    }


_INSERT = _inserts(Prediction.__tablename__, COLUMNS)
_INSERT_TABLE = _inserts(TablePrediction.__tablename__, TABLE_COLUMNS)


def storable(text: str | None) -> str | None:
    """Text a database accepts: no NUL characters (PostgreSQL refuses them) and no lone surrogates."""
    if text is None:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _storable_rows(requests: Sequence[LoggedRequest]) -> list[tuple[Any, ...]]:
    """Every request's rows; one check over all the texts finds that none needs changing (the usual case)."""
    rows = list(chain.from_iterable(r.rows() for r in requests))
    texts = "".join(map(itemgetter(3), rows)) + "".join(filter(None, map(itemgetter(4), rows)))
    if "\x00" not in texts and (texts.isascii() or storable(texts) is texts):
        return rows
    return [(r[0], r[1], r[2], storable(r[3]) or "", storable(r[4]), *r[5:]) for r in rows]


def insert_predictions(engine: Engine, requests: Sequence[Logged]) -> int:
    """Insert the requests' rows in one transaction, skipping request ids already stored; rows sent.

    Straight to the driver: SQLAlchemy's per-row parameter processing cost 30 ms per 1,000 rows.
    """
    listings = _storable_rows([r for r in requests if isinstance(r, LoggedRequest)])
    tables = list(chain.from_iterable(r.rows() for r in requests if isinstance(r, LoggedTableRequest)))
    if not listings and not tables:
        return 0
    with engine.begin() as connection:
        for statements, rows in ((_INSERT, listings), (_INSERT_TABLE, tables)):
            if not rows:
                continue
            if engine.dialect.name == "postgresql":
                from psycopg2.extras import execute_values

                cursor = connection.connection.cursor()
                try:
                    execute_values(cursor, statements["postgresql"], rows, page_size=1_000)
                finally:
                    cursor.close()
            else:
                # SQLite stores DateTime as SQLAlchemy's text format (in UTC), which the ORM reads back.
                stamps = {t: t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for t in {r[1] for r in rows}}
                connection.exec_driver_sql(statements["sqlite"], [(r[0], stamps[r[1]], *r[2:]) for r in rows])
    return len(listings) + len(tables)


def import_spool_files(outbox: Outbox, folder: Path) -> int:
    """Move rows spooled by the earlier design (predictions-*.jsonl) into the outbox; rows moved."""
    moved = 0
    for path in sorted(folder.glob("predictions-*.jsonl")):
        requests = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                v = json.loads(line)
                requests.append(
                    LoggedRequest(
                        datetime.fromisoformat(v["created_at"]), v["model_version"], float(v["latency_ms"]),
                        [v["request_id"]], [v["designation"]], [v["description"]], [v["prdtypecode"]],
                        [float(v["confidence"])],
                    )
                )  # fmt: skip
            except (ValueError, KeyError, TypeError):
                log.error("inference log: keeping unreadable line of %s in %s.rejected", path, path.stem)
                with path.with_suffix(".rejected").open("a", encoding="utf-8") as bad:
                    bad.write(line + "\n")
        outbox.append(requests)
        path.unlink()
        moved += len(requests)
    return moved


class Writer:
    """The copy loop, with a deadline on each database call."""

    def __init__(self, engine: Engine, outbox: Outbox, write_timeout_s: float) -> None:
        self.engine, self.outbox, self.write_timeout_s = engine, outbox, write_timeout_s
        self.stored = 0
        self.stopping = threading.Event()
        self._busy_since: float | None = None
        self._state: tuple[str, str | None] = ("starting", None)

    def _say(self, state: str, error: str | None = None) -> None:
        """Record the writer's state when it changes (a write per batch would cost a commit per batch)."""
        if (state, error) == self._state:
            return
        self._state = (state, error)
        with contextlib.suppress(Exception):  # a full disk must not stop the copying
            self.outbox.set_writer_state(os.getpid(), state, error, self.stored)

    def watch(self) -> None:
        """Exit the process when one database call outlives the deadline (run in a daemon thread)."""
        while True:
            time.sleep(min(1.0, self.write_timeout_s / 4))
            started = self._busy_since
            if started is not None and time.monotonic() - started > self.write_timeout_s:
                message = f"the database has not answered for {self.write_timeout_s:.0f} s"
                log.error("inference log: %s; exiting so that a new writer takes over", message)
                self._say("database_down", message)
                os._exit(STALLED_EXIT)

    def run(self, drain_timeout_s: float) -> None:
        """Copy until told to stop; then go on until the outbox is empty, the database fails or time is up."""
        backoff = 0.5
        deadline: float | None = None
        removed_through = 0  # entries stored whose removal from the outbox failed (a full disk)
        while True:
            if self.stopping.is_set() and deadline is None:
                deadline = time.monotonic() + drain_timeout_s
            if deadline is not None and time.monotonic() > deadline:
                return
            last, requests = self.outbox.next_batch(BATCH_ROWS)
            if not requests:
                if deadline is not None:
                    return
                self._say("running")
                self.stopping.wait(POLL_S)
                continue
            if last > removed_through:
                self._busy_since = time.monotonic()
                try:
                    self.stored += insert_predictions(self.engine, requests)
                except DATABASE_ERRORS as exc:
                    self._busy_since = None
                    self._say("database_down", _reason(exc))
                    if deadline is not None:
                        return
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                self._busy_since = None
                self._say("running")
                backoff, removed_through = 0.5, last
            try:
                self.outbox.remove_through(removed_through)
            except Exception as exc:  # stored but not forgotten: forget them on the next pass
                self._say("outbox_error", str(exc))
                self.stopping.wait(backoff)


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else exc.__class__.__name__


def main() -> None:
    """Entry point of the writer process."""
    from rakuten_mlops.db.engine import make_engine

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s inference-log-writer %(levelname)s %(message)s"
    )
    config = json.loads(sys.stdin.readline())
    spool = Path(config["spool_dir"])
    holding = threading.Event()
    writer: Writer | None = None

    def stop(signum: int, frame: FrameType | None) -> None:
        if writer is None or not holding.is_set():
            raise SystemExit(0)  # still waiting for the lock: nothing to drain
        writer.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the API, which stops this process
    spool.mkdir(parents=True, exist_ok=True)
    with (spool / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # one writer at a time; the next waits here
        holding.set()
        engine = make_engine(config["url"], **config.get("engine_options", {}))
        outbox = Outbox(
            spool, durable=False
        )  # its deletes may be lost on a power cut: rows are then copied again
        writer = Writer(engine, outbox, float(config["write_timeout_s"]))
        with contextlib.suppress(Exception):
            if moved := import_spool_files(outbox, spool):
                log.info("inference log: %d rows spooled by an earlier version moved to the outbox", moved)
        threading.Thread(target=writer.watch, name="deadline", daemon=True).start()
        try:
            writer.run(float(config.get("drain_timeout_s", 10.0)))
        finally:
            writer._say("stopped")
            outbox.close()
            engine.dispose()


if __name__ == "__main__":
    main()
