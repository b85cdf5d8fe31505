"""Run a stack plan under honcho, wait until every service is healthy, and stop every process.

honcho (a Procfile process manager) starts one process group per service and, when one
service exits, stops all the others; `StackRunner` starts honcho in its own session, so
Ctrl-C reaches `up` alone, which then stops honcho (SIGTERM, SIGKILL after a timeout) and
sweeps anything left that carries the stack's marker.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

import httpx

from rakuten_mlops.pids import is_alive
from rakuten_mlops.stack.files import write_stack_files
from rakuten_mlops.stack.processes import (
    PidRecord,
    owner_alive,
    process_start,
    read_pid_file,
    sweep,
    wait_gone,
    write_pid_file,
)
from rakuten_mlops.stack.services import (
    MARKER_ENV,
    Service,
    StackError,
    StackPlan,
    answers,
    check_ports,
    pid_file,
)

HONCHO = (sys.executable, "-m", "honcho")
# honcho gives its services 5 s after SIGTERM before it SIGKILLs them; this is the bound on honcho itself.
STOP_TIMEOUT_S = 30.0
POLL_S = 0.5
# honcho's lines about its processes: "12:00:01 system | api.1 started (pid=42)", "... api.1 stopped (rc=1)".
STARTED_LINE = re.compile(r"\|\s*(?P<name>[A-Za-z0-9_-]+)(?:\.\d+)? started \(pid=(?P<pid>\d+)\)")
STOPPED_LINE = re.compile(r"\|\s*(?P<name>[A-Za-z0-9_-]+)(?:\.\d+)? stopped \(rc=(?P<rc>-?\d+)\)")
# Stopped before the others: the deployments process pauses its schedules through the Prefect
# server on SIGTERM, which hangs until honcho's SIGKILL when the server is going down with it.
STOP_FIRST = ("flows",)
STOP_FIRST_TIMEOUT_S = 10.0


def log_tail(path: Path, lines: int = 15) -> str:
    """The end of a log file ('' when it cannot be read)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


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


class StackRunner:
    """One run of the stack: start, wait until healthy, supervise, stop."""

    def __init__(self, plan: StackPlan) -> None:
        self.plan = plan
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def manager_log(self) -> Path:
        """honcho's own output: which service started with which pid, which stopped with which code."""
        return self.plan.logs_dir / "stack.log"

    def start(self) -> None:
        """Check the pid file and the ports, write the files, start honcho and record the pid."""
        record = read_pid_file(self.plan.pid_file)
        if record is not None and owner_alive(record):
            raise StackError(
                f"a stack is already running from {self.plan.home} (pid {record.pid}); "
                "stop it with `rakuten-mlops down` first"
            )
        if importlib.util.find_spec("honcho") is None:
            raise StackError("honcho (the process manager of the stack) is not installed; run `make install`")
        check_ports(self.plan.services)
        write_stack_files(self.plan)
        env = {**os.environ, MARKER_ENV: self.plan.token}
        # The services' own helpers (uvicorn, alembic) are found next to this interpreter.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        command = [
            *HONCHO,
            "start",
            "--no-colour",
            "-f",
            str(self.plan.procfile),
            "-e",
            str(self.plan.env_file),
        ]
        self._log = self.manager_log.open("wb")
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        write_pid_file(
            self.plan.pid_file,
            PidRecord(os.getpid(), self.plan.token, process_start(os.getpid()), self.process.pid),
        )

    def exited(self) -> str | None:
        """Why the stack stopped by itself, or None while honcho runs."""
        if self.process is None or self.process.poll() is None:
            return None
        found = STOPPED_LINE.search(log_tail(self.manager_log, 400))
        if found is None:
            return f"the process manager exited with code {self.process.returncode}; see {self.manager_log}"
        name, code = found["name"], found["rc"]
        log = self.plan.log_path(name)
        return f"the {name} service exited with code {code}, which stopped the stack; see {log}:\n{log_tail(log)}"

    def service_pids(self) -> dict[str, int]:
        """The pid of each started service (each leads its own process group), from honcho's log."""
        return {m["name"]: int(m["pid"]) for m in STARTED_LINE.finditer(log_tail(self.manager_log, 400))}

    def _stop_first(self) -> None:
        pids = self.service_pids()
        leaders = [pids[name] for name in STOP_FIRST if name in pids and is_alive(pids[name])]
        for pid in leaders:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        wait_gone(leaders, STOP_FIRST_TIMEOUT_S)

    def wait_healthy(self, timeout: float, on_ready: Callable[[Service, float], None]) -> None:
        """Poll every service's health URL until all answer 200; StackError on a crash or the timeout."""
        started = time.monotonic()
        pending = list(self.plan.services)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                reason = self.exited()
                if reason is not None:
                    raise StackError(reason)
                for service in list(pending):
                    if answers(service.health_url, client):
                        pending.remove(service)
                        on_ready(service, time.monotonic() - started)
                if pending and time.monotonic() - started > timeout:
                    names = ", ".join(s.name for s in pending)
                    raise StackError(
                        f"{names} did not become healthy within {timeout:.0f} s; "
                        f"see their logs in {self.plan.logs_dir}"
                    )
                if pending:
                    time.sleep(POLL_S)

    def supervise(self, interval: float = 0.5) -> str:
        """Block until the stack stops by itself (a service exited) and say why; Ctrl-C interrupts."""
        while True:
            reason = self.exited()
            if reason is not None:
                return reason
            time.sleep(interval)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Stop honcho (which stops each service), then every process left; return how many were swept."""
        process = self.process
        if process is not None and process.poll() is None:
            self._stop_first()  # honcho then stops the others as soon as it sees this one exit
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        swept = sweep(self.plan.token)
        if self._log is not None:
            self._log.close()
            self._log = None
        record = read_pid_file(self.plan.pid_file)
        if record is not None and record.token == self.plan.token:
            self.plan.pid_file.unlink(missing_ok=True)
        return swept


@dataclass(frozen=True)
class DownResult:
    """What `down` found and did."""

    running: bool
    pid: int | None = None
    leftovers: int = 0


def stop_stack(home: Path, timeout: float = STOP_TIMEOUT_S + 15) -> DownResult:
    """Stop the stack started from this MLOPS_HOME: SIGTERM its `up`, wait, then sweep what is left."""
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
    leftovers = sweep(record.token)
    path.unlink(missing_ok=True)
    return DownResult(running=running, pid=record.pid, leftovers=leftovers)


__all__ = ["DownResult", "StackRunner", "interrupt_on_sigterm", "is_alive", "log_tail", "stop_stack"]
