"""A real uvicorn server on 127.0.0.1: hot swap under load, and a PostgreSQL outage while serving."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Prediction
from rakuten_mlops.registry import Registry
from rakuten_mlops.serving.outbox import Outbox
from rakuten_mlops.testing.postgres import PostgresCluster
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port

GRACEFUL = (0, -signal.SIGTERM)  # uvicorn re-raises the SIGTERM it handled once shut down
LISTINGS = [
    {"designation": "Piscine tubulaire hors sol", "description": "bâche et pompe"},
    {"designation": "Jeu PS4 Fifa 22"},
    {"designation": "Lot de 3 tasses", "description": "porcelaine blanche"},
    {"designation": "Figurine Star Wars", "description": None},
]


def start_api(settings: Settings, tmp_path: Path, **env: str) -> tuple[ServiceProcess, str]:
    port = free_port()
    environment = {
        **os.environ,
        "MLOPS_HOME": str(settings.mlops_home),
        "API_KEY": settings.api_key or "",
        "MODEL_POLL_SECONDS": "60",
        **env,
    }
    server = ServiceProcess(api_command(port), environment, tmp_path / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    server.wait_http(f"{url}/ready", timeout=90)
    return server, url


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server this test may stop and restart."""
    cluster = PostgresCluster().init()
    cluster.start()
    yield cluster
    cluster.destroy()


def test_hot_swap_under_load_fails_no_request(api_settings: Settings, tmp_path: Path) -> None:
    server, url = start_api(api_settings, tmp_path)
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    versions: list[str] = []

    def hammer(worker: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            sent = 0
            while not stop.is_set() and sent < 400:  # bounded: at most 8 x 400 requests
                response = client.post("/predict", json=LISTINGS[(worker + sent) % len(LISTINGS)])
                sent += 1
                outcomes[str(response.status_code)] += 1
                if response.status_code == 200:
                    versions.append(response.json()["model_version"])

    try:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(hammer, w) for w in range(8)]
            time.sleep(1.0)
            Registry.from_uri(api_settings.tracking_uri, api_settings.model_name).promote("2", "swap test")
            reload = httpx.post(
                f"{url}/model/reload", headers={"X-API-Key": api_settings.api_key or ""}, timeout=60
            )
            assert reload.status_code == 200, reload.text
            assert reload.json() == {"changed": True, "version": "2", "previous_version": "1"}
            time.sleep(1.0)
            stop.set()
            for future in futures:
                future.result()
        assert set(outcomes) == {"200"}, outcomes
        assert versions[0] == "1" and versions[-1] == "2"
        assert httpx.get(f"{url}/model").json()["version"] == "2"
    finally:
        stop.set()
        assert server.stop() in GRACEFUL, server.log_tail()


@pytest.mark.postgres
def test_database_outage_loses_no_prediction(
    api_settings: Settings, tmp_path: Path, own_cluster: PostgresCluster
) -> None:
    database = own_cluster.create_database("outage")
    server, url = start_api(api_settings, tmp_path, DATABASE_URL=database)
    served = 0
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(30):
                assert client.post("/predict", json=LISTINGS[i % 4]).status_code == 200
                served += 1
            own_cluster.stop()
            for i in range(60):  # the database is down: answers go on, rows go to the spool
                assert client.post("/predict", json=LISTINGS[i % 4]).status_code == 200
                served += 1
            batch = client.post("/predict/batch", json={"items": LISTINGS * 5})
            assert batch.status_code == 200
            served += len(LISTINGS) * 5
            time.sleep(0.6)
            health = client.get("/health").json()
            assert health["inference_log_pending"] > 0 and health["inference_log"]["backlog"] > 0
            assert health["inference_log"]["state"] == "database_down" and health["status"] == "degraded"
            own_cluster.start()
            deadline = time.monotonic() + 60
            while client.get("/health").json()["inference_log_pending"] and time.monotonic() < deadline:
                time.sleep(0.5)
            for i in range(10):  # and new rows go straight to the database again
                assert client.post("/predict", json=LISTINGS[i % 4]).status_code == 200
                served += 1
    finally:
        assert server.stop() in GRACEFUL, server.log_tail()
    engine = make_engine(database)
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(Prediction)).scalar_one()
        distinct = connection.execute(select(func.count(func.distinct(Prediction.request_id)))).scalar_one()
    engine.dispose()
    assert stored == distinct == served
    assert Outbox(api_settings.spool_dir).backlog() == (0, None)


def test_two_workers_share_one_set_of_metrics(api_settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    environment = {**os.environ, "MLOPS_HOME": str(api_settings.mlops_home), "MODEL_POLL_SECONDS": "60"}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = ServiceProcess(api_command(port, workers=2), environment, tmp_path / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        server.wait_http(f"{url}/ready", timeout=120)
        time.sleep(2.0)  # let the second worker finish loading too
        with ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(lambda i: httpx.post(f"{url}/predict", json=LISTINGS[i % 4]).status_code, range(80))
            )
        assert codes == [200] * 80
        text = httpx.get(f"{url}/metrics").text
        served = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("rakuten_predictions_total{")
        )
        assert served == 80, text[:2000]
        assert 'rakuten_model_info{version="1"} 1.0' in text
    finally:
        assert server.stop() in GRACEFUL, server.log_tail()
    assert (api_settings.mlops_home / "prometheus-multiproc").is_dir()
