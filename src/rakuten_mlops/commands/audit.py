"""Commands for the audit log: `audit list`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.auth.audit import AuditRecord, list_entries
from rakuten_mlops.commands.common import JsonOpt, app_engine, emit, run

audit_app = typer.Typer(
    help="The audit log: who changed what, when, with which result.", no_args_is_help=True
)
settings_app = typer.Typer(
    help="Settings entered in the control room (LLM backend, Kubernetes, registry, webhooks).",
    no_args_is_help=True,
)


def _entry_json(entry: AuditRecord) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "user": entry.user,
        "action": entry.action,
        "arguments": entry.arguments,
        "result": entry.result,
    }


@audit_app.command("list")
def audit_list(
    since_hours: Annotated[float | None, typer.Option(min=0.001, help="Only the last H hours.")] = None,
    user: Annotated[str | None, typer.Option(help="Only this user's changes.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. promote, settings, users.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Audit entries, newest first."""
    found = run(as_json, lambda: list_entries(app_engine(), since_hours, user, action, limit))

    def human() -> None:
        table = Table("at", "user", "action", "arguments", "result")
        for e in found:
            table.add_row(
                f"{e.at:%Y-%m-%d %H:%M:%S}",
                e.user,
                e.action,
                json.dumps(e.arguments, ensure_ascii=False),
                e.result,
            )
        Console().print(table if found else "no change recorded yet")

    emit({"entries": [_entry_json(e) for e in found]}, as_json, human)
