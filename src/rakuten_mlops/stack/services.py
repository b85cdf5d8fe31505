"""The stack's building blocks: `Service`, `Ports`, `StackPlan`, and the checks made before starting."""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rakuten_mlops.errors import MlopsError

HOST = "127.0.0.1"
# Every process of a stack carries this variable (children inherit it), so `down` finds them all.
MARKER_ENV = "RAKUTEN_MLOPS_STACK"
# A service that exits sooner than this after it was started failed to start (supervisord's
# `startsecs`): it is tried again after 1, 2, 3 ... s, and stays down after 1 + START_RETRIES failed
# starts in a row. Long enough to cover a boot that crashes (imports, migrations, a port taken).
START_SECONDS = 30
START_RETRIES = 3
# The longest path of a unix socket (sun_path is 108 bytes on Linux, with its terminating NUL), less
# what supervisord adds: it binds `PATH.PID` first, then renames it (a pid has up to 7 digits).
MAX_SOCKET_PATH = 107 - len(".4194304")


class StackError(MlopsError):
    """The stack cannot start, did not become healthy, or cannot be stopped."""


@dataclass(frozen=True)
class Ports:
    """The loopback ports of the stack's services."""

    api: int = 8000
    ui: int = 8501
    mlflow: int = 5000
    prefect: int = 4200
    prometheus: int = 9090


@dataclass(frozen=True)
class Service:
    """One process of the stack: its program name, command, port and health check."""

    name: str
    title: str
    command: tuple[str, ...]
    health_url: str
    port: int | None = None
    url: str | None = None
    # Health URLs this service waits for before it starts (it needs those servers to boot).
    after: tuple[str, ...] = ()
    # The `up` option that changes the port, named in the error when the port is taken.
    option: str | None = None
    # Seconds the service must stay up for its start to count (see START_SECONDS).
    start_seconds: int = START_SECONDS
    start_retries: int = START_RETRIES
    # Seconds between SIGTERM and supervisord's SIGKILL of the service's process group.
    stop_seconds: int = 10


@dataclass(frozen=True)
class StackPlan:
    """Everything needed to write the process manager's config and run the stack."""

    home: Path
    root: Path
    services: tuple[Service, ...]
    env: dict[str, str]
    token: str
    ports: Ports = field(default_factory=Ports)
    prometheus_config: Path | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def stack_dir(self) -> Path:
        """Generated files: supervisord's config, environment file, Prometheus config, pid file, events."""
        return self.home / "stack"

    @property
    def logs_dir(self) -> Path:
        """One log per service, plus the process manager's own `stack.log`."""
        return self.home / "logs"

    @property
    def config_file(self) -> Path:
        """supervisord's config: one [program] per service."""
        return self.stack_dir / "supervisord.conf"

    @property
    def env_file(self) -> Path:
        return self.stack_dir / "stack.env"

    @property
    def pid_file(self) -> Path:
        return pid_file(self.home)

    @property
    def events_file(self) -> Path:
        return events_file(self.home)

    @property
    def socket(self) -> Path:
        """supervisord's XML-RPC socket."""
        return socket_path(self.home, self.token)

    def log_path(self, name: str) -> Path:
        """The log file of one service."""
        return self.logs_dir / f"{name}.log"

    def service(self, name: str) -> Service:
        """The service with this program name."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def pid_file(home: Path) -> Path:
    """Where a running `up` records its pid and its stack's marker."""
    return home / "stack" / "up.pid"


def events_file(home: Path) -> Path:
    """Where the stack records each state change of its services (one JSON object a line)."""
    return home / "stack" / "events.jsonl"


def socket_path(home: Path, token: str) -> Path:
    """supervisord's unix socket: in MLOPS_HOME/stack, or the temporary folder when that path is too long."""
    path = home.resolve() / "stack" / "supervisor.sock"
    if len(str(path).encode()) <= MAX_SOCKET_PATH:
        return path
    return Path(tempfile.gettempdir()) / f"rakuten-mlops-{token[:16]}.sock"


def project_root() -> Path:
    """The checkout holding streamlit_app/ and monitoring/: the package's own, else the working directory."""
    packaged = Path(__file__).resolve().parents[3]
    for candidate in (packaged, Path.cwd()):
        if (candidate / "streamlit_app" / "Home.py").is_file():
            return candidate
    return packaged


def prometheus_installed() -> bool:
    """Whether a `prometheus` binary is on PATH."""
    return shutil.which("prometheus") is not None


def answers(url: str, client: httpx.Client) -> bool:
    """Whether GET url answers 200 now (a health check).

    Polls share one client: a bare `httpx.get` builds a TLS context each time, ~40 ms of CPU
    that, several times a second, slows down the very services being waited for.
    """
    try:
        return client.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(services: tuple[Service, ...]) -> None:
    """Fail with one sentence naming the first port that is shared or already in use."""
    seen: dict[int, Service] = {}
    for service in services:
        if service.port is None:
            continue
        if service.port in seen:
            other = seen[service.port]
            raise StackError(
                f"port {service.port} is given to both {other.title} and {service.title}; "
                f"pass a different {service.option}"
            )
        seen[service.port] = service
    for service in services:
        if service.port is not None and port_in_use(service.port):
            raise StackError(
                f"port {service.port} ({service.title}) is in use on {HOST}; "
                f"stop what uses it or pass {service.option}"
            )
