"""What every manager shares: the error a page shows when a service is down, and a service's status."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from rakuten_mlops.errors import DatabaseError, MlopsError

T = TypeVar("T")


class ServiceUnavailableError(MlopsError):
    """A service the control room talks to does not answer; the message names it and its URL."""


@dataclass(frozen=True)
class ServiceStatus:
    """Whether one service answers, how fast, and where its UI is."""

    name: str
    up: bool
    detail: str
    url: str | None = None
    ui_url: str | None = None
    latency_ms: float | None = None
    # False for a service this stack does not run (nor was told about): neither up nor down.
    in_stack: bool = True

    @property
    def state(self) -> str:
        """'up', 'down', or 'not part of this stack'."""
        if not self.in_stack:
            return "not part of this stack"
        return "up" if self.up else "down"


def not_in_stack(name: str, detail: str) -> ServiceStatus:
    """The status of a service the stack does not run, with what to set to watch one."""
    return ServiceStatus(name, False, detail, in_stack=False)


def probe_http(
    client: httpx.Client,
    name: str,
    url: str,
    *,
    ui_url: str | None = None,
    ok: Callable[[httpx.Response], bool] | None = None,
) -> ServiceStatus:
    """GET url and say whether the service is up (any 2xx, or what `ok` accepts)."""
    started = time.perf_counter()
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return ServiceStatus(name, False, f"no answer from {url} ({type(exc).__name__})", url, ui_url)
    latency = (time.perf_counter() - started) * 1000
    up = ok(response) if ok is not None else response.is_success
    detail = f"HTTP {response.status_code} in {latency:.0f} ms"
    return ServiceStatus(name, up, detail, url, ui_url, round(latency, 1))


def short_database_error(what: str, url: str, exc: BaseException) -> DatabaseError:
    """A DatabaseError in one sentence: the driver's first line and the usual remedy, without the SQL."""
    cause: BaseException = exc
    while cause.__cause__ is not None:  # pandas and SQLAlchemy wrap the driver's error
        cause = cause.__cause__
    first = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
    if "no such table" in first or "does not exist" in first:
        return DatabaseError(
            f"the database {url} is not migrated ({first}); run `rakuten-mlops db upgrade` or ingest data"
        )
    return DatabaseError(f"{what} failed on {url}: {first}; is the database running?")


def unavailable(service: str, url: str, exc: Exception) -> ServiceUnavailableError:
    """The error raised when `service` at `url` cannot be reached."""
    return ServiceUnavailableError(
        f"{service} at {url} is not reachable ({type(exc).__name__}: {exc}); start it or check its URL"
    )
