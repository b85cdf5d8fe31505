"""An intent built into platform objects: the dataset expectation, the AutoML task, the files, the image.

Real components: a SQLite catalogue and workbench, the profile read by `design`, Debian's
docker-compose validating the written service, and the Docker SDK talking HTTP to a local server
that speaks the Docker Engine API with scripted answers (no Docker engine runs here). The
schedules on a real Prefect server are in tests/runs/test_app_schedules.py.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.tools import require_tool

from rakuten_mlops.apps.records import check_expectation, drift_thresholds, list_apps
from rakuten_mlops.assistant.apps import design
from rakuten_mlops.assistant.build import build_app
from rakuten_mlops.assistant.chat import Assistant
from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.store import DatasetStore
from rakuten_mlops.testing.processes import free_port

INTENT = "I need an app that predicts network load from hourly traffic counters"
ALICE = Principal("alice", Role.ADMIN)


def _traffic(rows: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    hour = np.arange(rows) % 24
    counter_in = rng.poisson(200 + 50 * np.sin(hour / 24 * 2 * np.pi), rows)
    counter_out = rng.poisson(150, rows)
    return pd.DataFrame(
        {
            "hour": hour,
            "counter_in": counter_in,
            "counter_out": counter_out,
            "network_load": 0.6 * counter_in + 0.3 * counter_out + rng.normal(0, 5, rows),
        }
    )


@pytest.fixture
def app_home(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A home with the workbench dataset `traffic` (hourly counters and the load they carry).

    No Prefect server is configured and DOCKER_HOST points where nothing listens, unless a test says.
    """
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    engine = make_engine(settings.db_url)
    upgrade(engine)
    path = tmp_path / "traffic.csv"
    _traffic().to_csv(path, index=False)
    DatasetStore.from_settings(settings, engine).add(path)
    engine.dispose()
    yield settings


class FakeDockerEngine(BaseHTTPRequestHandler):
    """The few Docker Engine API calls the SDK makes to build an image and run a container."""

    calls: list[tuple[str, str, Any]]
    gate: threading.Event | None = None  # when set by a test: the build waits for it after its first line
    protocol_version = "HTTP/1.1"  # chunked streams, as the engine's

    def log_message(self, format: str, *args: Any) -> None:  # keep the test's output clean
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        chunks = b""
        while self.headers.get("Transfer-Encoding") == "chunked":
            size = int(self.rfile.readline().strip(), 16)
            if size == 0:
                self.rfile.readline()
                break
            chunks += self.rfile.read(size)
            self.rfile.readline()
        return chunks

    def _send(self, status: int, body: Any = None, kind: str = "application/json") -> None:
        data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlparse(self.path).path.split("/", 2)[-1] if self.path.startswith("/v1.") else self.path
        path = path.lstrip("/")
        self.calls.append(("GET", path, None))
        if path == "version":
            self._send(
                200, {"ApiVersion": "1.45", "MinAPIVersion": "1.24", "Version": "27.0.3", "Os": "linux"}
            )
        elif path == "_ping":
            self._send(200, b"OK", "text/plain")
        elif path.endswith("/json"):
            cid = path.split("/")[1]
            self._send(200, {"Id": cid, "Name": "/app", "Config": {"Tty": True}, "State": {"Running": True}})
        elif path.endswith("/logs"):
            self._send(200, b"serving models:/traffic-network_load@champion on 0.0.0.0:8080\n", "text/plain")
        else:
            self._send(404, {"message": f"no route {path}"})

    def do_POST(self) -> None:
        parsed = urlparse(self.path)
        path = parsed.path.split("/", 2)[-1].lstrip("/")
        body = self._body()
        if path == "build":
            members = {}
            with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                for member in tar.getmembers():
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        members[member.name] = extracted.read().decode()
            self.calls.append(("POST", path, {"query": parse_qs(parsed.query), "files": members}))
            lines = [
                {"stream": "Step 1/5 : ARG BASE_IMAGE=rakuten-mlops/api:latest\n"},
                {"stream": "Step 5/5 : CMD serve\n"},
                {"aux": {"ID": "sha256:0123456789ab"}},
                {"stream": "Successfully built 0123456789ab\n"},
            ]
            self.send_response(200)  # streamed, one chunk per JSON line, as the engine does
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, line in enumerate(lines):
                data = json.dumps(line).encode() + b"\r\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                if i == 0 and self.gate is not None:
                    self.gate.wait(30)  # an image that takes its time to build
            self.wfile.write(b"0\r\n\r\n")
        elif path == "containers/create":
            self.calls.append(("POST", path, {"query": parse_qs(parsed.query), "config": json.loads(body)}))
            self._send(201, {"Id": "c0ffee0123456789", "Warnings": []})
        elif path.endswith("/start"):
            self.calls.append(("POST", path, None))
            self._send(204)
        else:
            self._send(404, {"message": f"no route {path}"})


@pytest.fixture
def build_gate() -> threading.Event:
    """Holds the fake engine's image build after its first line until the test sets it."""
    return threading.Event()


@pytest.fixture
def docker_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, Any]]]:
    """A fake Docker engine on a free loopback port; DOCKER_HOST points at it. Yields its calls."""
    yield from _engine(monkeypatch, None)


@pytest.fixture
def slow_docker_engine(
    monkeypatch: pytest.MonkeyPatch, build_gate: threading.Event
) -> Iterator[list[tuple[str, str, Any]]]:
    """The same engine, whose image build waits for `build_gate` after its first line."""
    yield from _engine(monkeypatch, build_gate)


def _engine(
    monkeypatch: pytest.MonkeyPatch, gate: threading.Event | None
) -> Iterator[list[tuple[str, str, Any]]]:
    calls: list[tuple[str, str, Any]] = []
    handler = type("Handler", (FakeDockerEngine,), {"calls": calls, "gate": gate})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    try:
        yield calls
    finally:
        server.shutdown()
        server.server_close()


def test_an_intent_becomes_its_expectation_task_files_and_threshold_without_docker_or_prefect(
    app_home: Settings,
) -> None:
    compose = require_tool("docker-compose", "make system-deps installs Debian's docker-compose")
    profile = design(INTENT)
    assert (profile.task, profile.target) == ("regression", "network load")
    engine = make_engine(app_home.db_url)
    lines: list[str] = []
    built = build_app(app_home, engine, profile, "traffic", budget_minutes=2, say=lines.append)
    assert built.target == "network_load"  # read from the profile's "network load"
    assert built.model == "traffic-network_load"
    assert built.expectation.target_kind == "number"
    assert set(built.task["features"]) == {"hour", "counter_in", "counter_out"}
    status = {s.step: s.status for s in built.steps}
    assert status == {
        "expectation": "done", "automl_task": "done", "files": "done", "monitoring": "done",
        "schedule": "skipped", "first_run": "skipped", "container": "skipped",
    }  # fmt: skip
    assert "automl traffic --target network_load" in (built.step("schedule").native or "")
    container = built.step("container")
    assert "no Docker engine answers at tcp://127.0.0.1:" in container.detail
    assert "POST /models/traffic-network_load/predict" in (container.native or "")

    folder = Path(built.directory)
    assert json.loads((folder / "app.json").read_text())["model"] == "traffic-network_load"
    assert "models:/$APP_MODEL@champion" in (folder / "Dockerfile").read_text()
    checked = subprocess.run(
        [compose, "-f", str(folder / "docker-compose.yml"), "config"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    service = yaml.safe_load(checked.stdout)["services"]["app-network-load"]
    assert service["image"] == "rakuten-mlops-app/network-load:latest"
    assert [a.profile.name for a in list_apps(app_home)] == ["network-load"]
    assert drift_thresholds(app_home) == {"traffic-network_load": profile.monitoring.drift_threshold}

    # Before each scheduled run the dataset is checked again: a version without the target is refused.
    with pytest.raises(DataError, match=r"dataset 'traffic' v2 has no column 'network_load'"):
        check_expectation(built.expectation, _traffic().drop(columns="network_load"), 2)
    texts = _traffic().astype({"network_load": str})
    texts.loc[7, "network_load"] = "high"
    with pytest.raises(DataError, match=r"must hold numbers.*first: 'high'"):
        check_expectation(built.expectation, texts, 3)
    engine.dispose()


def test_a_dataset_without_the_target_changes_nothing_and_names_its_columns(app_home: Settings) -> None:
    profile = design("an app that predicts the price of a flat from its surface")
    engine = make_engine(app_home.db_url)
    with pytest.raises(
        DataError, match=r"matches the app's target 'price of a flat'.*columns: hour, counter_in"
    ):
        build_app(app_home, engine, profile, "traffic", docker=False)
    with pytest.raises(DataError, match="counter_total"):
        build_app(app_home, engine, profile, "traffic", target="counter_total", docker=False)
    assert not (app_home.mlops_home / "apps").exists()
    engine.dispose()


def test_with_a_docker_engine_the_image_is_built_from_the_written_files_and_started(
    app_home: Settings, docker_engine: list[tuple[str, str, Any]]
) -> None:
    engine = make_engine(app_home.db_url)
    lines: list[str] = []
    built = build_app(app_home, engine, design(INTENT), "traffic", say=lines.append)
    assert built.step("container").status == "done", built.step("container").detail
    (build,) = [c for c in docker_engine if c[1] == "build"]
    assert build[2]["query"]["t"] == ["rakuten-mlops-app/network-load:latest"]
    assert build[2]["files"]["Dockerfile"] == (Path(built.directory) / "Dockerfile").read_text()
    (create,) = [c for c in docker_engine if c[1] == "containers/create"]
    assert create[2]["config"]["Image"] == "rakuten-mlops-app/network-load:latest"
    assert create[2]["query"]["name"] == ["rakuten-mlops-app-network-load"]
    assert any(c[1] == "containers/c0ffee0123456789/start" for c in docker_engine)
    assert "Successfully built 0123456789ab" in lines  # the build's log is passed on line by line
    assert any("serving models:/traffic-network_load@champion" in line for line in lines)
    engine.dispose()


def test_the_assistant_builds_an_app_only_once_confirmed_and_audits_it(app_home: Settings) -> None:
    assistant = Assistant(app_home)
    planned = assistant.chat("build the app that predicts network load from the traffic dataset", ALICE)
    (action,) = planned.actions
    assert (action.tool, action.arguments["dataset"], action.status) == (
        "build_app",
        "traffic",
        "needs_confirmation",
    )
    assert not (app_home.mlops_home / "apps").exists()  # nothing built before the confirmation
    olga = Principal("olga", Role.OPERATOR)  # an app's schedules and container are an admin's to make
    (refused,) = assistant.chat("build the app predicting network load on traffic", olga).actions
    failed = assistant.chat("", olga, confirm=refused.id).actions[0]
    assert failed.error == "app build needs the admin role; olga is operator"
    assert not (app_home.mlops_home / "apps").exists()
    done = assistant.chat("", ALICE, confirm=action.id)
    assert done.actions[0].status == "done", done.reply
    assert done.actions[0].result is not None and done.actions[0].result["model"] == "traffic-network_load"
    engine = make_engine(app_home.db_url)
    audited = [(e.user, e.result) for e in list_entries(engine) if e.arguments.get("tool") == "build_app"]
    assert sorted(audited) == [
        ("alice", "ok"),
        ("olga", "refused: app build needs the admin role; olga is operator"),
    ]
    engine.dispose()


def test_a_confirmed_build_streams_its_log_over_the_api_while_the_image_builds(
    app_home: Settings, slow_docker_engine: list[tuple[str, str, Any]], build_gate: threading.Event
) -> None:
    from fastapi.testclient import TestClient

    from rakuten_mlops.serving.app import create_app

    key = "build-stream-key-0123456789abcdef"
    admin = {"X-API-Key": key}
    record = app_home.mlops_home / "apps" / "network-load" / "app.json"
    events: list[tuple[str, str]] = []
    with TestClient(create_app(app_home.model_copy(update={"api_key": key}), poll_seconds=0)) as client:
        asked = {"message": "build the app that predicts network load from the traffic dataset"}
        (action,) = client.post("/assistant/chat", json=asked, headers=admin).json()["actions"]
        assert action["status"] == "needs_confirmation"
        with client.stream(
            "GET", "/assistant/chat/stream", params={"confirm": action["id"]}, headers=admin
        ) as stream:
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: "):
                    events.append((event, line[len("data: ") :]))
                    if event == "log" and line.startswith("data: Step 1/5"):
                        # The image is still building: its step is not in the app's record yet.
                        steps = [s["step"] for s in json.loads(record.read_text())["steps"]]
                        assert "container" not in steps and not build_gate.is_set()
                        build_gate.set()
        unknown = client.get("/assistant/chat/stream", params={"confirm": "nope"}, headers=admin).text
    assert build_gate.is_set(), events  # the first build line arrived while the build waited
    kinds = [kind for kind, _ in events]
    logged = [data for kind, data in events if kind == "log"]
    assert logged[0].startswith("dataset 'traffic' v1 fits") and "Successfully built 0123456789ab" in logged
    assert kinds.index("action") > max(i for i, kind in enumerate(kinds) if kind == "log")
    done = json.loads(next(data for kind, data in events if kind == "action"))
    assert done["status"] == "done" and done["result"]["log"] == logged  # the record keeps what was streamed
    assert "event: error" in unknown and "no planned action 'nope'" in unknown
