"""Nothing answered is lost: the real API on a real PostgreSQL, under the faults users meet.

"Lost" means a request answered 200 whose row is not in `predictions` once the API has restarted
and its log has drained. Each test counts what was answered, makes a fault happen for real (a
frozen database, killed processes, a full or unwritable spool folder), and checks the table.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.testing.postgres import PostgresCluster
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
LISTINGS = [
    {"designation": "Piscine tubulaire hors sol", "description": "bâche et pompe"},
    {"designation": "Jeu PS4 Fifa 22"},
    {"designation": "Lot de 3 tasses", "description": "porcelaine blanche"},
]


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server this test may stop, freeze and restart."""
    own = PostgresCluster().init()
    own.start()
    yield own
    own.destroy()


class Api:
    """`rakuten-mlops serve` on a free port, its log and the request ids it answered 200."""

    def __init__(self, home: Path, database: str, log: Path, **env: str) -> None:
        self.home, self.database, self.log, self.env = home, database, log, env
        self.answered: set[str] = set()
        self.refused = 0
        self._lock = threading.Lock()
        self.server: ServiceProcess | None = None
        self.url = ""

    def start(self) -> Api:
        port = free_port()
        environment = {
            **os.environ,
            "MLOPS_HOME": str(self.home),
            "DATABASE_URL": self.database,
            "MODEL_POLL_SECONDS": "3600",
            "INFERENCE_LOG_WRITE_TIMEOUT": "3",
            **self.env,
        }
        self.server = ServiceProcess(api_command(port), environment, self.log).start()
        self.url = f"http://127.0.0.1:{port}"
        self.server.wait_http(f"{self.url}/ready", timeout=120)
        return self

    @property
    def pid(self) -> int:
        assert self.server is not None and self.server.process is not None
        return self.server.process.pid

    def send(self, requests: int, batch: int = 1, *, workers: int = 1, tolerate_errors: bool = False) -> None:
        """Send requests (batches of `batch` listings); remember every request id answered 200."""

        def one(n: int) -> None:
            items = [LISTINGS[(n + i) % len(LISTINGS)] for i in range(batch)]
            try:
                if batch == 1:
                    response = httpx.post(f"{self.url}/predict", json=items[0], timeout=30)
                else:
                    response = httpx.post(f"{self.url}/predict/batch", json={"items": items}, timeout=30)
            except httpx.HTTPError:
                if tolerate_errors:
                    return
                raise
            with self._lock:
                if response.status_code == 200:
                    body = response.json()
                    answers = [body] if batch == 1 else body["predictions"]
                    self.answered.update(a["request_id"] for a in answers)
                elif response.status_code == 503 and "stored durably" in response.text:
                    self.refused += 1
                elif not tolerate_errors:
                    raise AssertionError(f"{response.status_code}: {response.text}")

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(requests)))

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/health", timeout=10).json())

    def wait_state(self, wanted: set[str], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            if health["inference_log"]["state"] in wanted or time.monotonic() > deadline:
                return health
            time.sleep(0.2)

    def drain(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.health()["inference_log"]["backlog"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.health()["inference_log"]["backlog"] == 0, self.health()

    def kill_group(self) -> None:
        os.killpg(self.pid, signal.SIGKILL)
        assert self.server is not None and self.server.process is not None
        self.server.process.wait(10)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def stored_ids(database: str) -> tuple[int, set[str]]:
    engine = make_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(Prediction)).scalar_one()
        ids = set(connection.execute(select(Prediction.request_id)).scalars())
    engine.dispose()
    return rows, ids


def restart_and_check(api: Api) -> None:
    """Start the API again on the same home, let the log drain, and check nothing answered is missing."""
    again = Api(api.home, api.database, api.log).start()
    try:
        again.drain()
    finally:
        again.stop()
    rows, ids = stored_ids(api.database)
    assert rows == len(ids), "a prediction was stored twice"
    assert api.answered <= ids, f"{len(api.answered - ids)} answered predictions were lost"


def test_a_frozen_database_then_a_killed_api_loses_no_answered_prediction(
    api_settings: Settings, tmp_path: Path, cluster: PostgresCluster
) -> None:
    api = Api(api_settings.mlops_home, cluster.create_database("frozen"), tmp_path / "api.log").start()
    try:
        api.send(30)
        cluster.pause()  # connections hang instead of being refused: no error reaches the writer
        api.send(100, workers=4)
        api.send(10, batch=50)
        health = api.wait_state({"stalled", "database_down"})
        assert health["status"] == "degraded" and health["inference_log"]["backlog"] > 0, health
        api.kill_group()  # a container stop, an OOM kill: nothing gets to flush
    finally:
        cluster.resume()
        api.stop()
    assert len(api.answered) == 30 + 100 + 500
    restart_and_check(api)


def test_a_stop_while_the_database_is_frozen_ends_in_time_and_loses_nothing(
    api_settings: Settings, tmp_path: Path, cluster: PostgresCluster
) -> None:
    api = Api(api_settings.mlops_home, cluster.create_database("stop"), tmp_path / "api.log").start()
    try:
        cluster.pause()
        api.send(200, workers=4)
        assert api.server is not None
        code = api.server.stop(timeout=10)  # SIGTERM with a 10 s grace
        assert code is not None and code in (0, -signal.SIGTERM), api.server.log_tail()
    finally:
        cluster.resume()
        api.stop()
    restart_and_check(api)


def test_a_killed_writer_and_a_killed_api_lose_nothing(
    api_settings: Settings, tmp_path: Path, cluster: PostgresCluster
) -> None:
    api = Api(api_settings.mlops_home, cluster.create_database("kills"), tmp_path / "api.log").start()
    try:
        load = threading.Thread(target=api.send, args=(400,), kwargs={"workers": 8, "tolerate_errors": True})
        load.start()
        time.sleep(1.0)
        writer = api.health()["inference_log"]["writer_pid"]
        assert writer is not None
        os.kill(writer, signal.SIGKILL)
        time.sleep(1.0)
        api.kill_group()  # while requests are in flight
        load.join(60)
    finally:
        api.stop()
    assert api.answered
    restart_and_check(api)


def test_a_full_disk_during_an_outage_refuses_with_503_and_loses_nothing_answered(
    api_settings: Settings, tmp_path: Path, cluster: PostgresCluster
) -> None:
    api = Api(api_settings.mlops_home, cluster.create_database("full"), tmp_path / "api.log").start()
    try:
        cluster.stop()  # the database is down: rows stay in the outbox
        api.send(20, batch=10)
        # From now on no file of the API process may grow, as on a full disk.
        resource.prlimit(api.pid, resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
        api.send(10, batch=100)
        assert api.refused > 0
        assert api.wait_state({"outbox_unwritable"})["status"] == "degraded"
        resource.prlimit(api.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        before = len(api.answered)
        api.send(10, batch=10)
        assert len(api.answered) == before + 100  # accepted again at once, without a restart
        cluster.start()
        api.drain()
    finally:
        api.stop()
    rows, ids = stored_ids(api.database)
    assert rows == len(ids) and ids == api.answered  # what was refused was not stored either


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` read-only for the block (a read-only bind mount: permissions alone do not stop root)."""
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        # Not a tool that could be installed: this process may not mount (no CAP_SYS_ADMIN).
        pytest.skip(f"cannot bind-mount the spool folder read-only: {mounted.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False, capture_output=True)


def test_an_api_started_on_a_read_only_spool_serves_503_then_recovers_without_a_restart(
    api_settings: Settings, tmp_path: Path, cluster: PostgresCluster
) -> None:
    database = cluster.create_database("readonly")
    first = Api(api_settings.mlops_home, database, tmp_path / "api.log").start()
    try:
        cluster.stop()
        first.send(10)  # during the outage: kept in the outbox
    finally:
        first.stop()
    api = Api(api_settings.mlops_home, database, tmp_path / "api.log")
    try:
        with read_only(api_settings.spool_dir):
            api.start()  # it starts, and says why it cannot log, instead of failing with a traceback
            api.send(5)
            assert api.refused == 5 and not api.answered
            health = api.wait_state({"outbox_unwritable"})
            assert health["status"] == "degraded" and "cannot be written" in health["inference_log"]["error"]
        api.send(10)  # writable again: accepted at once
        assert len(api.answered) == 10
        cluster.start()
        api.drain()
    finally:
        api.stop()
    rows, ids = stored_ids(database)
    assert rows == len(ids) == 20 and ids == first.answered | api.answered
