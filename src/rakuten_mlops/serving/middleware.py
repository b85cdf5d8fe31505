"""Pure ASGI middleware: request body limit (413) and HTTP metrics by route template."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rakuten_mlops.serving.metrics import PROBE_ROUTES, ApiMetrics, route_label

# Paths whose raw form is a route template (no path parameters): safe as label values.
KNOWN_PATHS = frozenset({"/predict", "/predict/batch", "/explain", "/feedback", "/model/reload"})


def _path_label(scope: Scope) -> str:
    """Before routing only the raw path is known: keep it for the API's fixed routes, bounded otherwise."""
    path = str(scope.get("path", ""))
    return path if path in KNOWN_PATHS else "unmatched"


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _send_json(send: Send, status: int, body: dict[str, Any], *, close: bool = False) -> None:
    payload = json.dumps(body).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive, max_bytes: int, timeout: float) -> bytes:
    """The whole body; _TooLarge past max_bytes, TimeoutError when a piece takes longer than `timeout`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await asyncio.wait_for(receive(), timeout)
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body = message.get("body", b"")
        size += len(body)
        if size > max_bytes:
            raise _TooLarge
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks)


class BodyLimitMiddleware:
    """Read each request body before the app sees it: 413 past `max_bytes` (announced or streamed),
    408 when the client stops sending (a body shorter than its Content-Length would hold the
    connection, and its memory, forever). `path_limits` gives some paths their own limit (uploads)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        metrics: ApiMetrics,
        timeout: float = 10.0,
        path_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics
        self.timeout = timeout
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        message = f"request body is larger than the {limit:,} bytes this API accepts"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            self.metrics.errors.labels(reason="body_too_large", route=_path_label(scope)).inc()
            await _send_json(send, 413, {"detail": message}, close=True)
            return
        try:
            body = await _read_body(receive, limit, self.timeout)
        except _TooLarge:
            self.metrics.errors.labels(reason="body_too_large", route=_path_label(scope)).inc()
            await _send_json(send, 413, {"detail": message}, close=True)
            return
        except TimeoutError:
            self.metrics.errors.labels(reason="body_timeout", route=_path_label(scope)).inc()
            detail = f"the request body did not arrive within {self.timeout:g} s; send it whole, then retry"
            await _send_json(send, 408, {"detail": detail}, close=True)
            return
        except _Disconnected:
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # what comes next is the client's disconnect

        await self.app(scope, replay, send)


class MetricsMiddleware:
    """Count and time every HTTP request by route template (not raw path, to bound label values)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            template = route_label(scope)
            if template in PROBE_ROUTES:
                self.metrics.probes.labels(route=template).inc()
            else:
                method = scope.get("method", "GET")
                self.metrics.http_requests.labels(route=template, method=method, status=str(status)).inc()
                self.metrics.http_latency.labels(route=template, method=method).observe(
                    time.perf_counter() - start
                )
