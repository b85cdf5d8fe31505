"""`up` and `down` as a user runs them: real servers on loopback, a real prediction, a killed API
restarted while the rest runs on, admin calls from the control room with the generated key, nothing
left after `down`."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from rakuten_mlops.stack import ProcessState, SupervisorClient, prometheus_installed
from rakuten_mlops.stack.events import read_events, restarts
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
APP_DIR = Path(__file__).resolve().parents[2] / "streamlit_app"
# The control room's own managers, built as its pages build them, from its process's environment.
CONTROL_ROOM_RELOAD = """
import sys
sys.path.insert(0, sys.argv[1])
from services import build
from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.config import get_settings
print(build(get_settings()).api.reload_model(actor=LOCAL_ADMIN).model_dump_json())
"""


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


def environ(pid: int) -> dict[str, str]:
    """A process's environment, as the kernel holds it."""
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


def wait_state(client: SupervisorClient, name: str, wanted: Callable[[ProcessState], bool]) -> ProcessState:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = client.process(name)
        if wanted(state):
            return state
        time.sleep(0.5)
    pytest.fail(f"{name} never got there; last {state}")


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
    assert record is not None and record.pid == process.pid and record.socket is not None
    children = descendants(process.pid)
    marked = set(stack_processes(record.token))
    assert len(children) >= 2 + len(expected)  # supervisord, its event listener, one process per service
    assert children <= marked  # the marker finds every process `down` must stop

    # The generated key: kept owner-only in MLOPS_HOME, given to the control room, never logged.
    key_file = trained_home / "api-key"
    assert summary["api_key_file"] == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    client = SupervisorClient(Path(record.socket))
    ui = client.process("ui")
    assert ui.pid is not None and environ(ui.pid)["API_KEY"] == key
    reload = subprocess.run(
        [sys.executable, "-c", CONTROL_ROOM_RELOAD, str(APP_DIR)],
        env=environ(ui.pid),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reload.returncode == 0, reload.stderr
    assert json.loads(reload.stdout.splitlines()[-1])["version"] == "1"

    # A killed API is restarted; the control room and the rest run on.
    api = wait_state(client, "api", lambda s: s.state == "RUNNING")  # its start counted (startsecs)
    assert api.pid is not None
    os.kill(api.pid, signal.SIGKILL)
    again = wait_state(
        client, "api", lambda s: s.pid not in (None, api.pid) and s.state in {"STARTING", "RUNNING"}
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not _answers(f"http://127.0.0.1:{ports['api']}/ready"):
        time.sleep(0.5)
    answer = httpx.post(
        f"http://127.0.0.1:{ports['api']}/predict", json={"designation": "Lego Star Wars"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert process.poll() is None and client.process("ui").pid == ui.pid
    assert httpx.get(f"http://127.0.0.1:{ports['ui']}/_stcore/health", timeout=10).status_code == 200
    assert restarts(read_events(trained_home / "stack" / "events.jsonl")) == {"api": 1}
    assert again.pid is not None and not is_alive(api.pid)

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
    stack_log = (logs / "stack.log").read_text()
    # The deployments stop first, while Prefect still answers, and exit cleanly (not by SIGKILL).
    assert "stopped: flows (exit status 0)" in stack_log
    assert "exited: api (terminated by SIGKILL; not expected)" in stack_log
    assert {f"{name}.log" for name in expected} | {"stack.log"} <= {p.name for p in logs.iterdir()}
    assert not any(key in p.read_text(errors="replace") for p in logs.iterdir() if p.is_file())
    said = " ".join((tmp_path / "up.err").read_text().split())
    assert f"api (pid {api.pid}) exited unexpectedly; restarting it" in said
    assert "api answers again (1 restart(s) since the stack started)" in said
    assert key not in said


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
    assert not (home / "stack" / "supervisord.conf").exists()
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


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
