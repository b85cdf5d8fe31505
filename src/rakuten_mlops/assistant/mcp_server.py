"""`rakuten-mlops mcp`: the assistant's tools over the Model Context Protocol (the official `mcp` SDK).

Each tool that can run here is published with its typed arguments (from its pydantic model), its
description, and hints a client shows its user: read-only or destructive. A changing tool does
nothing until it is called again with `confirmed: true`, after the client's user agreed; its
first answer says what it would change. Over stdio the tools run as the local command-line user
(an admin, as the CLI does); over streamable HTTP every request needs `Authorization: Bearer
TOKEN` of a platform user (`users token NAME`), and the tools run with that user's role. Every
change is audited.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from rakuten_mlops.assistant.actions import IMPLEMENTED, Context, execute
from rakuten_mlops.assistant.chat import summary
from rakuten_mlops.assistant.tools import TOOLS, Tool
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import MlopsError

INSTRUCTIONS = (
    "Tools of a Rakuten MLOps platform: models and their registry, training, drift and alerts, "
    "predictions, datasets, runs and schedules, the audit log. A tool whose annotations say it is "
    "destructive first answers `needs_confirmation` with what it would change; ask the user, then "
    "call it again with confirmed=true."
)


class PlatformTokens:
    """The MCP SDK's token verifier over the platform's API tokens: a token is its user, with their role."""

    def __init__(self, settings: Settings) -> None:
        from rakuten_mlops.db import ensure_schema, make_engine

        self._engine = make_engine(settings.db_url)
        ensure_schema(self._engine)

    async def verify_token(self, token: str) -> Any:
        import anyio
        from mcp.server.auth.provider import AccessToken

        from rakuten_mlops.auth.tokens import authenticate_token

        try:
            who = await anyio.to_thread.run_sync(authenticate_token, self._engine, token)
        except MlopsError:  # unknown, revoked, or its user disabled: the SDK answers 401
            return None
        return AccessToken(token=token, client_id=who.name, scopes=[str(who.role)])


def _caller(principal: Principal | None) -> Principal:
    """Who calls: the bearer token's user over HTTP, else the local user the server was started as."""
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.mcpserver.exceptions import ToolError

    token = get_access_token()
    if token is not None:
        return Principal(token.client_id, Role(token.scopes[0]), via="token")
    if principal is None:
        raise ToolError("this server needs a platform user's bearer token (rakuten-mlops users token NAME)")
    return principal


def _function(spec: Tool, settings: Settings, principal: Principal | None) -> Callable[..., dict[str, Any]]:
    """A plain function whose keyword parameters are the tool's arguments (what the SDK publishes)."""
    from mcp.server.mcpserver.exceptions import ToolError

    def call(**given: Any) -> dict[str, Any]:
        who = _caller(principal)
        confirmed = bool(given.pop("confirmed", False))
        arguments = {k: v for k, v in given.items() if v is not None}
        if spec.mutating and not confirmed:
            return {
                "status": "needs_confirmation",
                "summary": summary(spec.name, arguments),
                "next": "ask the user; if they agree, call this tool again with confirmed=true",
            }
        try:
            return {"status": "done", "result": execute(Context(settings, who), spec.name, arguments)}
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


def build_server(settings: Settings, principal: Principal | None, *, http_url: str | None = None) -> Any:
    """The MCP server with every tool that can run from here.

    `http_url` (the streamable HTTP transport's address): requests need a platform user's bearer
    token and the tools run as that user; `principal` is then None. Over stdio, `principal` runs them.
    """
    from mcp.server.mcpserver import MCPServer
    from mcp_types import ToolAnnotations

    if http_url is not None:
        from mcp.server.auth.settings import AuthSettings
        from pydantic import AnyHttpUrl

        auth = AuthSettings(
            issuer_url=AnyHttpUrl(http_url),
            resource_server_url=AnyHttpUrl(f"{http_url}/mcp"),
            validate_token_resource=False,
        )
        server = MCPServer(
            "rakuten-mlops", instructions=INSTRUCTIONS, token_verifier=PlatformTokens(settings), auth=auth
        )
    else:
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
