"""InfrastructureManager: real probes on loopback, the real process table, the real Docker SDK.

No Docker engine runs on the test machines, so the SDK talks to a small engine API on loopback
(tests/ui/docker_engine.py) that answers the calls the control room makes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.ui.docker_engine import API_VERSION, FakeEngine
from tests.ui.helpers import LiveApi

from managers.base import ServiceStatus, probe_http
from managers.infrastructure import DockerUnavailableError, InfrastructureManager
from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.errors import DataError


def test_services_are_probed_in_parallel_up_and_down(live_api: LiveApi, closed_url: str) -> None:
    client = httpx.Client(timeout=1.5)

    def hanging(name: str) -> ServiceStatus:
        time.sleep(1.0)
        return ServiceStatus(name, False, "no answer")

    probes = [
        lambda: probe_http(client, "API", f"{live_api.url}/health"),
        lambda: probe_http(client, "Grafana", f"{closed_url}/api/health"),
        *[lambda n=n: hanging(n) for n in ("a", "b", "c")],  # type: ignore[misc]
    ]
    started = time.monotonic()
    found = {s.name: s for s in InfrastructureManager(probes).services()}
    assert time.monotonic() - started < 2.5
    assert found["API"].up and found["API"].latency_ms is not None
    assert not found["Grafana"].up and closed_url in found["Grafana"].detail


def test_without_a_docker_engine_docker_is_reported_down() -> None:
    def no_engine() -> Any:
        raise ConnectionRefusedError("/var/run/docker.sock")

    manager = InfrastructureManager([], no_engine)
    status = manager.docker_status()
    assert not status.up and "no Docker engine" in status.detail
    with pytest.raises(DockerUnavailableError):
        manager.containers()
    assert not InfrastructureManager([]).docker_status().up


def test_containers_are_listed_started_stopped_and_their_logs_read() -> None:
    import docker

    with FakeEngine({"rakuten-api": "running", "rakuten-mlflow": "exited"}) as engine:
        manager = InfrastructureManager(
            [], lambda: docker.DockerClient(base_url=engine.url, version=API_VERSION, timeout=5)
        )
        check_containers(manager)


def check_containers(manager: InfrastructureManager) -> None:
    assert manager.docker_status().detail == "engine 27.0-test"
    listed = manager.containers()
    assert [(c.name, c.status, c.service) for c in listed] == [
        ("rakuten-api", "running", "api"),
        ("rakuten-mlflow", "exited", "mlflow"),
    ]
    assert listed[0].image == "rakuten-api:latest"
    assert manager.act("rakuten-mlflow", "start", actor=LOCAL_ADMIN).status == "running"
    assert manager.act("rakuten-api", "stop", actor=LOCAL_ADMIN).status == "exited"
    assert manager.logs("rakuten-api", tail=3).splitlines() == [f"rakuten-api line {i}" for i in range(3)]
    with pytest.raises(DataError, match="no container named 'nope'"):
        manager.logs("nope")
    with pytest.raises(DataError, match="not one of"):
        manager.act("rakuten-api", "delete", actor=LOCAL_ADMIN)


def test_native_processes_are_found_in_the_process_table(live_api: LiveApi, tmp_path: Path) -> None:
    real = InfrastructureManager([]).processes()
    assert live_api.process.process is not None
    assert any(p.pid == live_api.process.process.pid and p.service == "API" for p in real)
    fake = tmp_path / "proc"
    for pid, command in (
        (10, b"mlflow\0server\0--port\x005000"),
        (11, b"bash"),
        (12, b"prometheus --config.file=x"),
    ):
        (fake / str(pid)).mkdir(parents=True)
        (fake / str(pid) / "cmdline").write_bytes(command)
    assert [(p.pid, p.service) for p in InfrastructureManager([], proc_root=fake).processes()] == [
        (10, "MLflow"),
        (12, "Prometheus"),
    ]
