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
