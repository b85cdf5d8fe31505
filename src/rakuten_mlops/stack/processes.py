"""Find, check and stop the stack's processes, and the pid file that lets `down` reach a running `up`.

Every process of a stack inherits the marker variable (`RAKUTEN_MLOPS_STACK=<token>`), so
the processes are found by reading /proc/<pid>/environ, even those that left their process
group. Where /proc does not exist, only what the process manager stops is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rakuten_mlops.pids import PROC, is_alive, processes_with
from rakuten_mlops.stack.services import MARKER_ENV


@dataclass(frozen=True)
class PidRecord:
    """What a running `up` writes to MLOPS_HOME/stack/up.pid."""

    pid: int
    token: str
    # The kernel's start time of `pid`: a recycled pid has another one, so `down` never signals a stranger.
    started: str | None = None
    manager_pid: int | None = None
    # supervisord's XML-RPC socket: `down` and the control room reach the stack's process manager there.
    socket: str | None = None


def process_start(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot), or None where /proc cannot tell."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after its closing one.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def stack_processes(token: str) -> list[int]:
    """The live processes carrying this stack's marker, this process excluded."""
    return processes_with(MARKER_ENV, token)


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until these processes have exited; return those still alive after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if is_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if is_alive(pid)]
    return alive


def signal_all(pids: list[int], signum: signal.Signals) -> None:
    """Send a signal to each process, ignoring those already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def sweep(token: str, grace: float = 5.0) -> int:
    """Stop every process still carrying the marker: SIGTERM, then SIGKILL after `grace`; return how many."""
    pids = stack_processes(token)
    if not pids:
        return 0
    signal_all(pids, signal.SIGTERM)
    left = wait_gone(pids, grace)
    if left:
        signal_all(left, signal.SIGKILL)
        wait_gone(left, 5.0)
    return len(pids)


def write_pid_file(path: Path, record: PidRecord) -> None:
    """Record a running `up`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record)) + "\n")


def read_pid_file(path: Path) -> PidRecord | None:
    """The record of the last `up` from this MLOPS_HOME, or None (no file, or not one of ours)."""
    try:
        data = json.loads(path.read_text())
        return PidRecord(
            pid=int(data["pid"]),
            token=str(data["token"]),
            started=data.get("started"),
            manager_pid=data.get("manager_pid"),
            socket=data.get("socket"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def owner_alive(record: PidRecord) -> bool:
    """Whether the `up` that wrote this record still runs (same pid and same start time)."""
    if not is_alive(record.pid):
        return False
    return record.started is None or process_start(record.pid) in {None, record.started}
