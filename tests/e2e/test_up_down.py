"""`up` and `down` as a user runs them: real servers on loopback, a real prediction, nothing left after."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from rakuten_mlops.stack import prometheus_installed
from rakuten_mlops.stack.processes import is_alive, read_pid_file, stack_processes, sweep
from rakuten_mlops.stack.services import port_in_use
from rakuten_mlops.testing.processes import free_port
from rakuten_mlops.testing.trained import build_trained_home

STACK = [sys.executable, "-m", "rakuten_mlops.commands.stack"]
# Settings and port variables of the developer's shell must not reach the stack under test.
ISOLATED = (
    "MLOPS_HOME",
    "DATABASE_URL",
    "MLFLOW_TRACKING_URI",
    "MODEL_NAME",
    "API_URL",
    "API_KEY",
    "PROMETHEUS_URL",
    "PREFECT_API_URL",
    "PREFECT_HOME",
    "API_PORT",
    "UI_PORT",
    "MLFLOW_PORT",
    "PREFECT_PORT",
    "PROMETHEUS_PORT",
)
READY_TIMEOUT_S = 300


def stack_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ISOLATED}
    return {**env, "MLOPS_HOME": str(home)}


def port_args(ports: dict[str, int]) -> list[str]:
    return [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]


def descendants(root: int) -> set[int]:
    """Every live process below `root`, from the parent pids in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.fixture
def trained_home(tmp_path: Path) -> Path:
    """A home with a catalogue and a champion registered in the local SQLite store (as `make demo` leaves it)."""
    home = tmp_path / "home"
    build_trained_home(home, rows=2_000)
    return home


@pytest.fixture
def up_process(trained_home: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    """`up --json` on free ports; whatever happens, no process of it outlives the test."""
    ports = {name: free_port() for name in ("api", "ui", "mlflow", "prefect", "prometheus")}
    with (tmp_path / "up.err").open("w") as stderr:
        process = subprocess.Popen(
            [*STACK, "up", *port_args(ports), "--json", "--timeout", str(READY_TIMEOUT_S)],
            env=stack_env(trained_home),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        yield process, ports
    finally:
        record = read_pid_file(trained_home / "stack" / "up.pid")
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        if record is not None:
            sweep(record.token)


@pytest.mark.slow
def test_up_serves_a_champion_trained_before_and_down_leaves_no_process(
    up_process: tuple[subprocess.Popen[str], dict[str, int]],
    trained_home: Path,
    tmp_path: Path,
    first_line: Callable[[IO[str], float], str],
) -> None:
    process, ports = up_process
    assert process.stdout is not None
    line = first_line(process.stdout, READY_TIMEOUT_S + 30)
    errors = (tmp_path / "up.err").read_text()
    assert line, f"`up` printed no summary; stderr:\n{errors}"
    summary: dict[str, Any] = json.loads(line)
    assert summary["ok"] is True and summary["pid"] == process.pid
    expected = {"mlflow", "prefect", "api", "flows", "ui"} | (
        {"prometheus"} if prometheus_installed() else set()
    )
    assert set(summary["services"]) == expected
    assert "ready in" in errors  # progress while waiting

    # The seed's curl: the champion trained before `up` is served through the MLflow server.
    answer = httpx.post(
        f"http://127.0.0.1:{ports['api']}/predict",
        json={"designation": "iPhone 13", "description": "Smartphone"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["prdtypecode"], int)
    assert answer.json()["model_version"] == "1"
    health = httpx.get(f"http://127.0.0.1:{ports['ui']}/_stcore/health", timeout=10)
    assert (health.status_code, health.text) == (200, "ok")
    assert httpx.get(f"http://127.0.0.1:{ports['mlflow']}/health", timeout=10).status_code == 200
    assert httpx.get(f"http://127.0.0.1:{ports['prefect']}/api/health", timeout=10).status_code == 200
    deployment = httpx.get(
        f"http://127.0.0.1:{ports['prefect']}/api/deployments/name/monitor-and-retrain/daily", timeout=10
    )
    assert deployment.status_code == 200, deployment.text
    if prometheus_installed():
        assert httpx.get(f"http://127.0.0.1:{ports['prometheus']}/-/ready", timeout=10).status_code == 200

    record = read_pid_file(trained_home / "stack" / "up.pid")
    assert record is not None and record.pid == process.pid
    children = descendants(process.pid)
    marked = set(stack_processes(record.token))
    assert len(children) >= 1 + 2 * len(expected)  # honcho, one worker and one service each, at least
    assert children <= marked  # the marker finds every process `down` must stop

    down = subprocess.run(
        [*STACK, "down"],
        env=stack_env(trained_home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert down.returncode == 0, down.stderr
    assert f"stopped the stack of {trained_home}" in " ".join(down.stderr.split())
    assert process.wait(30) == 0
    assert [pid for pid in children | marked if is_alive(pid)] == []
    assert stack_processes(record.token) == []
    assert not (trained_home / "stack" / "up.pid").exists()
    assert not any(port_in_use(port) for name, port in ports.items() if name in expected)
    logs = trained_home / "logs"
    assert "POST /predict" in (logs / "api.log").read_text()
    # The deployments stop first, while Prefect still answers, and exit cleanly (not by SIGKILL).
    assert "flows.1 stopped (rc=0)" in (logs / "stack.log").read_text()
    assert {f"{name}.log" for name in expected} | {"stack.log"} <= {p.name for p in logs.iterdir()}


def test_a_port_in_use_is_refused_by_name_and_nothing_starts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ports = {name: free_port() for name in ("api", "ui", "mlflow", "prefect", "prometheus")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports["api"] = taken.getsockname()[1]
        result = subprocess.run(
            [*STACK, "up", *port_args(ports)],
            env=stack_env(home),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert (
        f"port {ports['api']} (API) is in use on 127.0.0.1; stop what uses it or pass --api-port" in message
    )
    assert not (home / "stack" / "up.pid").exists()
    assert not (home / "stack" / "Procfile").exists()
    assert not (home / "logs" / "stack.log").exists()


def test_down_without_a_running_stack_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [*STACK, "down", "--json"],
        env=stack_env(tmp_path / "home"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "running": False, "pid": None, "leftovers": 0}
