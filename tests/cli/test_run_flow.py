"""`run_flow`, which every flow command goes through, against the real Prefect engine and a temporary API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import typer
from prefect import flow

from rakuten_mlops.commands.common import run_flow
from rakuten_mlops.errors import DataError
from rakuten_mlops.testing.processes import free_port

pytestmark = pytest.mark.usefixtures("prefect_harness", "mlops_home")


class DropsTheFirstAnswerToTheEnd(BaseHTTPRequestHandler):
    """A proxy to the Prefect API that forwards everything, but loses its answer to the first report
    of a run's end: the server records the end, the engine sees the connection drop and sends the same
    report again, and the server refuses the duplicate with its own copy of the state (no result).
    That is what a server too busy to answer in time (a locked SQLite) does to a run.
    """

    upstream: ClassVar[str] = ""
    dropped: ClassVar[list[str]] = []

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
        answer = httpx.request(self.command, self.upstream + self.path, content=body, headers=headers)
        if self.path.endswith("/set_state") and b'"COMPLETED"' in body and not self.dropped:
            self.dropped.append(self.path)
            self.close_connection = True  # the end is recorded; its answer never arrives
            return
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in {"content-length", "transfer-encoding", "connection", "content-encoding"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lossy_api() -> Iterator[list[str]]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    DropsTheFirstAnswerToTheEnd.upstream = str(PREFECT_API_URL.value()).removesuffix("/api")
    DropsTheFirstAnswerToTheEnd.dropped = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), DropsTheFirstAnswerToTheEnd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{server.server_port}/api"}):
            yield DropsTheFirstAnswerToTheEnd.dropped
    finally:
        server.shutdown()
        server.server_close()


@flow
def counts_rows() -> dict[str, int]:
    return {"rows": 3}


@flow
def refuses_its_input() -> dict[str, int]:
    raise DataError("row 7 has no designation")


@flow
def breaks() -> dict[str, int]:
    raise RuntimeError("disk on fire")


def test_the_flows_own_return_value_is_the_result_when_the_answer_to_its_end_was_lost(
    lossy_api: list[str],
) -> None:
    assert run_flow(counts_rows, dict, True, "the flow") == {"rows": 3}
    assert len(lossy_api) == 1  # the fault did happen: the engine's first report of the end went unanswered


def test_a_failed_flow_ends_the_command_with_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        run_flow(refuses_its_input, dict, False, "ingestion")
    assert "row 7 has no designation" in capsys.readouterr().err
    with pytest.raises(typer.Exit):
        run_flow(breaks, dict, False, "training")
    assert "training failed: disk on fire" in capsys.readouterr().err


def test_a_result_of_the_wrong_type_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(typer.Exit):
        run_flow(counts_rows, list, False, "the flow")
    assert "the flow returned dict, expected list" in capsys.readouterr().err
