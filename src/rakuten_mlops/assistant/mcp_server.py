"""`rakuten-mlops mcp`: the assistant's tools over the Model Context Protocol (the official `mcp` SDK).

Each tool that can run here is published with its typed arguments (from its pydantic model), its
description, and hints a client shows its user: read-only or destructive. A changing tool does
nothing until it is called again with `confirmed: true`, after the client's user agreed; its
first answer says what it would change. Tools run as the local command-line user (an admin, as
the CLI does), over stdio or, on 127.0.0.1, streamable HTTP; every change is audited.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from rakuten_mlops.assistant.actions import IMPLEMENTED, Context, execute
from rakuten_mlops.assistant.chat import summary
from rakuten_mlops.assistant.tools import TOOLS, Tool
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import MlopsError

INSTRUCTIONS = (
    "Tools of a Rakuten MLOps platform: models and their registry, training, drift and alerts, "
    "predictions, datasets, runs and schedules, the audit log. A tool whose annotations say it is "
    "destructive first answers `needs_confirmation` with what it would change; ask the user, then "
    "call it again with confirmed=true."
)


def _function(spec: Tool, settings: Settings, principal: Principal) -> Callable[..., dict[str, Any]]:
    """A plain function whose keyword parameters are the tool's arguments (what the SDK publishes)."""
    from mcp.server.mcpserver.exceptions import ToolError

    def call(**given: Any) -> dict[str, Any]:
        confirmed = bool(given.pop("confirmed", False))
        arguments = {k: v for k, v in given.items() if v is not None}
        if spec.mutating and not confirmed:
            return {
                "status": "needs_confirmation",
                "summary": summary(spec.name, arguments),
                "next": "ask the user; if they agree, call this tool again with confirmed=true",
            }
        try:
            return {"status": "done", "result": execute(Context(settings, principal), spec.name, arguments)}
        except MlopsError as exc:
            raise ToolError(str(exc)) from exc

    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if field.is_required() else field.default,
            annotation=field.annotation,
        )
        for name, field in spec.arguments.model_fields.items()
    ]
    if spec.mutating:
        parameters.append(
            inspect.Parameter("confirmed", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool)
        )
    call.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    call.__name__ = spec.name
    call.__doc__ = spec.description
    return call


def build_server(settings: Settings, principal: Principal) -> Any:
    """The MCP server with every tool that can run from here."""
    from mcp.server.mcpserver import MCPServer
    from mcp_types import ToolAnnotations

    server = MCPServer("rakuten-mlops", instructions=INSTRUCTIONS)
    for spec in TOOLS:
        if spec.name not in IMPLEMENTED:
            continue
        hints = ToolAnnotations(
            read_only_hint=not spec.mutating, destructive_hint=spec.mutating, open_world_hint=False
        )
        server.add_tool(
            _function(spec, settings, principal),
            name=spec.name,
            description=spec.description,
            annotations=hints,
        )
    return server
