"""The API starts at once while MLflow is unreachable, from its local copy, and reconnects later."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest

from rakuten_mlops.config import Settings
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port

pytestmark = pytest.mark.slow


def _api(home: Path, log: Path, **env: str) -> tuple[ServiceProcess, str]:
    port = free_port()
    environment = {**os.environ, "MLOPS_HOME": str(home), "MODEL_POLL_SECONDS": "1", **env}
    return ServiceProcess(api_command(port), environment, log).start(), f"http://127.0.0.1:{port}"


def test_with_mlflow_down_the_local_copy_is_served_then_the_registry_again(
    api_settings: Settings, tmp_path: Path
) -> None:
    home = api_settings.mlops_home
    first, url = _api(home, tmp_path / "first.log")
    try:
        first.wait_http(f"{url}/ready", timeout=120)  # loads v1 from the registry and keeps a copy
        assert httpx.get(f"{url}/health").json()["model_source"] == "registry"
    finally:
        first.stop()
    manifest = json.loads((home / "champion" / "manifest.json").read_text())
    assert manifest["version"] == "1" and len(manifest["sha256"]) == 64

    mlflow_port = free_port()
    started = time.monotonic()
    api, url = _api(home, tmp_path / "down.log", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{mlflow_port}")
    mlflow = None
    try:
        api.wait_http(f"{url}/ready", timeout=60)
        ready_after = time.monotonic() - started
        health = httpx.get(f"{url}/health").json()
        assert health["model_source"] == "local copy" and health["model_version"] == "1"
        served = httpx.post(f"{url}/predict", json={"designation": "Piscine tubulaire"}).json()
        assert served["model_version"] == "1"
        print(f"ready with MLflow down after {ready_after:.1f} s")

        mlflow = ServiceProcess(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(mlflow_port),
             "--workers", "1", "--backend-store-uri", api_settings.tracking_uri,
             "--artifacts-destination", api_settings.artifacts_dir.as_uri()],
            {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            tmp_path / "mlflow.log",
        ).start()  # fmt: skip
        mlflow.wait_http(f"http://127.0.0.1:{mlflow_port}/health", timeout=120)
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/health").json()["model_source"] != "registry" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert httpx.get(f"{url}/health").json()["model_source"] == "registry"
    finally:
        api.stop()
        if mlflow is not None:
            mlflow.stop()


def test_a_tampered_local_copy_is_not_served(api_settings: Settings, tmp_path: Path) -> None:
    home = api_settings.mlops_home
    first, url = _api(home, tmp_path / "first.log")
    try:
        first.wait_http(f"{url}/ready", timeout=120)
    finally:
        first.stop()
    model = home / "champion" / "model.joblib"
    model.write_bytes(model.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    api, url = _api(home, tmp_path / "down.log", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}")
    try:
        api.wait_http(f"{url}/health", timeout=60)
        time.sleep(2.0)
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 503 and "connection refused" in ready.json()["detail"]
    finally:
        api.stop()
    shutil.rmtree(home / "champion")
