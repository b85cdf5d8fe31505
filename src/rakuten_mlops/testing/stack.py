"""Small stand-in services for tests of the native stack's runner and of the pages that show it."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from rakuten_mlops.stack.services import MARKER_ENV, Service, StackPlan


def web_service(
    name: str, port: int, *, after: tuple[str, ...] = (), start_seconds: int = 1, start_retries: int = 2
) -> Service:
    """Python's http.server on loopback; its start counts after `start_seconds`."""
    command = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1")
    url = f"http://127.0.0.1:{port}/"
    return Service(
        name=name,
        title=name,
        command=command,
        health_url=url,
        port=port,
        url=url,
        after=after,
        start_seconds=start_seconds,
        start_retries=start_retries,
    )


def serves_once_service(name: str, port: int, marker: Path, *, start_retries: int = 2) -> Service:
    """An HTTP stand-in that runs once: once it is stopped, each restart exits at once with code 3.

    Its start counts after 5 s: a Python process that exits "at once" can take a second or two to
    do so on a busy machine, and must still count as a failed start.
    """
    url = f"http://127.0.0.1:{port}/"
    return Service(
        name=name,
        title=name,
        command=(sys.executable, "-m", "rakuten_mlops.testing.stack", "once", str(marker), str(port)),
        health_url=url,
        port=port,
        url=url,
        start_seconds=5,
        start_retries=start_retries,
    )


def crashing_service(name: str, message: str, code: int = 3, *, health_url: str) -> Service:
    """A stand-in that prints `message` and exits with `code` as soon as it starts."""
    script = f"import sys; print({message!r}, flush=True); sys.exit({code})"
    return Service(
        name=name,
        title=name,
        command=(sys.executable, "-c", script),
        health_url=health_url,
        start_seconds=5,
        start_retries=2,
    )


def stand_in_plan(home: Path, *services: Service, token: str | None = None) -> StackPlan:
    """A plan of stand-in services under `home`, with its own marker token."""
    token = token or uuid.uuid4().hex
    return StackPlan(
        home=home, root=home, services=services, env={MARKER_ENV: token, "PYTHONUNBUFFERED": "1"}, token=token
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m rakuten_mlops.testing.stack once MARKER PORT`: serve HTTP the first time, exit 3 after."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] != "once":
        print("usage: python -m rakuten_mlops.testing.stack once MARKER PORT", file=sys.stderr)
        return 2
    marker, port = Path(args[1]), args[2]
    if marker.exists():
        print("cannot start again: the stand-in serves only once", flush=True)
        return 3
    marker.touch()
    os.execv(sys.executable, [sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1"])


if __name__ == "__main__":
    raise SystemExit(main())
