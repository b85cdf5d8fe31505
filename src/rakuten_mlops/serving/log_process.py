"""The inference log in its own process, so that storing rows never takes the request loop's turn.

With the writer as a thread of the API process, every row it bound and every database call
it made competed for the interpreter lock with the request loop: on 1,000-item batches the
log cost a third of the throughput. Here the API process only pickles each request's rows
onto a pipe; a child process runs the same `InferenceLog` (batched writes, spool through
database outages, replay).

Nothing accepted is lost if the child dies. The parent keeps every request's rows until the
child reports them stored or spooled (rows leave the child's queue in the order they came),
starts a new child and sends the unconfirmed rows again; inserts skip request ids already
stored, so a row sent twice is stored once. Whatever is still unconfirmed when the API stops
and no child can take it is spooled by the parent itself, and replayed by the next writer.

The child is started as `python -m rakuten_mlops.serving.log_process FD`: it reads its settings,
then the rows, from the pipe FD (no secret on its command line), imports only what writing
needs, and publishes its progress in a small memory-mapped state file the parent reads.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from rakuten_mlops.serving.inference_log import InferenceLog, PredictionRecord, append_spool

log = logging.getLogger(__name__)

PIPE_BYTES = 1 << 20  # a 1,000-item batch (~300 KB pickled) is written without waiting for the child
_F_SETPIPE_SZ = 1031  # Linux fcntl to enlarge a pipe (unprivileged processes may go up to 1 MiB)
_READY, _DONE, _SPOOLED = 0, 1, 2  # int64 slots of the state file
_STATE_BYTES = 8 * 3
_Columns = list[tuple[Any, ...]]  # a request's rows as one tuple per field


class _State:
    """Three int64 counters in a memory-mapped file, written by the child and read by the parent."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        if create:
            path.write_bytes(bytes(_STATE_BYTES))
        with path.open("r+b") as handle:
            self._map = mmap.mmap(handle.fileno(), _STATE_BYTES)
        self._values = memoryview(self._map).cast("q")

    def __getitem__(self, slot: int) -> int:
        return int(self._values[slot])

    def __setitem__(self, slot: int, value: int) -> None:
        self._values[slot] = value  # one aligned 8-byte store: never read half-written

    def close(self, *, remove: bool = False) -> None:
        self._values.release()
        self._map.close()
        if remove:
            self.path.unlink(missing_ok=True)


def _writer_main(fd: int) -> None:
    """The child process: hand each request's rows to an InferenceLog until told to stop.

    `None` on the pipe (or the pipe closing, when the API process died) means: drain and exit.
    Interrupt signals are left to the API process, which stops the child once it has drained.
    """
    from rakuten_mlops.db.engine import make_engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reader = Connection(fd, writable=False)
    config = reader.recv()
    state = _State(Path(config["state"]), create=False)
    engine = make_engine(config["url"], **config["engine_options"])
    lock = threading.Lock()

    def publish(_pending: int) -> None:
        with lock:  # read under the lock, so a late caller never writes an older value
            state[_DONE] = writer.done
            state[_SPOOLED] = writer.spooled

    writer = InferenceLog(engine, Path(config["spool_dir"]), on_pending=publish).start()
    state[_READY] = 1
    try:
        while True:
            try:
                rows = reader.recv()
            except EOFError:
                break
            if rows is None:
                break
            writer.submit(list(map(PredictionRecord._make, zip(*rows, strict=True))))
    finally:
        writer.stop()
        publish(0)
        engine.dispose()
        state.close()


def _count(columns: _Columns) -> int:
    return len(columns[0]) if columns else 0


class InferenceLogProcess:
    """Same interface as `InferenceLog` (submit, pending, flush, stop), written by a child process."""

    def __init__(
        self,
        url: str,
        spool_dir: Path,
        *,
        engine_options: dict[str, Any] | None = None,
        on_pending: Callable[[int], None] | None = None,
        check_interval: float = 0.25,
        restart_interval: float = 2.0,
        start_timeout: float = 60.0,
    ) -> None:
        self.url = url
        self.spool_dir = Path(spool_dir)
        self.engine_options = engine_options or {}
        self._on_pending = on_pending
        self.check_interval = check_interval
        self.restart_interval = restart_interval
        self.start_timeout = start_timeout
        self._lock = threading.Lock()  # guards the pipe and the bookkeeping below
        self._submitted = 0  # rows ever submitted
        # (index of the first row, the rows as columns), in order. Columns rather than one tuple per row:
        # 8 objects per request instead of 1,000 for the garbage collector to scan while they wait.
        self._unconfirmed: deque[tuple[int, _Columns]] = deque()
        self._base = 0  # index of the first row the current child was sent
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: Connection | None = None
        self._state: _State | None = None
        self._broken = False
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._last_reported: int | None = None
        self.restarts = 0

    # ------------------------------------------------------------ public

    @property
    def pid(self) -> int | None:
        """The writer process's id (None before start)."""
        return None if self._process is None else self._process.pid

    @property
    def pending(self) -> int:
        """Rows not yet in the database: not yet confirmed by the writer, plus those it spooled."""
        with self._lock:
            confirmed, spooled = self._progress()
            return self._submitted - confirmed + spooled

    def start(self) -> InferenceLogProcess:
        """Start the writer process (waiting until it is ready) and the thread that watches it."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._replace_child()
        self._watcher = threading.Thread(target=self._watch, name="inference-log-watch", daemon=True)
        self._watcher.start()
        return self

    def submit(self, records: Sequence[PredictionRecord]) -> None:
        """Send one request's rows to the writer; never waits on the database."""
        columns: _Columns = list(zip(*records, strict=True))  # also pickles several times faster
        with self._lock:
            self._unconfirmed.append((self._submitted, columns))
            self._submitted += len(records)
            if self._pipe is not None and not self._broken:
                try:
                    self._pipe.send(columns)
                except OSError:  # the writer died: the watcher starts another and sends these again
                    self._broken = True
        self._report()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every row submitted so far is stored or spooled."""
        with self._lock:
            target = self._submitted
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                confirmed, _ = self._progress()
            if confirmed >= target:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def stop(self, timeout: float = 30.0) -> None:
        """Let the writer drain and exit; spool here whatever it could not confirm."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        with self._lock:
            if self._pipe is not None:
                with contextlib.suppress(OSError):
                    self._pipe.send(None)
                self._pipe.close()
                self._pipe = None
        process = self._process
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("inference log: the writer did not stop within %.0f s; stopping it", timeout)
                process.kill()
                process.wait()
        with self._lock:
            self._prune()
            left = [
                PredictionRecord._make(row)
                for _, columns in self._unconfirmed
                for row in zip(*columns, strict=True)
            ]
            if left:
                self._rescue(left)
            if self._state is not None:
                self._state.close(remove=True)
                self._state = None
            self._base = self._submitted  # every row is now stored or in a spool file
        self._report()

    # ------------------------------------------------------------ internals

    def _progress(self) -> tuple[int, int]:
        """(rows confirmed over all children, rows the current child has spooled); call under the lock."""
        if self._state is None:
            return self._base, 0
        return self._base + self._state[_DONE], self._state[_SPOOLED]

    def _prune(self) -> None:
        confirmed, _ = self._progress()
        while self._unconfirmed and self._unconfirmed[0][0] + _count(self._unconfirmed[0][1]) <= confirmed:
            self._unconfirmed.popleft()

    def _spawn(self) -> tuple[subprocess.Popen[bytes], Connection, _State]:
        """Start a writer process and wait until it reports ready."""
        state = _State(self.spool_dir / f".writer-{uuid.uuid4().hex[:12]}.state", create=True)
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_fd, _F_SETPIPE_SZ, PIPE_BYTES)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(read_fd)], pass_fds=(read_fd,), stdin=subprocess.DEVNULL
            )
        except OSError:
            os.close(write_fd)
            state.close(remove=True)
            raise
        finally:
            os.close(read_fd)  # the child alone reads: it sees the pipe end if this process dies
        pipe = Connection(write_fd, readable=False)
        config = {
            "url": self.url,
            "engine_options": self.engine_options,
            "spool_dir": str(self.spool_dir),
            "state": str(state.path),
        }
        pipe.send(config)
        deadline = time.monotonic() + self.start_timeout
        while not state[_READY] and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if not state[_READY]:
            log.error("inference log: the writer process %s did not become ready", process.pid)
        return process, pipe, state

    def _replace_child(self) -> None:
        """Start a writer, then send it every row the previous one did not confirm."""
        process, pipe, state = self._spawn()
        with self._lock:
            self._prune()
            if self._pipe is not None:
                self._pipe.close()
            if self._state is not None:
                self._state.close(remove=True)
            self._process, self._pipe, self._state, self._broken = process, pipe, state, False
            self._base = self._unconfirmed[0][0] if self._unconfirmed else self._submitted
            for _, columns in self._unconfirmed:
                try:
                    pipe.send(columns)
                except OSError:
                    self._broken = True
                    break

    def _watch(self) -> None:
        last_start = time.monotonic()
        while not self._stopping.wait(self.check_interval):
            with self._lock:
                self._prune()
                process = self._process
                broken = self._broken or (process is not None and process.poll() is not None)
            if broken and process is not None and time.monotonic() - last_start >= self.restart_interval:
                log.warning(
                    "inference log: the writer process %s stopped (exit code %s); starting another",
                    process.pid,
                    process.poll(),
                )
                last_start = time.monotonic()
                try:
                    self._replace_child()
                    self.restarts += 1
                except OSError as exc:
                    log.error("inference log: cannot start a writer process: %s", exc)
            self._report()

    def _rescue(self, rows: list[PredictionRecord]) -> None:
        """Spool rows no writer confirmed, under the writer's id so that the next writer replays them."""
        owner = self._process.pid if self._process is not None else os.getpid()
        path = self.spool_dir / f"predictions-{owner}-rescued.jsonl"
        append_spool(path, rows)
        log.warning("inference log: %d rows spooled to %s for the next writer to store", len(rows), path)
        self._unconfirmed.clear()

    def _report(self) -> None:
        if self._on_pending is None:
            return
        pending = self.pending
        if pending != self._last_reported:
            self._last_reported = pending
            self._on_pending(pending)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s inference-log-writer %(levelname)s %(message)s"
    )
    _writer_main(int(sys.argv[1]))
