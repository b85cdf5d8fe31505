"""Run a stack plan under supervisord, wait until every service is healthy, supervise, and stop every process.

supervisord runs each service in its own process group and restarts it whenever it exits: at
once after it had been running, with a growing delay when it exits within `startsecs` of its
start, and never again after `startretries` such failed starts in a row (state FATAL), while
the others keep running. `StackRunner` starts supervisord in its own session, so Ctrl-C
reaches `up` alone, which then stops the services through supervisord's XML-RPC interface and
sweeps anything left that carries the stack's marker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

from rakuten_mlops.stack.control import FATAL, ProcessState, SupervisorClient
from rakuten_mlops.stack.events import EventReader, StateEvent
from rakuten_mlops.stack.files import write_stack_files
from rakuten_mlops.stack.processes import (
    PidRecord,
    owner_alive,
    process_start,
    read_pid_file,
    sweep,
    write_pid_file,
)
from rakuten_mlops.stack.services import MARKER_ENV, Service, StackError, StackPlan, answers, check_ports
from rakuten_mlops.stack.stopping import STOP_TIMEOUT_S, shut_down

SUPERVISORD = (sys.executable, "-m", "supervisor.supervisord")
# How long supervisord may take to open its socket.
BOOT_TIMEOUT_S = 30.0
POLL_S = 0.5


def log_tail(path: Path, lines: int = 15) -> str:
    """The end of a log file ('' when it cannot be read)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class StackRunner:
    """One run of the stack: start, wait until healthy, supervise, stop."""

    def __init__(self, plan: StackPlan) -> None:
        self.plan = plan
        self.client = SupervisorClient(plan.socket)
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts: Counter[str] = Counter()
        self._events = EventReader(plan.events_file)
        # Services restarted and not yet answering their health check again.
        self._recovering: set[str] = set()
        self._http: httpx.Client | None = None
        self._log: IO[bytes] | None = None

    @property
    def manager_log(self) -> Path:
        """supervisord's own log: which service was spawned with which pid, which exited how."""
        return self.plan.logs_dir / "stack.log"

    def start(self) -> None:
        """Check the pid file and the ports, write the files, start supervisord and wait for its socket."""
        record = read_pid_file(self.plan.pid_file)
        if record is not None and owner_alive(record):
            raise StackError(
                f"a stack is already running from {self.plan.home} (pid {record.pid}); "
                "stop it with `rakuten-mlops down` first"
            )
        check_ports(self.plan.services)
        write_stack_files(self.plan)
        # The services' secrets travel in the environment, never in a file others can read.
        env = {**os.environ, **self.plan.env, MARKER_ENV: self.plan.token}
        # The services' own helpers (uvicorn, alembic) are found next to this interpreter.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        # Only what supervisord prints before its log is open (a config error) comes through here.
        self._log = self.manager_log.open("ab")
        self.process = subprocess.Popen(
            [*SUPERVISORD, "-c", str(self.plan.config_file)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        write_pid_file(
            self.plan.pid_file,
            PidRecord(
                os.getpid(),
                self.plan.token,
                process_start(os.getpid()),
                self.process.pid,
                str(self.plan.socket),
            ),
        )
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not self.client.answers():
            reason = self.exited()
            if reason is not None:
                raise StackError(reason)
            if time.monotonic() > deadline:
                raise StackError(
                    f"the process manager did not answer within {BOOT_TIMEOUT_S:.0f} s; see {self.manager_log}"
                )
            time.sleep(0.1)

    def exited(self) -> str | None:
        """Why the stack stopped by itself (supervisord exited), or None while it runs."""
        if self.process is None or self.process.poll() is None:
            return None
        return (
            f"the process manager exited with code {self.process.returncode}, which stopped the stack; "
            f"see {self.manager_log}:\n{log_tail(self.manager_log)}"
        )

    def processes(self) -> list[ProcessState]:
        """Every service as supervisord reports it now."""
        return self.client.processes()

    def service_pids(self) -> dict[str, int]:
        """The pid of each running service (each leads its own process group)."""
        return {p.name: p.pid for p in self.processes() if p.pid is not None}

    def notices(self) -> list[str]:
        """What happened to the services since the last call, one sentence each (from the events file)."""
        said = [text for event in self._events.new() if (text := self._describe(event)) is not None]
        if self._recovering:
            self._http = self._http or httpx.Client(timeout=2.0)
            for name in sorted(self._recovering):
                if answers(self.plan.service(name).health_url, self._http):
                    self._recovering.discard(name)
                    count = self.restarts[name]
                    said.append(f"{name} answers again ({count} restart(s) since the stack started)")
        return said

    def _describe(self, event: StateEvent) -> str | None:
        try:
            service = self.plan.service(event.service)
        except KeyError:
            return None
        log = self.plan.log_path(service.name)
        if event.is_restart:
            self.restarts[service.name] += 1
            self._recovering.add(service.name)
            return None
        if event.to_state == "EXITED":
            return f"{service.name} (pid {event.pid}) exited unexpectedly; restarting it; see {log}"
        if event.to_state == "BACKOFF":
            tries = event.tries or 1
            if tries > service.start_retries:
                return None  # FATAL comes next
            return (
                f"{service.name} exited within {service.start_seconds} s of starting "
                f"({tries} time(s) in a row); trying again in {tries} s"
            )
        if event.to_state == FATAL:
            self._recovering.discard(service.name)
            return (
                f"{service.name} failed to start {service.start_retries + 1} times in a row; it stays down "
                f"(the other services keep running); see {log}:\n{log_tail(log)}"
            )
        return None

    def wait_healthy(
        self,
        timeout: float,
        on_ready: Callable[[Service, float], None],
        on_notice: Callable[[str], None] = lambda _: None,
    ) -> None:
        """Poll every service's health URL until all answer 200; StackError when one cannot start, or on the timeout."""
        started = time.monotonic()
        pending = list(self.plan.services)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                reason = self.exited()
                if reason is not None:
                    raise StackError(reason)
                for notice in self.notices():
                    on_notice(notice)
                self._raise_for_fatal({s.name for s in pending})
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

    def _raise_for_fatal(self, names: set[str]) -> None:
        try:
            states = self.processes()
        except StackError:
            return  # a busy supervisord answers next time; one that exited is caught by exited()
        for state in states:
            if state.name in names and state.state == FATAL:
                service = self.plan.service(state.name)
                log = self.plan.log_path(state.name)
                raise StackError(
                    f"the {state.name} service could not start: it exited {service.start_retries + 1} times "
                    f"in a row within {service.start_seconds} s of starting; see {log}:\n{log_tail(log)}"
                )

    def supervise(self, on_notice: Callable[[str], None], interval: float = POLL_S) -> str:
        """Report what happens to the services until the process manager itself stops; Ctrl-C interrupts."""
        while True:
            reason = self.exited()
            if reason is not None:
                return reason
            for notice in self.notices():
                on_notice(notice)
            time.sleep(interval)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Stop every service through supervisord, then supervisord, then every process left; return how many were swept."""
        process = self.process
        if process is not None and process.poll() is None:
            try:
                shut_down(self.client, {s.name for s in self.plan.services})
            except StackError:
                # Not answering (yet): on SIGTERM supervisord stops its services itself, one by one.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        swept = sweep(self.plan.token)
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._log is not None:
            self._log.close()
            self._log = None
        record = read_pid_file(self.plan.pid_file)
        if record is not None and record.token == self.plan.token:
            self.plan.pid_file.unlink(missing_ok=True)
        return swept


__all__ = ["StackRunner", "log_tail"]
