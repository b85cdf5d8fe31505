"""The runner under a real supervisord, with small stand-in services (seconds, not minutes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
import pytest

from rakuten_mlops.stack import (
    MARKER_ENV,
    ProcessState,
    StackError,
    StackRunner,
    SupervisorClient,
    stop_stack,
)
from rakuten_mlops.stack.events import read_events, restarts
from rakuten_mlops.stack.processes import PidRecord, is_alive, read_pid_file, stack_processes, write_pid_file
from rakuten_mlops.stack.services import port_in_use, socket_path
from rakuten_mlops.stack.stopping import STOP_TIMEOUT_S
from rakuten_mlops.testing.processes import free_port
from rakuten_mlops.testing.stack import crashing_service, serves_once_service, stand_in_plan, web_service


def wait_for(
    client: SupervisorClient, name: str, done: Callable[[ProcessState], bool], timeout: float = 60
) -> ProcessState:
    """Poll supervisord until the service is in the wanted state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.process(name)
        if done(state):
            return state
        time.sleep(0.2)
    pytest.fail(f"{name} never reached the wanted state; last: {state}")


def notices_until(runner: StackRunner, wanted: str, timeout: float = 30) -> list[str]:
    """The runner's notices, read until one contains `wanted` (the listener records events a moment later)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not any(wanted in n for n in seen) and time.monotonic() < deadline:
        seen += runner.notices()
        time.sleep(0.2)
    return seen


def running(state: ProcessState) -> bool:
    return state.state == "RUNNING"


def test_runner_starts_waits_and_stops_every_process(tmp_path: Path) -> None:
    first = web_service("first", free_port())
    second = web_service("second", free_port(), after=(first.health_url,))
    plan = stand_in_plan(tmp_path, first, second)
    runner = StackRunner(plan)
    ready: list[str] = []
    try:
        runner.start()
        runner.wait_healthy(60, lambda service, _: ready.append(service.name))
        pids = stack_processes(plan.token)
        record = read_pid_file(plan.pid_file)
        assert record is not None and record.pid == os.getpid() and record.token == plan.token
        assert record.socket == str(plan.socket) and record.manager_pid == runner.process.pid  # type: ignore[union-attr]
        states = runner.processes()
        assert [s.name for s in states] == ["first", "second"]  # the event listener is no service
        assert set(runner.service_pids().values()) <= set(pids)
        assert len(pids) >= 4  # supervisord, its event listener, the two services
        assert runner.exited() is None
    finally:
        runner.stop()

    assert ready == ["first", "second"]
    assert [pid for pid in pids if is_alive(pid)] == []
    assert stack_processes(plan.token) == []
    assert not plan.pid_file.exists()
    assert not port_in_use(first.port or 0) and not port_in_use(second.port or 0)
    assert "waiting for http://127.0.0.1" in plan.log_path("second").read_text()


def test_a_service_killed_from_outside_is_restarted_logged_and_counted(tmp_path: Path) -> None:
    web = web_service("web", free_port())
    plan = stand_in_plan(tmp_path, web)
    runner = StackRunner(plan)
    try:
        runner.start()
        runner.wait_healthy(60, lambda *_: None)
        before = wait_for(runner.client, "web", running)
        os.kill(before.pid or 0, signal.SIGTERM)
        after = wait_for(runner.client, "web", lambda s: running(s) and s.pid != before.pid)
        assert httpx.get(web.health_url, timeout=5).status_code == 200
        notices = " ".join(notices_until(runner, "answers again"))
    finally:
        runner.stop()

    assert after.pid is not None and not is_alive(before.pid or 0)
    assert f"web (pid {before.pid}) exited unexpectedly; restarting it" in notices
    assert "web answers again (1 restart(s) since the stack started)" in notices
    assert restarts(read_events(plan.events_file)) == {"web": 1}
    assert "exited: web (terminated by SIGTERM; not expected)" in runner.manager_log.read_text()


def test_a_service_that_keeps_failing_to_start_stays_down_while_the_others_run(tmp_path: Path) -> None:
    steady = web_service("steady", free_port())
    once = serves_once_service("once", free_port(), tmp_path / "served", start_retries=2)
    plan = stand_in_plan(tmp_path / "home", steady, once)
    runner = StackRunner(plan)
    try:
        runner.start()
        runner.wait_healthy(60, lambda *_: None)
        first = wait_for(runner.client, "once", running)
        steady_pid = runner.service_pids()["steady"]
        os.kill(first.pid or 0, signal.SIGKILL)
        wait_for(runner.client, "once", lambda s: s.state == "FATAL")
        notices = notices_until(runner, "stays down")
        assert runner.client.process("steady").pid == steady_pid  # untouched all along
        assert httpx.get(steady.health_url, timeout=5).status_code == 200
        assert runner.exited() is None  # the stack itself runs on
    finally:
        runner.stop()

    assert sum("trying again in" in n for n in notices) == 2
    assert (
        "once failed to start 3 times in a row; it stays down (the other services keep running)"
        in notices[-1]
    )
    assert "cannot start again" in notices[-1]  # the tail of its log comes with it
    assert restarts(read_events(plan.events_file)) == {"once": 3}
    assert stack_processes(plan.token) == []


def test_a_service_that_cannot_start_fails_up_with_its_name_and_log(tmp_path: Path) -> None:
    crash = crashing_service(
        "crash", "cannot start: no database", health_url=f"http://127.0.0.1:{free_port()}/"
    )
    plan = stand_in_plan(tmp_path, web_service("steady", free_port()), crash)
    runner = StackRunner(plan)
    try:
        runner.start()
        with pytest.raises(
            StackError, match=r"the crash service could not start: it exited 3 times"
        ) as failure:
            runner.wait_healthy(60, lambda *_: None)
    finally:
        runner.stop()

    assert "cannot start: no database" in str(failure.value)  # the log's tail comes with the error
    assert stack_processes(plan.token) == []


def test_a_second_up_from_the_same_home_is_refused(tmp_path: Path) -> None:
    plan = stand_in_plan(tmp_path, web_service("only", free_port()))
    write_pid_file(plan.pid_file, PidRecord(pid=os.getpid(), token="other"))

    with pytest.raises(StackError, match=r"a stack is already running from .* \(pid \d+\); stop it with"):
        StackRunner(plan).start()
    assert not plan.config_file.exists()


def test_the_socket_moves_to_the_temporary_folder_when_the_home_path_is_too_long(tmp_path: Path) -> None:
    home = tmp_path / ("h" * 120)
    token = uuid.uuid4().hex

    assert socket_path(tmp_path, token) == tmp_path.resolve() / "stack" / "supervisor.sock"
    assert socket_path(home, token).name == f"rakuten-mlops-{token[:16]}.sock"
    assert len(str(socket_path(home, token))) < 108
    # 104 bytes fit a socket, but supervisord binds `PATH.PID` first: that one would not.
    tail = len("/stack/supervisor.sock")
    near = tmp_path.resolve() / ("n" * (104 - len(str(tmp_path.resolve())) - 1 - tail))
    assert len(str(near / "stack" / "supervisor.sock")) == 104
    assert socket_path(near, token).name == f"rakuten-mlops-{token[:16]}.sock"


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
from rakuten_mlops.testing.stack import stand_in_plan, web_service
home, port, token = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
try:
    run_stack(stand_in_plan(home, web_service("web", port), token=token), 60, as_json=True)
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


def test_up_restarts_a_killed_service_and_ctrl_c_then_stops_every_process(
    tmp_path: Path, first_line: Callable[[IO[str], float], str]
) -> None:
    token = uuid.uuid4().hex
    process = start_loop(tmp_path, token, first_line)
    client = SupervisorClient(socket_path(tmp_path, token))
    try:
        killed = wait_for(client, "web", running)
        os.kill(killed.pid or 0, signal.SIGKILL)
        wait_for(client, "web", lambda s: running(s) and s.pid != killed.pid)
        assert process.poll() is None  # `up` goes on
        time.sleep(1.0)  # one more pass of its loop, which reports the restart
        pids = stack_processes(token)
        process.send_signal(signal.SIGINT)
        try:
            # The stop may take supervisord's own budget (STOP_TIMEOUT_S) and the sweep after it.
            _, errors = process.communicate(timeout=STOP_TIMEOUT_S + 60)
        except subprocess.TimeoutExpired as exc:
            said_so_far = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
            pytest.fail(
                f"`up` did not stop within {STOP_TIMEOUT_S + 60:.0f} s of Ctrl-C; it said:\n{said_so_far}"
            )
    finally:
        process.kill()

    assert process.returncode == 0, errors
    said = " ".join(errors.split())
    assert f"web (pid {killed.pid}) exited unexpectedly; restarting it" in said
    assert "web answers again (1 restart(s) since the stack started)" in said
    assert "stopping the stack" in errors and "no process of the stack is left" in errors
    assert len(pids) >= 3 and [pid for pid in pids if is_alive(pid)] == []


def test_down_stops_a_stack_whose_up_was_killed_through_its_process_manager(
    tmp_path: Path, first_line: Callable[[IO[str], float], str]
) -> None:
    token = uuid.uuid4().hex
    process = start_loop(tmp_path, token, first_line)
    process.kill()  # `up` gone at once: its supervisord and services run on
    process.communicate(timeout=30)
    pids = stack_processes(token)
    assert len(pids) >= 3, "supervisord, its listener and the service outlive the killed `up`"

    result = stop_stack(tmp_path, timeout=30)

    assert (result.running, result.leftovers) == (False, 0)  # supervisord stopped everything itself
    assert [pid for pid in pids if is_alive(pid)] == []
    assert "stopped: web (terminated by SIGTERM)" in (tmp_path / "logs" / "stack.log").read_text()
