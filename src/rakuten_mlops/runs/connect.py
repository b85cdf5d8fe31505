"""Which Prefect server the runs commands use, and a client for it.

`PREFECT_API_URL` when set; otherwise the server of a stack that `rakuten-mlops up` runs from the
same `MLOPS_HOME`; otherwise none (the CLI then uses Prefect's temporary local server).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from rakuten_mlops.runs.errors import PrefectUnavailableError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

PREFECT_ENV = "PREFECT_API_URL"


def stack_prefect_url(home: Path) -> str | None:
    """The Prefect API URL of a stack running from this MLOPS_HOME, or None when none runs."""
    from rakuten_mlops.stack.processes import owner_alive, read_pid_file
    from rakuten_mlops.stack.services import pid_file

    record = read_pid_file(pid_file(home))
    if record is None or not owner_alive(record):
        return None
    try:
        lines = (home / "stack" / "stack.env").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key == PREFECT_ENV and value:
            parts = shlex.split(value)
            return parts[0] if parts else None
    return None


def prefect_url(home: Path | None = None) -> str | None:
    """The configured Prefect API URL, or that of the stack running from `home`."""
    configured = os.environ.get(PREFECT_ENV, "").strip()
    if configured:
        return configured.rstrip("/")
    return stack_prefect_url(home) if home is not None else None


def check_server(api_url: str, timeout: float = 3.0) -> None:
    """Fail in one sentence when the Prefect server does not answer its health check."""
    try:
        response = httpx.get(f"{api_url}/health", timeout=timeout)
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(
            f"the Prefect server at {api_url} is not reachable ({type(exc).__name__}); "
            "start it (rakuten-mlops up) or check PREFECT_API_URL"
        ) from None
    if response.status_code != 200:
        raise PrefectUnavailableError(
            f"the Prefect server at {api_url} answered HTTP {response.status_code} on /health"
        )


@contextmanager
def client(api_url: str | None) -> Iterator[SyncPrefectClient]:
    """A Prefect client for `api_url`, or for Prefect's temporary local server when None."""
    from prefect.client.orchestration import SyncPrefectClient, get_client

    if api_url is None:
        with get_client(sync_client=True) as local:
            yield local
        return
    with SyncPrefectClient(api_url, httpx_settings={"timeout": 30.0}) as found:
        yield found
