"""Stopping a stack: in order through its supervisord, then a sweep of what carries its marker.

`shut_down` is what `up` does on Ctrl-C or SIGTERM; `stop_stack` is `rakuten-mlops down`.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rakuten_mlops.pids import is_alive
from rakuten_mlops.stack.control import SupervisorClient
from rakuten_mlops.stack.processes import owner_alive, read_pid_file, sweep, wait_gone
from rakuten_mlops.stack.services import StackError, pid_file

# Bound on the whole shutdown through supervisord (each service gets its stop_seconds, then SIGKILL).
STOP_TIMEOUT_S = 60.0
# Stopped before the others: the deployments process pauses its schedules through the Prefect
# server on SIGTERM, which hangs until SIGKILL when the server is going down with it.
STOP_FIRST = ("flows",)


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM (`down`, a service manager) like Ctrl-C inside the block."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def shut_down(client: SupervisorClient, names: set[str]) -> None:
    """Stop the deployments first, then every other service at once, then supervisord itself."""
    for name in STOP_FIRST:
        if name in names:
            client.stop(name)
    client.stop_all(STOP_TIMEOUT_S)
    client.shutdown()


@dataclass(frozen=True)
class DownResult:
    """What `down` found and did."""

    running: bool
    pid: int | None = None
    leftovers: int = 0


def stop_stack(home: Path, timeout: float = STOP_TIMEOUT_S + 15) -> DownResult:
    """Stop the stack started from this MLOPS_HOME: SIGTERM its `up` (or stop its supervisord), then sweep what is left."""
    path = pid_file(home)
    record = read_pid_file(path)
    if record is None:
        return DownResult(running=False)
    running = owner_alive(record)
    if running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGTERM)
        if wait_gone([record.pid], timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGKILL)
    elif record.socket and record.manager_pid and is_alive(record.manager_pid):
        # `up` was killed but its supervisord still runs: stop the services in order through it.
        client = SupervisorClient(Path(record.socket))
        with contextlib.suppress(StackError):
            shut_down(client, {p.name for p in client.processes()})
            wait_gone([record.manager_pid], timeout)
    leftovers = sweep(record.token)
    path.unlink(missing_ok=True)
    return DownResult(running=running, pid=record.pid, leftovers=leftovers)
