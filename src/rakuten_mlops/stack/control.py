"""Talk to the stack's supervisord over its XML-RPC interface (a unix socket only its owner may open).

Every state, pid, start time and log tail comes from supervisord's own API, never from its log.
"""

from __future__ import annotations

import http.client
import socket
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import Faults

from rakuten_mlops.stack.services import StackError

# supervisord's names for a process's states (supervisor.states.ProcessStates).
UP_STATES = frozenset({"STARTING", "RUNNING"})
FATAL = "FATAL"
# The event listener that records state changes runs under supervisord too; it is no service.
LISTENER = "events"


class SupervisorFault(StackError):
    """supervisord answered a call with a fault (its `code` is one of supervisor.xmlrpc.Faults)."""

    def __init__(self, method: str, fault: xmlrpc.client.Fault) -> None:
        super().__init__(f"the stack's process manager refused {method}: {fault.faultString}")
        self.code = fault.faultCode


@dataclass(frozen=True)
class ProcessState:
    """One service as supervisord reports it."""

    name: str
    state: str  # STOPPED STARTING RUNNING BACKOFF STOPPING EXITED FATAL UNKNOWN
    pid: int | None
    started: int | None  # epoch seconds of the last start
    now: int  # supervisord's clock, so that uptimes do not depend on this machine's
    log: str
    description: str  # supervisord's one-line summary ("pid 42, uptime 0:01:02", "Exited too quickly")

    @property
    def uptime_s(self) -> int | None:
        """Seconds since the current process started, while one runs."""
        if self.state not in UP_STATES or not self.started:
            return None
        return max(self.now - self.started, 0)


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over supervisord's unix socket, with a timeout: a hung supervisord must not hang its caller."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    """XML-RPC over the unix socket (what supervisorctl speaks)."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__()
        self._path = path
        self._timeout = timeout

    def make_connection(self, host: object) -> http.client.HTTPConnection:
        return _UnixConnection(self._path, self._timeout)


class SupervisorClient:
    """The calls the stack makes: process states, log tails, stop and shut down."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.path = path
        self._timeout = timeout

    def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        # One connection per call: the client is shared by the control room's sessions (threads).
        transport = _UnixTransport(self.path, timeout or self._timeout)
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        try:
            return getattr(proxy.supervisor, method)(*args)
        except xmlrpc.client.Fault as fault:
            raise SupervisorFault(method, fault) from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            raise StackError(
                f"the stack's process manager does not answer at {self.path} ({type(exc).__name__}: {exc})"
            ) from None
        finally:
            transport.close()

    def answers(self) -> bool:
        """Whether supervisord answers and runs (not starting up or shutting down)."""
        try:
            state = cast(dict[str, Any], self._call("getState"))
        except StackError:
            return False
        return state.get("statename") == "RUNNING"

    def processes(self) -> list[ProcessState]:
        """Every service supervisord runs (the event listener left out), in its order."""
        infos = cast(list[dict[str, Any]], self._call("getAllProcessInfo"))
        return [_state(info) for info in infos if info["name"] != LISTENER]

    def process(self, name: str) -> ProcessState:
        """One service."""
        return _state(cast(dict[str, Any], self._call("getProcessInfo", name)))

    def tail(self, name: str, length: int = 8_000) -> str:
        """The last `length` bytes of a service's log (its output, stdout and stderr together)."""
        text, _offset, _overflow = self._call("tailProcessStdoutLog", name, 0, length)
        return str(text)

    def stop(self, name: str, timeout: float = 60.0) -> None:
        """Stop one service and wait until it has stopped (supervisord SIGKILLs it after `stopwaitsecs`)."""
        try:
            self._call("stopProcess", name, True, timeout=timeout)
        except SupervisorFault as fault:
            if fault.code != Faults.NOT_RUNNING:  # already down: nothing to stop
                raise

    def stop_all(self, timeout: float = 60.0) -> None:
        """Stop every process at once and wait until all have stopped."""
        self._call("stopAllProcesses", True, timeout=timeout)

    def shutdown(self) -> None:
        """Make supervisord exit (after stopping whatever still runs)."""
        self._call("shutdown")


def _state(info: dict[str, Any]) -> ProcessState:
    return ProcessState(
        name=str(info["name"]),
        state=str(info["statename"]),
        pid=int(info["pid"]) or None,
        started=int(info["start"]) or None,
        now=int(info["now"]),
        log=str(info.get("stdout_logfile") or ""),
        description=str(info.get("description") or ""),
    )
