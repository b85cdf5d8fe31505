"""A tiny Docker Engine API on loopback, so the real Docker SDK can be driven where no engine runs.

It answers the calls the control room makes (ping, version, list, inspect, image, start, stop,
restart, logs) for a few in-memory containers, and nothing else.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

API_VERSION = "1.43"


class FakeEngine:
    """In-memory containers behind a ThreadingHTTPServer on 127.0.0.1."""

    def __init__(self, containers: dict[str, str]) -> None:
        self.containers = {
            name: {"id": f"{i:064x}", "status": status}
            for i, (name, status) in enumerate(containers.items(), 1)
        }
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"tcp://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEngine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _find(self, key: str) -> tuple[str, dict[str, Any]] | None:
        return next(((n, c) for n, c in self.containers.items() if key in (n, c["id"])), None)

    def _inspect(self, name: str, container: dict[str, Any]) -> dict[str, Any]:
        labels = {"com.docker.compose.service": name.removeprefix("rakuten-")}
        return {
            "Id": container["id"],
            "Name": f"/{name}",
            "Image": f"sha256:{container['id']}",
            "State": {"Status": container["status"]},
            "Config": {"Image": f"{name}:latest", "Labels": labels, "Tty": True},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None, raw: bytes | None = None) -> None:
                data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if raw is None else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self) -> tuple[str, dict[str, list[str]]]:
                parsed = urlparse(self.path)
                return re.sub(r"^/v[0-9.]+", "", parsed.path), parse_qs(parsed.query)

            def do_GET(self) -> None:
                path, query = self._route()
                if path == "/_ping":
                    return self._send(200, raw=b"OK")
                if path == "/version":
                    return self._send(200, {"Version": "27.0-test", "ApiVersion": API_VERSION})
                if path == "/containers/json":
                    listed = [
                        {"Id": c["id"], "Names": [f"/{n}"], "State": c["status"]}
                        for n, c in engine.containers.items()
                        if query.get("all") == ["1"] or c["status"] == "running"
                    ]
                    return self._send(200, listed)
                if match := re.fullmatch(r"/images/([0-9a-f]+)/json", path):
                    name = next(n for n, c in engine.containers.items() if c["id"] == match[1])
                    return self._send(200, {"Id": f"sha256:{match[1]}", "RepoTags": [f"{name}:latest"]})
                if match := re.fullmatch(r"/containers/([^/]+)/(json|logs)", path):
                    found = engine._find(match[1])
                    if found is None:
                        return self._send(404, {"message": f"No such container: {match[1]}"})
                    if match[2] == "json":
                        return self._send(200, engine._inspect(*found))
                    tail = int(query.get("tail", ["10"])[0])
                    return self._send(
                        200, raw="".join(f"{found[0]} line {i}\n" for i in range(tail)).encode()
                    )
                return self._send(404, {"message": f"not in this test engine: {path}"})

            def do_POST(self) -> None:
                path, _ = self._route()
                match = re.fullmatch(r"/containers/([^/]+)/(start|stop|restart)", path)
                found = engine._find(match[1]) if match else None
                if match is None or found is None:
                    return self._send(404, {"message": f"not in this test engine: {path}"})
                found[1]["status"] = "exited" if match[2] == "stop" else "running"
                return self._send(204)

        return Handler
