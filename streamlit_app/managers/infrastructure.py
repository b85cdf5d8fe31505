"""Infrastructure: each service's health, Docker containers when an engine answers, the native stack otherwise.

The native stack's processes are the ones its own process manager (supervisord, found through
the pid file `up` writes in MLOPS_HOME) lists, never processes matched by their command line,
which would take in other checkouts' servers on the same machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from managers.base import ServiceStatus, ServiceUnavailableError
from managers.guard import Guard
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.errors import DataError, MlopsError
from rakuten_mlops.stack.control import SupervisorClient
from rakuten_mlops.stack.events import read_events, restarts
from rakuten_mlops.stack.processes import PidRecord, owner_alive, read_pid_file
from rakuten_mlops.stack.services import StackError, events_file, pid_file

ACTIONS = ("start", "stop", "restart")


@dataclass(frozen=True)
class ContainerInfo:
    """One Docker container of the stack."""

    name: str
    short_id: str
    image: str
    status: str
    service: str | None  # compose service label


@dataclass(frozen=True)
class StackProcess:
    """One service of the native stack, as its process manager reports it."""

    service: str
    state: str  # supervisord's: RUNNING, STARTING, BACKOFF (retrying), FATAL (left down), STOPPED ...
    pid: int | None
    uptime: str  # h:mm:ss of the current process, '' while none runs
    restarts: int  # since the stack started


@dataclass(frozen=True)
class NativeStack:
    """The stack `rakuten-mlops up` runs from this MLOPS_HOME, if any."""

    home: Path
    running: bool
    manager_pid: int | None = None
    processes: list[StackProcess] = field(default_factory=list)


class DockerUnavailableError(MlopsError):
    """No Docker engine answers."""


class InfrastructureManager:
    """Runs the health probes side by side; drives containers through an injected Docker client factory."""

    def __init__(
        self,
        probes: Sequence[Callable[[], ServiceStatus]],
        docker_factory: Callable[[], Any] | None = None,
        stack_home: Path | None = None,
        stack_token: str | None = None,
        guard: Guard | None = None,
    ) -> None:
        self._guard = guard or Guard()
        self._probes = list(probes)
        self._docker_factory = docker_factory
        self._stack_home = stack_home
        # The control room started by `up` carries its stack's token: a record with another is not its stack.
        self._stack_token = stack_token

    def services(self) -> list[ServiceStatus]:
        """The status of every service, probed in parallel (a down service costs one timeout, not the sum)."""
        if not self._probes:
            return []
        with ThreadPoolExecutor(max_workers=len(self._probes)) as pool:
            return list(pool.map(lambda probe: probe(), self._probes))

    def _docker(self) -> Any:
        if self._docker_factory is None:
            raise DockerUnavailableError("Docker is not configured for the control room")
        try:
            client = self._docker_factory()
            client.ping()
        except Exception as exc:  # the SDK raises DockerException, requests errors or OSError
            where = os.environ.get("DOCKER_HOST") or "the local socket"
            raise DockerUnavailableError(
                f"no Docker engine answers at {where} ({type(exc).__name__})"
            ) from exc
        return client

    def docker_status(self) -> ServiceStatus:
        """Whether a Docker engine answers."""
        try:
            version = self._docker().version()
        except DockerUnavailableError as exc:
            return ServiceStatus("Docker", False, str(exc))
        return ServiceStatus("Docker", True, f"engine {version.get('Version', '?')}")

    def containers(self) -> list[ContainerInfo]:
        """Every container, running or not, sorted by name."""
        found = self._docker().containers.list(all=True)
        return sorted(
            (
                ContainerInfo(
                    c.name,
                    c.short_id,
                    ", ".join(getattr(c.image, "tags", None) or [])
                    or str(c.attrs.get("Config", {}).get("Image", "")),
                    c.status,
                    (c.labels or {}).get("com.docker.compose.service"),
                )
                for c in found
            ),
            key=lambda c: c.name,
        )

    def act(self, name: str, action: str, *, actor: Principal) -> ContainerInfo:
        """Start, stop or restart a container by name (admin); return its new state."""
        return self._guard.run(
            actor, "containers", {"container": name, "do": action}, lambda: self._act(name, action)
        )

    def _act(self, name: str, action: str) -> ContainerInfo:
        if action not in ACTIONS:
            raise DataError(f"container action {action!r} is not one of {', '.join(ACTIONS)}")
        client = self._docker()
        container = self._container(client, name)
        getattr(container, action)()
        container.reload()
        return next(c for c in self.containers() if c.name == name)

    def logs(self, name: str, tail: int = 200) -> str:
        """The last lines of a container's output."""
        raw = self._container(self._docker(), name).logs(tail=tail)
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)

    @staticmethod
    def _container(client: Any, name: str) -> Any:
        try:
            return client.containers.get(name)
        except Exception as exc:  # docker.errors.NotFound
            raise DataError(f"there is no container named {name!r}") from exc

    def _stack_record(self) -> PidRecord | None:
        if self._stack_home is None:
            return None
        record = read_pid_file(pid_file(self._stack_home))
        if record is None or record.socket is None or not owner_alive(record):
            return None
        if self._stack_token is not None and record.token != self._stack_token:
            return None
        return record

    def _client(self, record: PidRecord) -> SupervisorClient:
        return SupervisorClient(Path(record.socket or ""), timeout=3.0)

    def native_stack(self) -> NativeStack:
        """This MLOPS_HOME's stack and each of its services: state, pid, uptime, restarts."""
        home = self._stack_home or Path(".")
        record = self._stack_record()
        if record is None:
            return NativeStack(home, running=False)
        try:
            states = self._client(record).processes()
        except StackError as exc:
            raise ServiceUnavailableError(str(exc)) from exc
        counts = restarts(read_events(events_file(home)))
        processes = [
            StackProcess(s.name, s.state, s.pid, _clock(s.uptime_s), counts.get(s.name, 0)) for s in states
        ]
        return NativeStack(home, True, record.manager_pid, processes)

    def stack_log(self, service: str, length: int = 8_000) -> str:
        """The end of one service's log (its stdout and stderr), read through the process manager."""
        record = self._stack_record()
        if record is None:
            raise DataError(f"no stack started by `rakuten-mlops up` runs from {self._stack_home}")
        try:
            return self._client(record).tail(service, length)
        except StackError as exc:
            raise DataError(f"cannot read the log of {service}: {exc}") from exc


def _clock(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
