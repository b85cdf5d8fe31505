"""InfrastructureManager: real probes on loopback, a real supervisord with stand-in services, the real Docker SDK.

No Docker engine runs on the test machines, so the SDK talks to a small engine API on loopback
(tests/ui/docker_engine.py) that answers the calls the control room makes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
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
from rakuten_mlops.stack import StackRunner


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


def test_the_stack_lists_its_own_services_with_state_uptime_restarts_and_log_only(
    stand_in_stack: StackRunner, other_checkout_process: subprocess.Popen[bytes]
) -> None:
    plan = stand_in_stack.plan
    manager = InfrastructureManager([], stack_home=plan.home, stack_token=plan.token)
    killed = stand_in_stack.service_pids()["worker"]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stack = manager.native_stack()
        worker = next(p for p in stack.processes if p.service == "worker")
        if worker.state == "RUNNING" and worker.pid != killed and worker.restarts == 1:
            break
        time.sleep(0.3)

    assert stack.running and stack.manager_pid == stand_in_stack.process.pid  # type: ignore[union-attr]
    assert [p.service for p in stack.processes] == [
        "web",
        "worker",
    ]  # the process manager's list, nothing else
    assert {p.service: p.restarts for p in stack.processes} == {"web": 0, "worker": 1}
    web = stack.processes[0]
    assert web.state == "RUNNING" and web.pid == stand_in_stack.service_pids()["web"]
    assert re.fullmatch(r"\d+:\d\d:\d\d", web.uptime)
    pids = {p.pid for p in stack.processes}
    assert other_checkout_process.pid not in pids and killed not in pids
    assert "Serving HTTP on 127.0.0.1" in manager.stack_log("web")
    # A control room of another stack (another token) does not take this one for its own.
    assert not InfrastructureManager([], stack_home=plan.home, stack_token="other").native_stack().running


def test_without_a_running_stack_none_is_shown(tmp_path: Path) -> None:
    stack = InfrastructureManager([], stack_home=tmp_path).native_stack()

    assert (stack.running, stack.processes) == (False, [])
    with pytest.raises(DataError, match="no stack started by `rakuten-mlops up` runs from"):
        InfrastructureManager([], stack_home=tmp_path).stack_log("api")
