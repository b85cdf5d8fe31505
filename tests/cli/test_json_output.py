"""With --json, stdout is the JSON summary alone, even when a library prints to stdout meanwhile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rakuten_mlops.testing.processes import ServiceProcess, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real MLflow tracking server on loopback (HTTP), with its own store."""
    port = free_port()
    store = tmp_path / "server"
    store.mkdir()
    server = ServiceProcess(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
         "--artifacts-destination", (store / "artifacts").as_uri()],
        {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        tmp_path / "mlflow.log",
    ).start()  # fmt: skip
    try:
        server.wait_http(f"http://127.0.0.1:{port}/health", timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rakuten_mlops.cli", *args],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_train_json_against_an_mlflow_server_prints_one_json_line(
    mlops_home: Path, mlflow_server: str
) -> None:
    env = {**os.environ, "MLOPS_HOME": str(mlops_home), "MLFLOW_TRACKING_URI": mlflow_server}
    assert _cli("ingest", "sample", "--rows", "1500", "--json", env=env).returncode == 0
    # The fixed trainer: the search's own JSON output is tested against the SQLite store (test_train_command).
    trained = _cli("train", "--search", "off", "--json", env=env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    lines = trained.stdout.splitlines()
    assert len(lines) == 1, trained.stdout  # MLflow's "View run ... at: URL" went to stderr
    summary = json.loads(lines[0])
    assert summary["model_version"] == "1" and summary["promoted"] is True
    assert "View run" in trained.stderr


def test_train_with_the_tracking_server_gone_fails_in_one_sentence_naming_it(mlops_home: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, "MLOPS_HOME": str(mlops_home), "MLFLOW_TRACKING_URI": nowhere}
    assert _cli("ingest", "sample", "--rows", "1500", "--json", env=env).returncode == 0
    trained = _cli("train", "--search", "off", "--json", env=env)
    assert trained.returncode == 1, trained.stderr[-2000:]
    answer = json.loads(trained.stdout.splitlines()[-1])
    assert answer["ok"] is False and "\n" not in answer["error"]
    assert answer["error"].startswith(f"the MLflow tracking server at {nowhere} cannot be used"), answer
    assert "Traceback" not in trained.stderr.split("error:")[-1]
