"""A tracking server that stops mid-run: one sentence, a bounded wait, and no run left RUNNING for good."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from rakuten_mlops.errors import RegistryError
from rakuten_mlops.testing.processes import ServiceProcess, free_port
from rakuten_mlops.tracking import settle_unfinished_runs, tracked_run

pytestmark = pytest.mark.slow


def _server(store: Path, port: int, log: Path) -> ServiceProcess:
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}", "--artifacts-destination", (store / "a").as_uri(),
    ]  # fmt: skip
    server = ServiceProcess(
        command, {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, log
    ).start()
    return server.wait_http(f"http://127.0.0.1:{port}/health", timeout=120)


def test_a_run_cut_short_by_the_server_is_one_error_and_marked_failed_once_it_is_back(tmp_path: Path) -> None:
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    store, home = tmp_path / "store", tmp_path / "home"
    store.mkdir()
    server = _server(store, port, tmp_path / "mlflow.log")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("outage")
    try:
        with pytest.raises(RegistryError) as raised, tracked_run(uri, home, experiment_id=experiment) as run:
            mlflow.log_param("trainer", "sklearn")
            server.stop()  # the server goes away in the middle of the run
            mlflow.log_metric("weighted_f1", 0.8)
    finally:
        server.stop()
    message = str(raised.value)
    assert message.startswith(f"the MLflow tracking server at {uri} failed during run {run.info.run_id}")
    assert "connection refused" in message and "\n" not in message
    assert mlflow.active_run() is None  # a retry in the same process can start a new run

    server = _server(store, port, tmp_path / "mlflow-again.log")
    try:
        assert settle_unfinished_runs(uri, home) == 1
        assert MlflowClient(tracking_uri=uri).get_run(run.info.run_id).info.status == "FAILED"
        assert settle_unfinished_runs(uri, home) == 0
    finally:
        server.stop()
