"""The Assistant page's manager: one assistant for the control room, asked and confirmed as the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rakuten_mlops.assistant.chat import Assistant, Reply
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.config import Settings


class AssistantManager:
    """Plans a request, runs what reads, holds a change until the one who asked confirms it."""

    def __init__(self, settings: Settings) -> None:
        self._assistant = Assistant(settings)

    def ask(self, message: str, *, actor: Principal) -> Reply:
        """One request: a question back, a result, or a change that waits for a confirmation."""
        return self._assistant.chat(message, actor)

    def propose(self, tool: str, arguments: dict[str, Any], *, actor: Principal) -> Reply:
        """A call chosen on the page (Build): a change waits for the same confirmation as a planned one."""
        return self._assistant.propose(tool, arguments, actor)

    def confirm(
        self, action_id: str, *, actor: Principal, on_log: Callable[[str], None] | None = None
    ) -> Reply:
        """Run a change planned before (only its author may); `on_log` hears its log as it is written."""
        return self._assistant.chat("", actor, confirm=action_id, on_log=on_log)
