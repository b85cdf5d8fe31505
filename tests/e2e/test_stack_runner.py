"""The runner under a real honcho, with small stand-in services (seconds, not minutes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from rakuten_mlops.stack import MARKER_ENV, Service, StackError, StackPlan, StackRunner, stop_stack
from rakuten_mlops.stack.processes import PidRecord, is_alive, read_pid_file, stack_processes, write_pid_file
from rakuten_mlops.stack.services import port_in_use
from rakuten_mlops.testing.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def web(name: str, port: int, after: tuple[str, ...] = ()) -> Service:
    """A stand-in service: Python's http.server on loopback."""
    command = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1")
    url = f"http://127.0.0.1:{port}/"
    return Service(name=name, title=name, command=command, health_url=url, port=port, url=url, after=after)


def plan_of(home: Path, *services: Service) -> StackPlan:
    token = uuid.uuid4().hex
    return StackPlan(home=home, root=ROOT, services=services, env={MARKER_ENV: token}, token=token)


def test_runner_starts_waits_and_stops_every_process(tmp_path: Path) -> None:
    first = web("first", free_port())
    second = web("second", free_port(), after=(first.health_url,))
    plan = plan_of(tmp_path, first, second)
    runner = StackRunner(plan)
    ready: list[str] = []
    try:
        runner.start()
        runner.wait_healthy(60, lambda service, _: ready.append(service.name))
        pids = stack_processes(plan.token)
        record = read_pid_file(plan.pid_file)
        assert record is not None and record.pid == os.getpid() and record.token == plan.token
        assert set(runner.service_pids()) == {"first", "second"}
        assert set(runner.service_pids().values()) <= set(pids)
        assert len(pids) >= 5  # honcho, its two workers, the two services
        assert runner.exited() is None
    finally:
        runner.stop()

    assert ready == ["first", "second"]
    assert [pid for pid in pids if is_alive(pid)] == []
    assert stack_processes(plan.token) == []
    assert not plan.pid_file.exists()
    assert not port_in_use(first.port or 0) and not port_in_use(second.port or 0)
    assert "waiting for http://127.0.0.1" in plan.log_path("second").read_text()


def test_a_service_that_exits_stops_the_stack_and_is_named(tmp_path: Path) -> None:
    crash = Service(
        name="crash",
        title="crash",
        command=(sys.executable, "-c", "import sys; print('cannot start: no database'); sys.exit(3)"),
        health_url=f"http://127.0.0.1:{free_port()}/",
    )
    plan = plan_of(tmp_path, web("steady", free_port()), crash)
    runner = StackRunner(plan)
    try:
        runner.start()
        with pytest.raises(StackError, match=r"the crash service exited with code 3") as failure:
            runner.wait_healthy(60, lambda *_: None)
    finally:
        runner.stop()

    assert "cannot start: no database" in str(failure.value)  # the log's tail comes with the error
    assert stack_processes(plan.token) == []


def test_a_second_up_from_the_same_home_is_refused(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, web("only", free_port()))
    write_pid_file(plan.pid_file, PidRecord(pid=os.getpid(), token="other"))

    with pytest.raises(StackError, match=r"a stack is already running from .* \(pid \d+\); stop it with"):
        StackRunner(plan).start()
    assert not plan.procfile.exists()


def test_down_stops_processes_left_by_an_up_that_was_killed(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"],
        env={**os.environ, MARKER_ENV: token},
        start_new_session=True,
    )
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_pid_file(tmp_path / "stack" / "up.pid", PidRecord(pid=dead.pid, token=token))
    try:
        result = stop_stack(tmp_path, timeout=5)
        assert orphan.wait(10) is not None
    finally:
        if orphan.poll() is None:
            orphan.kill()

    assert (result.running, result.leftovers) == (False, 1)
    assert not (tmp_path / "stack" / "up.pid").exists()
    assert stop_stack(tmp_path).pid is None  # nothing recorded any more


# `up`'s loop (rakuten_mlops.commands.stack.run_stack) over a one-service plan, as its own process.
RUN_STACK = """
import sys, typer
from pathlib import Path
from rakuten_mlops.commands.stack import run_stack
from rakuten_mlops.stack import MARKER_ENV, Service, StackPlan
home, port, token = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
url = f"http://127.0.0.1:{port}/"
command = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1")
web = Service(name="web", title="web", command=command, health_url=url, port=port, url=url)
plan = StackPlan(home=home, root=home, services=(web,), env={MARKER_ENV: token}, token=token)
try:
    run_stack(plan, 60, as_json=True)
except typer.Exit as exc:
    sys.exit(exc.exit_code)
"""


def start_loop(home: Path, token: str, first_line: Callable[[IO[str], float], str]) -> subprocess.Popen[str]:
    """Start the loop and wait for its summary line (every service healthy)."""
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_STACK, str(home), str(free_port()), token],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = first_line(process.stdout, 60)
    if '"ok": true' not in line:
        process.kill()
        pytest.fail(f"the stack did not become healthy: {process.communicate()[1]}")
    return process


def test_ctrl_c_stops_every_process_and_exits_0(
    tmp_path: Path, first_line: Callable[[IO[str], float], str]
) -> None:
    token = uuid.uuid4().hex
    process = start_loop(tmp_path, token, first_line)
    pids = stack_processes(token)
    try:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 0, errors
    assert "stopping the stack" in errors and "no process of the stack is left" in errors
    assert len(pids) >= 3 and [pid for pid in pids if is_alive(pid)] == []


def test_a_service_dying_after_start_stops_the_stack_with_its_name(
    tmp_path: Path, first_line: Callable[[IO[str], float], str]
) -> None:
    token = uuid.uuid4().hex
    process = start_loop(tmp_path, token, first_line)
    try:
        service = next(pid for pid in stack_processes(token) if "http.server" in cmdline(pid))
        os.kill(service, signal.SIGKILL)
        _, errors = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 1
    assert "the web service exited with code -9, which stopped the stack" in " ".join(errors.split())
    assert stack_processes(token) == []


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
