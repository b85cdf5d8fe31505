"""Infrastructure: each service's health, Docker containers when an engine answers, native processes otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from managers.base import ServiceStatus
from managers.guard import Guard
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.errors import DataError, MlopsError

ACTIONS = ("start", "stop", "restart")
# How the native stack's processes show up in their command lines, and the service each one is.
NATIVE_PATTERNS = (
    ("rakuten_mlops.cli serve", "API"),
    ("rakuten-mlops serve", "API"),
    ("mlflow server", "MLflow"),
    ("mlflow.server", "MLflow"),
    ("prefect server", "Prefect server"),
    ("flows.deployments", "Prefect deployments"),
    ("prometheus --config", "Prometheus"),
    ("grafana", "Grafana"),
    ("streamlit run", "Control room"),
    ("postgres -D", "PostgreSQL"),
)


@dataclass(frozen=True)
class ContainerInfo:
    """One Docker container of the stack."""

    name: str
    short_id: str
    image: str
    status: str
    service: str | None  # compose service label


@dataclass(frozen=True)
class ProcessInfo:
    """One native process of the stack."""

    pid: int
    service: str
    command: str


class DockerUnavailableError(MlopsError):
    """No Docker engine answers."""


class InfrastructureManager:
    """Runs the health probes side by side; drives containers through an injected Docker client factory."""

    def __init__(
        self,
        probes: Sequence[Callable[[], ServiceStatus]],
        docker_factory: Callable[[], Any] | None = None,
        proc_root: Path = Path("/proc"),
        guard: Guard | None = None,
    ) -> None:
        self._guard = guard or Guard()
        self._probes = list(probes)
        self._docker_factory = docker_factory
        self._proc_root = proc_root

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

    def processes(self) -> list[ProcessInfo]:
        """Native processes of the stack found in the process table (Linux /proc)."""
        found: list[ProcessInfo] = []
        if not self._proc_root.is_dir():
            return found
        for entry in self._proc_root.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                )
            except OSError:
                continue
            service = next((s for pattern, s in NATIVE_PATTERNS if pattern in command), None)
            if service is not None:
                found.append(ProcessInfo(int(entry.name), service, command[:300]))
        return sorted(found, key=lambda p: (p.service, p.pid))
