"""The runs routes of the real API against the real Prefect server: live logs over SSE, events, retry, errors."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from httpx_sse import connect_sse

from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.db import make_engine
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port
from tests.runs.conftest import RunsStack

pytestmark = pytest.mark.slow
KEY = "runs-operator-key"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def api(runs_stack: RunsStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """`rakuten-mlops serve` with the stack's Prefect server and an operator key."""
    port = free_port()
    env = {**runs_stack.env, "API_KEY": KEY, "MODEL_POLL_SECONDS": "0"}
    log = tmp_path_factory.mktemp("runs-api") / "api.log"
    process = ServiceProcess(api_command(port), env, log).start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/health", timeout=120)
        with httpx.Client(base_url=url, timeout=60.0) as client:
            yield client
    finally:
        process.stop()


def wait_final(api: httpx.Client, run_id: str, timeout: float = 180.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"/runs/{run_id}").json()
        if run["state_type"] in {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}:
            return dict(run)
        assert time.monotonic() < deadline, run
        time.sleep(0.5)


def test_log_lines_stream_over_sse_while_the_run_runs(api: httpx.Client) -> None:
    started = api.post(
        "/runs",
        json={"deployment": "long-work/test", "parameters": {"seconds": 8, "every": 0.5}},
        headers=ADMIN,
    )
    assert started.status_code == 200, started.text
    run_id = started.json()["id"]
    arrivals: list[tuple[float, dict[str, object]]] = []
    states: list[tuple[float, str]] = []
    with connect_sse(
        api, "GET", f"/runs/{run_id}/logs/stream", timeout=httpx.Timeout(60.0, read=120.0)
    ) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        for event in source.iter_sse():
            now = time.time()
            if event.event == "log":
                arrivals.append((now, json.loads(event.data)))
            elif event.event == "state":
                states.append((now, json.loads(event.data)["state_type"]))
            elif event.event == "end":
                break
    steps = [(at, line) for at, line in arrivals if str(line["message"]).startswith("step ")]
    assert len(steps) >= 10, arrivals
    first, last = steps[0], steps[-1]
    assert {"time", "level", "source", "message", "step", "rows"} <= set(first[1])
    assert first[1]["level"] == "INFO" and first[1]["source"].startswith("work_step")  # type: ignore[union-attr]
    ended = next(at for at, state in states if state in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
    # Streaming, not a dump at the end: the first lines came seconds before the run ended, spread out.
    assert ended - first[0] > 3.0 and last[0] - first[0] > 3.0
    latency = [at - datetime.fromisoformat(str(line["time"])).timestamp() for at, line in steps]
    assert statistics.median(latency) < 2.0, latency


def test_run_routes_answer_4xx_with_a_message_for_bad_input(api: httpx.Client) -> None:
    assert api.get("/runs/not-a-uuid").status_code == 404
    missing = api.get("/runs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "no run with id" in missing.json()["detail"]
    assert api.get("/runs", params={"limit": 0}).status_code == 422
    assert api.post("/runs/00000000-0000-0000-0000-000000000000/cancel").status_code == 401
    unknown = api.post("/runs/00000000-0000-0000-0000-000000000000/cancel", headers=ADMIN)
    assert unknown.status_code == 404
    bad_param = api.post(
        "/runs", json={"deployment": "quick-work/test", "parameters": {"nope": 1}}, headers=ADMIN
    )
    assert bad_param.status_code == 422 and "no parameter 'nope'" in bad_param.json()["detail"]
    nowhere = api.post("/runs", json={"deployment": "quick-work/nowhere"}, headers=ADMIN)
    assert nowhere.status_code == 404 and "not registered" in nowhere.json()["detail"]


def test_retry_starts_a_new_run_with_the_same_parameters_linked_to_the_old_one(
    api: httpx.Client, runs_stack: RunsStack
) -> None:
    parameters = {"word": "encore", "fail": True}
    first = api.post(
        "/runs", json={"deployment": "quick-work/test", "parameters": parameters}, headers=ADMIN
    ).json()
    failed = wait_final(api, first["id"])
    assert failed["state"] == "Failed"
    finished_twice = api.post(f"/runs/{first['id']}/cancel", headers=ADMIN)
    assert finished_twice.status_code == 409 and "already Failed" in finished_twice.json()["detail"]
    retried = api.post(f"/runs/{first['id']}/retry", headers=ADMIN)
    assert retried.status_code == 200, retried.text
    audit = {
        e.action: (e.arguments, e.result)
        for e in list_entries(make_engine(runs_stack.db_url))
        if e.arguments.get("run") == first["id"]
    }
    assert audit["run_retry"] == ({"run": first["id"]}, "ok")
    assert audit["run_cancel"][1].startswith("failed: 409") and "already Failed" in audit["run_cancel"][1]
    second = api.get(f"/runs/{retried.json()['id']}").json()
    assert second["id"] != first["id"] and second["retry_of"] == first["id"]
    assert second["parameters"] == parameters and second["deployment"] == "quick-work/test"
    assert wait_final(api, second["id"])["state"] == "Failed"
    logs = api.get(f"/runs/{second['id']}/logs", params={"format": "jsonl"})
    lines = [json.loads(line) for line in logs.text.splitlines()]
    assert any(line.get("word") == "encore" for line in lines), lines
    text = api.get(f"/runs/{second['id']}/logs", params={"format": "text"}).text
    assert "quick work says encore" in text


def test_an_event_starts_its_mapped_deployment_and_is_stored_with_its_run(api: httpx.Client) -> None:
    unknown = api.post("/events", json={"event": "model.exploded", "payload": {}}, headers=ADMIN)
    assert (
        unknown.status_code == 422
        and "known events: dataset.uploaded, drift.detected" in unknown.json()["detail"]
    )
    sent = api.post(
        "/events",
        json={"event": "dataset.uploaded", "payload": {"promote": False, "file": "shop.csv"}},
        headers=ADMIN,
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["deployment"] == "training-pipeline/on-demand" and body["ignored"] == ["file"]
    run = api.get(f"/runs/{body['flow_run_id']}").json()
    assert run["flow"] == "training-pipeline" and run["parameters"] == {"promote": False}
    assert run["started_by"] == "event:dataset.uploaded"
    stored = api.get("/events").json()["events"]
    assert stored[0]["flow_run_id"] == body["flow_run_id"] and stored[0]["payload"]["file"] == "shop.csv"
    listed = api.get("/runs", params={"flow": "training-pipeline"}).json()["runs"]
    assert body["flow_run_id"] in [r["id"] for r in listed]
