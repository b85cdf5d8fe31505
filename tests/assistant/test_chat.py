"""The assistant's turn on a real catalogue, MLflow registry and audit log: reads run, changes wait.

A change planned without a confirmation changes nothing (checked in the registry); confirmed by
the one who asked, it runs with their rights and is audited; a viewer's change is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rakuten_mlops.assistant.chat import Assistant
from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.auth.tokens import issue_token
from rakuten_mlops.auth.users import create_user, list_users
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.errors import DataError
from rakuten_mlops.registry import Registry
from rakuten_mlops.testing.processes import ServiceProcess, free_port

ALICE = Principal("alice", Role.ADMIN)
VIEWER = Principal("victor", Role.VIEWER)


def _champion(settings: Settings) -> str:
    found = Registry.from_uri(settings.tracking_uri, settings.model_name).champion()
    assert found is not None
    return str(found.version)


def _audited(settings: Settings, action: str) -> list:
    engine = make_engine(settings.db_url)
    try:
        return [
            e for e in list_entries(engine) if e.action == action and e.arguments.get("via") == "assistant"
        ]
    finally:
        engine.dispose()


def test_a_change_waits_for_its_confirmation_then_runs_audited(home: Settings) -> None:
    assistant = Assistant(home)
    before = _champion(home)  # the session's home: another test may have moved it
    other = "1" if before == "2" else "2"
    audited_before = _audited(home, "promote")
    planned = assistant.chat(f"promote version {other}", ALICE)
    (action,) = planned.actions
    assert (action.tool, action.arguments, action.status) == (
        "promote_model",
        {"version": other},
        "needs_confirmation",
    )
    assert "nothing has changed yet" in planned.reply
    assert _champion(home) == before and _audited(home, "promote") == audited_before
    with pytest.raises(DataError, match="planned by someone else"):
        assistant.chat("", Principal("mallory", Role.ADMIN), confirm=action.id)
    assert _champion(home) == before
    done = assistant.chat("", ALICE, confirm=action.id)
    assert done.actions[0].status == "done" and done.actions[0].result == {
        "model": home.model_name,
        "champion": other,
    }
    assert _champion(home) == other
    (entry,) = [e for e in _audited(home, "promote") if e not in audited_before]
    assert (entry.user, entry.result, entry.arguments["tool"], entry.arguments["version"]) == (
        "alice", "ok", "promote_model", other
    )  # fmt: skip
    with pytest.raises(DataError, match="no planned action"):  # a confirmation runs once
        assistant.chat("", ALICE, confirm=action.id)


def test_reading_runs_at_once_a_dry_run_runs_nothing_and_a_viewer_cannot_change(home: Settings) -> None:
    assistant = Assistant(home)
    before = _champion(home)
    details = assistant.chat("which version is the champion?", VIEWER)
    assert details.actions[0].status == "done" and details.actions[0].result["version"] == before  # type: ignore[index]
    dry = assistant.chat("roll back the model", ALICE, dry_run=True)
    assert dry.actions[0].status == "planned" and _champion(home) == before
    refused = assistant.chat("roll back the model", VIEWER, yes=True)
    assert refused.actions[0].status == "failed" and "viewer" in (refused.actions[0].error or "")
    assert _champion(home) == before
    assert any(e.result.startswith("refused") and e.user == "victor" for e in _audited(home, "rollback"))
    # A tool that needs the API says where it looked.
    down = assistant.chat('classify "Manette PS4"', VIEWER)
    assert down.actions[0].status == "failed" and "127.0.0.1:9" in (down.actions[0].error or "")
    # A question when the request says too little.
    assert not assistant.chat("promote it", ALICE).actions


def test_ask_prints_the_contract_and_changes_nothing_without_yes(home: Settings) -> None:
    env = {**os.environ, "MLOPS_HOME": str(home.mlops_home), "DATABASE_URL": home.db_url,
           "MLFLOW_TRACKING_URI": home.tracking_uri}  # fmt: skip
    before = _champion(home)
    other = "1" if before == "2" else "2"

    def ask(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "rakuten_mlops.cli", "ask", *args, "--json"],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    held = ask(f"promouvoir la version {other}")
    assert set(held) == {"reply", "actions"}
    assert {k: held["actions"][0][k] for k in ("tool", "arguments", "mutating", "status")} == {
        "tool": "promote_model", "arguments": {"version": other}, "mutating": True, "status": "needs_confirmation"
    }  # fmt: skip
    assert _champion(home) == before
    done = ask(f"promouvoir la version {other}", "--yes")
    assert done["actions"][0]["status"] == "done" and _champion(home) == other
    listed = ask("list the models")
    assert [v["version"] for v in listed["actions"][0]["result"]["versions"]] == ["2", "1"]


def test_the_api_holds_a_change_until_the_same_caller_confirms_it_and_streams_a_turn(home: Settings) -> None:
    from fastapi.testclient import TestClient

    from rakuten_mlops.serving.app import create_app

    key = "assistant-test-key-0123456789abcdef"
    settings = home.model_copy(update={"api_key": key})
    admin = {"X-API-Key": key}
    with TestClient(create_app(settings, poll_seconds=0)) as client:
        before = _champion(home)
        other = "1" if before == "2" else "2"
        asked = {"message": f"make version {other} the champion"}
        assert client.post("/assistant/chat", json=asked).status_code == 401
        held = client.post("/assistant/chat", json=asked, headers=admin)
        assert held.status_code == 200, held.text
        (action,) = held.json()["actions"]
        assert (action["tool"], action["status"]) == ("promote_model", "needs_confirmation")
        assert _champion(home) == before
        done = client.post("/assistant/chat", json={"confirm": action["id"]}, headers=admin).json()
        assert done["actions"][0]["status"] == "done", done
        assert _champion(home) == other
        again = client.post("/assistant/chat", json={"confirm": action["id"]}, headers=admin)
        assert again.status_code == 404 and "no planned action" in again.json()["detail"]
        # Without a Prefect server for the API, a run tool fails with the reason instead of starting one.
        runs = client.post("/assistant/chat", json={"message": "show the failed runs"}, headers=admin).json()
        assert runs["actions"][0]["status"] == "failed" and "PREFECT_API_URL" in runs["actions"][0]["error"]
        with client.stream(
            "GET",
            "/assistant/chat/stream",
            params={"message": "which version is the champion"},
            headers=admin,
        ) as stream:
            body = "".join(stream.iter_text())
        events = [line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("event: ")]
        assert events[0] == "action" and events[-1] == "end" and "reply" in events
        streamed = json.loads(next(line[6:] for line in body.splitlines() if line.startswith("data: {")))
        assert streamed["tool"] == "model_details" and streamed["result"]["version"] == _champion(home)


def test_an_mcp_client_lists_the_tools_and_a_change_waits_for_confirmed(home: Settings) -> None:
    import asyncio

    from mcp import Client, StdioServerParameters

    env = {**os.environ, "MLOPS_HOME": str(home.mlops_home), "DATABASE_URL": home.db_url,
           "MLFLOW_TRACKING_URI": home.tracking_uri}  # fmt: skip
    before = _champion(home)
    other = "1" if before == "2" else "2"

    def answer(result: object) -> dict:
        assert not result.is_error, result  # type: ignore[attr-defined]
        return json.loads(result.content[0].text)  # type: ignore[attr-defined]

    async def session() -> tuple[dict, dict, dict, str]:
        server = StdioServerParameters(
            command=sys.executable, args=["-m", "rakuten_mlops.cli", "mcp"], env=env
        )
        async with Client(server, read_timeout_seconds=120) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            details = answer(await client.call_tool("model_details", {}))
            held = answer(await client.call_tool("promote_model", {"version": other}))
            champion_meanwhile = _champion(home)
            done = answer(await client.call_tool("promote_model", {"version": other, "confirmed": True}))
            return tools, details, held | {"done": done}, champion_meanwhile

    tools, details, held, meanwhile = asyncio.run(session())
    assert {"model_details", "promote_model", "list_alerts", "schedule_workflow"} <= set(tools)
    promote = tools["promote_model"]
    assert promote.annotations.destructive_hint and "version" in promote.input_schema["required"]
    assert tools["list_alerts"].annotations.read_only_hint
    assert details["status"] == "done" and details["result"]["version"] == before
    assert held["status"] == "needs_confirmation" and meanwhile == before
    assert held["done"]["status"] == "done" and _champion(home) == other


def test_a_question_about_changes_is_answered_from_the_audit_log_and_the_registry_citing_both(
    home: Settings,
) -> None:
    assistant = Assistant(home)
    before = _champion(home)
    other = "1" if before == "2" else "2"
    assistant.chat(f"promote version {other}", ALICE, yes=True)
    answered = assistant.chat(f"who promoted v{other}?", VIEWER)
    (action,) = answered.actions
    assert (action.tool, action.arguments) == ("audit_log", {"action": "promote", "version": other})
    assert answered.reply.startswith(f"alice promoted v{other} at "), answered.reply
    assert "Read: the audit log (" in answered.reply
    assert f"the registry's champion history of {home.model_name}" in answered.reply
    assert action.result is not None
    assert action.result["champion_events"][-1]["version"] == other
    nobody = assistant.chat("qui a promu la version 99 ?", VIEWER)
    assert nobody.reply.startswith("Nobody promoted v99 in all time, according to the audit log"), (
        nobody.reply
    )


def test_over_http_the_mcp_server_wants_a_users_token_and_runs_tools_with_that_users_role(
    home: Settings, tmp_path: Path
) -> None:
    import asyncio
    import time

    import httpx
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    engine = make_engine(home.db_url)
    for name, role in (("vera", Role.VIEWER), ("adam", Role.ADMIN)):
        if name not in {u.name for u in list_users(engine)}:
            create_user(engine, name, role, None)
    viewer, admin = issue_token(engine, "vera").token, issue_token(engine, "adam").token
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = {**os.environ, "MLOPS_HOME": str(home.mlops_home), "DATABASE_URL": home.db_url,
           "MLFLOW_TRACKING_URI": home.tracking_uri}  # fmt: skip
    command = [sys.executable, "-m", "rakuten_mlops.cli", "mcp", "--transport", "http", "--port", str(port)]
    server = ServiceProcess(command, env, tmp_path / "mcp.log").start()
    try:
        deadline = time.monotonic() + 120
        while True:  # up once it answers at all (401: no token)
            try:
                anonymous = httpx.post(url, json={}, timeout=5)
                break
            except httpx.HTTPError:
                assert (
                    time.monotonic() < deadline
                    and server.process is not None
                    and server.process.poll() is None
                )
                time.sleep(0.5)
        assert anonymous.status_code == 401
        assert (
            httpx.post(url, json={}, headers={"Authorization": "Bearer rkm_not_a_token"}).status_code == 401
        )
        before = _champion(home)
        other = "1" if before == "2" else "2"

        async def call(token: str, tool: str, arguments: dict) -> object:
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                return await client.call_tool(tool, arguments)

        read = asyncio.run(call(viewer, "model_details", {}))
        assert not read.is_error and json.loads(read.content[0].text)["result"]["version"] == before  # type: ignore[attr-defined]
        refused = asyncio.run(call(viewer, "promote_model", {"version": other, "confirmed": True}))
        assert refused.is_error and "vera is viewer" in refused.content[0].text  # type: ignore[attr-defined]
        assert _champion(home) == before
        done = asyncio.run(call(admin, "promote_model", {"version": other, "confirmed": True}))
        assert not done.is_error and _champion(home) == other  # type: ignore[attr-defined]
        entries = [
            e for e in list_entries(engine) if e.arguments.get("via") == "assistant" and e.action == "promote"
        ]
        assert {"vera", "adam"} <= {e.user for e in entries}
    finally:
        server.stop()
        engine.dispose()
