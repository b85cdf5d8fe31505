"""The `openai` backend against a local server that speaks the chat-completions protocol (streamed).

Only the model is scripted: the requests the backend sends (tools with their schemas, the key, the
stream flag) and the chunks it reads back (tool-call arguments split across deltas) are the real
protocol, through the `openai` package.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from rakuten_mlops.assistant.chat import Assistant
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError

ALICE = Principal("alice", Role.ADMIN)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return f"data: {json.dumps(body)}\n\n".encode()


TOOL_CALL = [
    _chunk({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                 "function": {"name": "promote_model", "arguments": '{"vers'}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ion": "2"}'}}]}),
    _chunk({}, "tool_calls"),
]  # fmt: skip
TEXT = [_chunk({"role": "assistant", "content": "Which version "}), _chunk({"content": "do you mean?"}),
        _chunk({}, "stop")]  # fmt: skip
UNKNOWN = [_chunk({"tool_calls": [{"index": 0, "id": "c", "type": "function",
                                   "function": {"name": "delete_everything", "arguments": "{}"}}]}), _chunk({}, "tool_calls")]  # fmt: skip


class Scripted:
    def __init__(self) -> None:
        self.answers: list[list[bytes]] = []
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []


@pytest.fixture
def model_server() -> Iterator[tuple[str, Scripted]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append((dict(self.headers), body))
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for chunk in script.answers.pop(0):
                self.wfile.write(chunk)
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()


def test_the_models_streamed_tool_call_becomes_a_change_that_waits(
    home: Settings, model_server: tuple[str, Scripted]
) -> None:
    url, script = model_server
    settings = home.model_copy(update={
        "assistant_backend": "openai", "assistant_base_url": url, "assistant_model": "scripted",
        "assistant_api_key": SecretStr("sk-local-test"),
    })  # fmt: skip
    assistant = Assistant(settings)
    script.answers += [TOOL_CALL, TEXT, UNKNOWN]
    planned = assistant.chat("make two the champion please", ALICE)
    (action,) = planned.actions
    assert (action.tool, action.arguments, action.status) == (
        "promote_model",
        {"version": "2"},
        "needs_confirmation",
    )
    headers, body = script.requests[0]
    assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer sk-local-test"
    assert body["stream"] is True
    assert body["model"] == "scripted" and body["messages"][-1]["content"] == "make two the champion please"
    offered = {t["function"]["name"]: t["function"] for t in body["tools"]}
    assert offered["promote_model"]["parameters"]["required"] == ["version"]
    asked = assistant.chat("make it the champion", ALICE)
    assert asked.reply == "Which version do you mean?" and not asked.actions
    refused = assistant.chat("wipe it all", ALICE)
    assert "does not have ('delete_everything')" in refused.reply and not refused.actions


def test_the_backend_says_what_it_needs(home: Settings) -> None:
    with pytest.raises(DataError, match="ASSISTANT_BASE_URL and ASSISTANT_MODEL"):
        Assistant(home.model_copy(update={"assistant_backend": "openai"}))


def test_the_llm_backend_of_the_settings_store_is_used_and_a_change_counts_at_the_next_question(
    home: Settings, model_server: tuple[str, Scripted]
) -> None:
    from rakuten_mlops.auth.settings_store import SettingsStore
    from rakuten_mlops.db import make_engine

    url, script = model_server
    secret = "a-test-secret-key-of-enough-length"
    settings = home.model_copy(update={"assistant_backend": "openai", "secret_key": SecretStr(secret)})
    engine = make_engine(settings.db_url)
    store = SettingsStore(engine, secret)
    try:
        for key, value in (
            ("llm.base_url", url),
            ("llm.model", "stored-model"),
            ("llm.api_key", "sk-stored"),
        ):
            store.set(key, value, ALICE)
        assistant = Assistant(settings)  # no ASSISTANT_BASE_URL nor ASSISTANT_MODEL: the store's are used
        script.answers += [TEXT, TEXT]
        assert assistant.chat("hello there", ALICE).reply == "Which version do you mean?"
        headers, body = script.requests[-1]
        assert body["model"] == "stored-model"
        assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer sk-stored"
        store.set("llm.model", "another-model", ALICE)  # changed on the Settings page meanwhile
        assistant.chat("hello again", ALICE)
        assert script.requests[-1][1]["model"] == "another-model"
    finally:
        for key in ("llm.base_url", "llm.model", "llm.api_key"):
            store.unset(key, ALICE)
        engine.dispose()
