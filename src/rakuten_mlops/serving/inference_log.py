"""The inference log: every answered prediction is stored exactly once, whatever fails.

Where a prediction is at each moment:

1. Before the API answers, the request's rows are committed to the outbox, a SQLite file under
   MLOPS_HOME/spool (`outbox.py`). Concurrent requests share one commit. If the outbox cannot be
   written (a full or read-only disk), the request is answered 503 with the reason: nothing is
   answered that is not durable.
2. A writer process (`log_writer.py`), started and restarted by the API, copies the outbox to the
   `predictions` table in batches and removes what it stored. While the database is down or
   hangs, rows wait in the outbox; a killed API or writer loses nothing, and a row copied twice is
   stored once (request ids are unique).

`/health` and `/metrics` show the backlog, its age and the writer's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rakuten_mlops.errors import MlopsError
from rakuten_mlops.serving.outbox import Logged, Outbox

log = logging.getLogger(__name__)
GROUP_MAX = 512  # requests committed together at most
STALE_S = 10.0  # rows answered longer ago than this and not yet stored: the log is stalled


class LogUnavailableError(MlopsError):
    """A prediction could not be made durable, so it must not be answered."""


@dataclass(frozen=True)
class LogStatus:
    """The inference log as /health shows it."""

    state: str  # ok | stalled | database_down | outbox_unwritable | writer_down | starting
    backlog: int = 0
    oldest_pending_at: datetime | None = None
    writer_pid: int | None = None
    error: str | None = None
    stored: int = 0
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def healthy(self) -> bool:
        """Whether rows reach the database as they come."""
        return self.state == "ok"


Done = Callable[[BaseException | None], None]


class InferenceLog:
    """The API side: durable appends (group commit), and the writer process kept running."""

    def __init__(
        self,
        url: str,
        spool_dir: Path,
        *,
        engine_options: dict[str, Any] | None = None,
        write_timeout_s: float = 30.0,
        check_interval_s: float = 0.5,
        on_status: Callable[[LogStatus], None] | None = None,
    ) -> None:
        self.url, self.spool_dir = url, Path(spool_dir)
        self.engine_options = engine_options or {}
        self.write_timeout_s = write_timeout_s
        self.check_interval_s = check_interval_s
        self._on_status = on_status
        self._queue: queue.SimpleQueue[tuple[Logged, Done] | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._write_error: str | None = None
        self._reader: Outbox | None = None  # the watch thread's connection, for the status
        self.status = LogStatus("starting")
        self._writer_wanted = True
        self.restarts = 0
        self.commits = 0  # transactions of the outbox: fewer than requests under concurrency

    # ------------------------------------------------------------ the request path

    async def record(self, request: Logged) -> None:
        """Return once the request's rows are durable in the outbox; LogUnavailableError if they cannot be."""
        if self._stopping.is_set():
            raise LogUnavailableError("the API is stopping; retry in a moment")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, error)

        self._queue.put((request, done))
        await future

    async def wait_stored(self, timeout: float = 5.0) -> bool:
        """Wait until everything recorded so far is in the database (feedback may name a fresh id)."""
        return await asyncio.to_thread(self.flush, timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every row recorded so far is in the database; False if `timeout` passed first."""
        outbox = Outbox(self.spool_dir)
        try:
            target = outbox.last_seq()
            deadline = time.monotonic() + timeout
            while (first := outbox.first_seq()) is not None and first <= target:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)
            return True
        finally:
            outbox.close()

    # ------------------------------------------------------------ lifecycle

    def start(self, *, writer: bool = True) -> InferenceLog:
        """Start the commit thread and the thread that keeps a writer process running (unless not `writer`).

        Nothing here fails on a full or read-only disk: requests get 503 until the outbox can be written.
        """
        self._writer_wanted = writer
        for target, name in (
            (self._commit_loop, "inference-log-commit"),
            (self._watch, "inference-log-watch"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Commit what is queued, let the writer store what it can within `timeout`, then stop it."""
        self._stopping.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()  # the writer drains for up to drain_timeout_s, then exits
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._refresh_status()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # ------------------------------------------------------------ threads

    def _commit_loop(self) -> None:
        outbox: Outbox | None = None
        while True:
            item = self._queue.get()
            if item is None:
                break
            items = [item]
            stop = False
            while len(items) < GROUP_MAX:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                items.append(more)
            error: BaseException | None = None
            try:
                outbox = outbox or Outbox(self.spool_dir)
                outbox.append([request for request, _ in items])
                self.commits += 1
                self._write_error = None
            except (sqlite3.Error, OSError) as exc:
                reason = f"the outbox at {self.spool_dir} cannot be written ({exc})"
                if self._write_error != reason:
                    log.error("inference log: %s; predictions are refused until it can", reason)
                self._write_error = reason
                error = LogUnavailableError(f"the prediction could not be stored durably: {reason}")
                if outbox is not None:
                    outbox.close()
                outbox = None  # reopened on the next request: the disk may have recovered
            for _, done in items:
                done(error)
            if stop:
                break
        if outbox is not None:
            outbox.close()

    def _watch(self) -> None:
        last_start = 0.0
        while not self._stopping.is_set():
            process = self._process
            down = process is None or process.poll() is not None
            if self._writer_wanted and down and time.monotonic() - last_start >= 2.0:
                if process is not None:
                    log.warning(
                        "inference log: the writer %s exited (%s); starting another",
                        process.pid,
                        process.poll(),
                    )
                    self.restarts += 1
                last_start = time.monotonic()
                with contextlib.suppress(OSError):
                    self._process = self._spawn()
            self._refresh_status()
            self._stopping.wait(self.check_interval_s)
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "rakuten_mlops.serving.log_writer"], stdin=subprocess.PIPE
        )
        config = {
            "url": self.url,
            "engine_options": self.engine_options,
            "spool_dir": str(self.spool_dir),
            "write_timeout_s": self.write_timeout_s,
        }
        assert process.stdin is not None
        process.stdin.write((json.dumps(config) + "\n").encode())
        process.stdin.close()
        return process

    def _refresh_status(self) -> None:
        try:
            self._reader = self._reader or Outbox(self.spool_dir)
            backlog, oldest = self._reader.backlog()
            writer = self._reader.writer_state()
        except (sqlite3.Error, OSError) as exc:
            if self._reader is not None:
                self._reader.close()
            self._reader = None
            reason = f"the outbox at {self.spool_dir} cannot be written ({exc})"
            self._publish(LogStatus("outbox_unwritable", error=self._write_error or reason))
            return
        process = self._process
        alive = process is not None and process.poll() is None
        state, error = "ok", None
        if self._write_error:
            state, error = "outbox_unwritable", self._write_error
        elif not alive and self._writer_wanted:
            state, error = "writer_down", "the writer process is not running; it is being restarted"
        elif writer is not None and writer.state == "database_down":
            state, error = "database_down", writer.error
        elif oldest is not None and (age := (datetime.now(UTC) - oldest).total_seconds()) > STALE_S:
            state = "stalled"
            error = f"answered predictions have waited {age:.0f} s for the database"
        pid = process.pid if alive and process is not None else None
        stored = writer.stored if writer is not None else 0
        self._publish(LogStatus(state, backlog, oldest, pid, error, stored))

    def _publish(self, status: LogStatus) -> None:
        self.status = status
        if self._on_status is not None:
            self._on_status(status)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return  # the request was cancelled (the client went away); its rows are stored anyway
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
