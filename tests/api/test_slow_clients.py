"""Bad bytes and slow clients against the real server: answered with 408, 413 or 503, never held forever."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rakuten_mlops.config import Settings
from rakuten_mlops.serving.schemas import MAX_BODY_BYTES
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port

LIMIT = 20


@pytest.fixture(scope="module")
def server(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The API with a 1 s body timeout and room for 20 connections at once; its port."""
    port = free_port()
    home = tmp_path_factory.mktemp("slow") / "mlops"
    shutil.copytree(trained_home, home)  # the API writes to its home: never to the shared one
    env = {
        **os.environ,
        "MLOPS_HOME": str(home),
        "API_BODY_TIMEOUT": "1",
        "API_MAX_CONCURRENCY": str(LIMIT),
        "INFERENCE_LOG": "false",
    }
    for name in ("DATABASE_URL", "MLFLOW_TRACKING_URI", "API_KEY"):
        env.pop(name, None)
    process = ServiceProcess(api_command(port), env, home.parent / "api.log").start()
    try:
        process.wait_http(f"http://127.0.0.1:{port}/ready", timeout=120)
        yield port
    finally:
        process.stop()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def _answer(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_a_body_shorter_than_its_length_gets_408_and_the_connection_closed(server: int) -> None:
    sock = _connect(server)
    sock.sendall(
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        b'{"designation"'
    )
    answer = _answer(sock)  # the server answers and closes: recv ends instead of waiting forever
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within 1 s" in answer


def test_an_oversized_chunked_body_gets_413_not_400(server: int) -> None:
    sock = _connect(server)
    sock.sendall(
        b"POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 65536
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for _ in range(MAX_BODY_BYTES // len(piece) + 2):
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
    answer = _answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_past_the_concurrency_limit_new_requests_get_503_and_room_comes_back(server: int) -> None:
    stalled = []
    for _ in range(LIMIT + 5):  # clients that announce a body and never send it
        sock = _connect(server)
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n")
        stalled.append(sock)
    probe = _connect(server)
    probe.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    busy = _answer(probe)
    probe.close()
    assert busy.startswith(b"HTTP/1.1 503"), busy[:200]
    answers = [_answer(sock) for sock in stalled]  # each stalled client is let go after the timeout
    for sock in stalled:
        sock.close()
    assert sum(a.startswith(b"HTTP/1.1 408") for a in answers) >= LIMIT - 2
    again = _connect(server)
    again.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _answer(again).startswith(b"HTTP/1.1 200")
    again.close()


def test_settings_refuse_a_zero_timeout(mlops_home: Path) -> None:
    from rakuten_mlops.config import load_settings
    from rakuten_mlops.errors import ConfigError

    with pytest.raises(ConfigError, match="API_BODY_TIMEOUT"):
        load_settings(API_BODY_TIMEOUT="0")
    assert Settings().api_max_concurrency == 1_000
