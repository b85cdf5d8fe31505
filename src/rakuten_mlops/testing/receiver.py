"""A webhook receiver on loopback for tests: answers `failures` requests with an error, then accepts."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from rakuten_mlops.testing.processes import free_port


@dataclass
class Received:
    """What the receiver was sent: every request's path and JSON body, and how it answered."""

    requests: list[tuple[str, Any, int]] = field(default_factory=list)

    @property
    def accepted(self) -> list[Any]:
        """Bodies answered 2xx."""
        return [body for _, body, status in self.requests if status < 300]


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that fails the first `failures` posts with `status`, then answers 200."""

    def __init__(self, failures: int = 0, status: int = 503) -> None:
        self.failures = failures
        self.status = status
        self.received = Received()
        self.port = free_port()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with receiver._lock:
                    failing = receiver.failures > 0
                    receiver.failures -= 1 if failing else 0
                    answer = receiver.status if failing else 200
                    receiver.received.requests.append((self.path, body, answer))
                self.send_response(answer)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if answer == 200 else b"try later")

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        """The receiver's URL for `path`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
