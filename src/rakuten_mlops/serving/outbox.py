"""The inference log's outbox: a local SQLite file where every answered prediction is durable first.

The API appends each request's predictions here, and commits (an fsync of SQLite's write-ahead
log), before it answers; the writer process then copies them to the `predictions` table and
removes them. The file is the spool too: while the database is down, rows simply stay here.

A request's rows are one outbox entry: the shared fields (time, model version, latency) as
columns, the per-listing lists as one pickled payload. A request to an AutoML table model
(`LoggedTableRequest`) is an entry too, its payload tagged with the model's name; the writer
stores those in `table_predictions`. Pickling a 1,000-item request takes a
fraction of a millisecond where 1,000 SQLite rows took 7 ms. The payload is only ever read back
by this package from a file under MLOPS_HOME, which is trusted like the model files beside it.
"""

from __future__ import annotations

import pickle
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

OUTBOX_FILE = "outbox.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    model_version TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    rows INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS writer_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    state TEXT NOT NULL,
    since REAL NOT NULL,
    error TEXT,
    stored INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class LoggedRequest:
    """One request's predictions, as columns (one list entry per listing)."""

    created_at: datetime
    model_version: str
    latency_ms: float
    request_ids: Sequence[str]
    designations: Sequence[str]
    descriptions: Sequence[str | None]
    codes: Sequence[str]
    confidences: Sequence[float]

    def __len__(self) -> int:
        return len(self.request_ids)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The `predictions` rows: request_id, created_at, model_version, designation, description,
        prdtypecode, confidence, latency_ms."""
        return zip(
            self.request_ids,
            repeat(self.created_at),
            repeat(self.model_version),
            self.designations,
            self.descriptions,
            self.codes,
            self.confidences,
            repeat(self.latency_ms),
            strict=False,  # the repeated fields never end
        )


@dataclass(frozen=True)
class LoggedTableRequest:
    """One request to a table model: each record as JSON, its prediction as text, the confidence (classifiers)."""

    created_at: datetime
    model: str
    model_version: str
    latency_ms: float
    request_ids: Sequence[str]
    records: Sequence[str]
    predictions: Sequence[str]
    confidences: Sequence[float | None]

    def __len__(self) -> int:
        return len(self.request_ids)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The `table_predictions` rows: request_id, created_at, model, model_version, record,
        prediction, confidence, latency_ms."""
        return zip(
            self.request_ids,
            repeat(self.created_at),
            repeat(self.model),
            repeat(self.model_version),
            self.records,
            self.predictions,
            self.confidences,
            repeat(self.latency_ms),
            strict=False,
        )


Logged = LoggedRequest | LoggedTableRequest
TABLE_TAG = "table"  # first item of a table request's payload (a listing payload starts with its ids)


def _payload(request: Logged) -> bytes:
    if isinstance(request, LoggedTableRequest):
        parts: tuple[Any, ...] = (
            TABLE_TAG, request.model, request.request_ids, request.records, request.predictions,
            request.confidences,
        )  # fmt: skip
    else:
        parts = (request.request_ids, request.designations, request.descriptions, request.codes,
                 request.confidences)  # fmt: skip
    return pickle.dumps(parts, protocol=5)


@dataclass(frozen=True)
class WriterState:
    """What the writer process last said about itself."""

    pid: int
    state: str  # starting | running | database_down | outbox_error | stopped
    since: float  # Unix time the state began
    error: str | None
    stored: int


class Outbox:
    """One connection to the outbox file (a connection per thread: sqlite3 connections are not shared)."""

    def __init__(self, folder: Path, *, durable: bool = True, busy_timeout_s: float = 10.0) -> None:
        self.path = folder / OUTBOX_FILE
        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        # Connections opening a new outbox at once (the API's threads, the writer process) can be told
        # "locked" at once, without SQLite's busy wait, while one of them switches the file to WAL and
        # creates the table: they try again until the busy timeout.
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                # durable: a commit is on disk when it returns (appends). The writer's deletes need not be.
                self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._db.executescript(SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    self._db.close()
                    raise
                time.sleep(0.02)
            except sqlite3.Error:
                self._db.close()
                raise

    def close(self) -> None:
        """Close this connection."""
        self._db.close()

    def append(self, requests: Sequence[Logged]) -> None:
        """Store requests in one durable transaction (group commit); raises sqlite3.Error or OSError."""
        entries = [
            (r.created_at.timestamp(), r.model_version, r.latency_ms, len(r), _payload(r)) for r in requests
        ]
        with self._db:  # BEGIN ... COMMIT, or ROLLBACK on error
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO outbox (created_at, model_version, latency_ms, rows, payload) VALUES (?, ?, ?, ?, ?)",
                entries,
            )

    def next_batch(self, max_rows: int) -> tuple[int, list[Logged]]:
        """The oldest entries holding about `max_rows` predictions (at least one entry); (last seq, requests)."""
        sizes = self._db.execute("SELECT seq, rows FROM outbox ORDER BY seq LIMIT 2000").fetchall()
        if not sizes:
            return 0, []
        last, total = sizes[0][0], 0
        for seq, rows in sizes:
            if total and total + rows > max_rows:
                break
            last, total = seq, total + rows
        found = self._db.execute(
            "SELECT created_at, model_version, latency_ms, payload FROM outbox WHERE seq <= ? ORDER BY seq",
            (last,),
        ).fetchall()
        return last, [_request(*entry) for entry in found]

    def remove_through(self, seq: int) -> None:
        """Forget the entries up to `seq`, now stored in the database."""
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))

    def backlog(self) -> tuple[int, datetime | None]:
        """Predictions waiting, and when the oldest of them was answered."""
        rows, oldest = self._db.execute(
            "SELECT COALESCE(SUM(rows), 0), MIN(created_at) FROM outbox"
        ).fetchone()
        return int(rows), None if oldest is None else datetime.fromtimestamp(oldest, UTC)

    def last_seq(self) -> int:
        """The newest entry's number (0 when empty): every entry up to it is gone once stored."""
        found = self._db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
        return int(found or 0)

    def first_seq(self) -> int | None:
        """The oldest entry still waiting, or None."""
        found = self._db.execute("SELECT MIN(seq) FROM outbox").fetchone()[0]
        return None if found is None else int(found)

    def set_writer_state(self, pid: int, state: str, error: str | None, stored: int) -> None:
        """Record the writer's state; `since` moves only when the state changes."""
        with self._db:
            self._db.execute(
                "INSERT INTO writer_state (id, pid, state, since, error, stored) VALUES (1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, error = excluded.error, "
                "stored = excluded.stored, since = CASE WHEN writer_state.state = excluded.state "
                "AND writer_state.pid = excluded.pid THEN writer_state.since ELSE excluded.since END, "
                "state = excluded.state",
                (pid, state, time.time(), error, stored),
            )

    def writer_state(self) -> WriterState | None:
        """The writer's last recorded state, or None before any writer ran."""
        found = self._db.execute("SELECT pid, state, since, error, stored FROM writer_state").fetchone()
        return None if found is None else WriterState(*found)


def _request(created_at: float, model_version: str, latency_ms: float, payload: bytes) -> Logged:
    parts = pickle.loads(payload)
    if parts[0] == TABLE_TAG:
        _, model, ids, records, predictions, scores = parts
        return LoggedTableRequest(
            datetime.fromtimestamp(created_at, UTC), model, model_version, latency_ms, ids, records,
            predictions, scores,
        )  # fmt: skip
    ids, designations, descriptions, codes, confidences = parts
    return LoggedRequest(
        datetime.fromtimestamp(created_at, UTC),
        model_version,
        latency_ms,
        ids,
        designations,
        descriptions,
        codes,
        confidences,
    )
