"""`rakuten-mlops ask "MESSAGE"`: the assistant from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from rakuten_mlops.commands.common import JsonOpt, cli_actor, emit, err, prepared_settings, run


def ask_command(
    message: Annotated[str, typer.Argument(help='What to do, in English or French: "promote version 3".')],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: nothing runs.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Run a change without asking for a confirmation.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Turn a request into a platform action: reading ones run at once, a change only with --yes."""
    from rakuten_mlops.assistant.chat import Assistant, Reply

    def work() -> Reply:
        return Assistant(prepared_settings()).chat(message, cli_actor(), yes=yes, dry_run=dry_run)

    reply = run(as_json, work)

    def human() -> None:
        err.print(reply.reply, highlight=False)
        for action in reply.actions:
            if action.status == "needs_confirmation":
                err.print(f"run it with: rakuten-mlops ask {message!r} --yes", highlight=False)
            elif action.result is not None:
                err.print_json(data=action.result)

    emit(reply.to_dict(), as_json, human)
    if any(a.status == "failed" for a in reply.actions):
        raise typer.Exit(1)


def mcp_command(
    transport: Annotated[
        str,
        typer.Option(help="stdio (a client starts this command) or http (streamable HTTP on --host/--port)."),
    ] = "stdio",
    host: Annotated[
        str, typer.Option(help="Where the http transport listens (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The http transport's port.")] = 8765,
) -> None:
    """Serve the assistant's tools over the Model Context Protocol; changes wait for confirmed=true.

    Over http every request needs `Authorization: Bearer TOKEN` (`users token NAME`) and runs as that user.
    """
    from rakuten_mlops.assistant.mcp_server import build_server

    if transport not in {"stdio", "http"}:
        raise typer.BadParameter("use stdio or http", param_hint="--transport")
    if transport == "stdio":
        build_server(prepared_settings(), cli_actor()).run("stdio")
    else:  # each request carries a platform user's token; the tools run with that user's role
        server = build_server(prepared_settings(), None, http_url=f"http://{host}:{port}")
        server.run("streamable-http", host=host, port=port)
