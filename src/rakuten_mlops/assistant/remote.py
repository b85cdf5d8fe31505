"""The `openai` planning backend: any OpenAI-compatible chat-completions endpoint with tool calling.

The endpoint, model and key come from the settings store (the Settings page's "LLM backend",
the key encrypted with SECRET_KEY), read at each question, else from `ASSISTANT_BASE_URL` (Ollama,
vLLM, OpenAI and others speak the protocol), `ASSISTANT_MODEL` and `ASSISTANT_API_KEY` (a secret:
sent to that endpoint only, never logged). The tools are offered
with their JSON schemas (from their pydantic models); the model's first tool call becomes the
plan, validated like the built-in planner's, and a reply without one is the question back. The
answer is read as a stream, so a long reply arrives as it is written (`on_text`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from rakuten_mlops.assistant.planner import Known, Plan
from rakuten_mlops.assistant.tools import TOOLS, tool
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import ConfigError, DatabaseError, DataError

log = logging.getLogger(__name__)

SYSTEM = (
    "You operate an MLOps platform for product classification (and any table) through its tools. "
    "Call exactly one tool when the request asks for something a tool does; otherwise answer in one "
    "or two sentences, in the user's language, and ask what is missing. Never invent versions or ids. "
    "Known datasets: {datasets}. Known models: {models}."
)


def tool_specs() -> Any:
    """The tools as chat-completions `tools`: name, description, JSON schema of the arguments."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description
                + (" Changes the platform: the user confirms it." if t.mutating else ""),
                "parameters": t.arguments.model_json_schema(),
            },
        }
        for t in TOOLS
    ]


@dataclass(frozen=True)
class LlmConfig:
    """Where the model is, which one, and its key (repr hides the key)."""

    base_url: str | None
    model: str | None
    api_key: str | None = field(default=None, repr=False)


def llm_config(settings: Settings, engine: Engine | None = None) -> LlmConfig:
    """The settings store's LLM backend where it has one, else the ASSISTANT_* settings."""
    from rakuten_mlops.auth.settings_store import SettingsStore, secret_text

    fallback = LlmConfig(
        settings.assistant_base_url, settings.assistant_model, secret_text(settings.assistant_api_key)
    )
    if engine is None:
        return fallback
    store = SettingsStore(engine, secret_text(settings.secret_key))
    try:
        return LlmConfig(
            store.get("llm.base_url") or fallback.base_url,
            store.get("llm.model") or fallback.model,
            store.get("llm.api_key") or fallback.api_key,
        )
    except (ConfigError, DatabaseError) as exc:  # unreadable store: the environment's settings still work
        log.warning("the LLM backend's stored settings cannot be read (%s); using ASSISTANT_*", exc)
        return fallback


class RemotePlanner:
    """Plans through a chat-completions endpoint (the `openai` package)."""

    def __init__(self, config: LlmConfig, *, timeout: float = 60.0) -> None:
        if not config.base_url or not config.model:
            raise DataError(
                "ASSISTANT_BACKEND=openai needs ASSISTANT_BASE_URL and ASSISTANT_MODEL, or the LLM backend "
                "of the Settings page (for Ollama: http://127.0.0.1:11434/v1 and a model it serves)"
            )
        from openai import OpenAI

        self.config = config
        self.model = config.model
        self.client = OpenAI(
            base_url=config.base_url, api_key=config.api_key or "unused", timeout=timeout, max_retries=1
        )
        self.where = config.base_url

    def plan(
        self, request: str, known: Known | None = None, on_text: Callable[[str], None] | None = None
    ) -> Plan:
        """One request -> the model's tool call (validated), or its reply as the question back."""
        from openai import OpenAIError

        known = known or Known()
        system = SYSTEM.format(
            datasets=", ".join(known.datasets) or "none", models=", ".join(known.models) or "none"
        )
        try:
            messages: Any = [{"role": "system", "content": system}, {"role": "user", "content": request}]
            stream = self.client.chat.completions.create(
                model=self.model, messages=messages, tools=tool_specs(), tool_choice="auto", stream=True
            )
            text, calls = _collect(stream, on_text)
        except OpenAIError as exc:
            raise DataError(
                f"the assistant's model at {self.where} failed: {exc.__class__.__name__}: {exc}"
            ) from exc
        if not calls:
            return Plan(None, question=text.strip() or "I did not understand; could you say it another way?")
        name, raw = calls[0]
        if name not in {t.name for t in TOOLS}:
            return Plan(None, question=f"The model asked for a tool this platform does not have ({name!r}).")
        try:
            arguments = json.loads(raw or "{}")
            tool(name).arguments.model_validate(arguments)
        except (ValueError, ValidationError) as exc:
            return Plan(name, question=f"The model's arguments for {name} are not valid: {exc}")
        return Plan(name, {k: v for k, v in arguments.items() if v is not None}, confidence=1.0)


def _collect(stream: Any, on_text: Callable[[str], None] | None) -> tuple[str, list[tuple[str, str]]]:
    """The streamed reply's text and its tool calls (name, JSON arguments), put together from the deltas."""
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.content:
            text.append(delta.content)
            if on_text is not None:
                on_text(delta.content)
        for part in delta.tool_calls or []:
            slot = calls.setdefault(part.index, ["", ""])
            if part.function is not None:
                slot[0] += part.function.name or ""
                slot[1] += part.function.arguments or ""
    return "".join(text), [(name, args) for _, (name, args) in sorted(calls.items())]
