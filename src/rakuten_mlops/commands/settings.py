"""Commands for the settings store: `settings list|set|unset` (secrets masked, and read from stdin only)."""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.auth.settings_store import SPECS, SettingsStore, secret_text
from rakuten_mlops.commands.common import JsonOpt, app_engine, cli_actor, emit, err, prepared_settings, run
from rakuten_mlops.errors import DataError

settings_app = typer.Typer(
    help="Settings entered in the control room (LLM backend, Kubernetes, registry, webhooks).",
    no_args_is_help=True,
)


def _store() -> SettingsStore:
    return SettingsStore(app_engine(), secret_text(prepared_settings().secret_key))


@settings_app.command("list")
def settings_list(as_json: JsonOpt = False) -> None:
    """Every setting with where its value comes from; secrets masked."""
    views = run(as_json, lambda: _store().view())

    def human() -> None:
        table = Table("key", "value", "source")
        for v in views:
            table.add_row(v.key, v.shown, v.source)
        Console().print(table)

    emit({"settings": [dataclasses.asdict(v) for v in views]}, as_json, human)


@settings_app.command("set")
def settings_set(
    key: Annotated[str, typer.Argument(help=f"One of: {', '.join(SPECS)}.")],
    value: Annotated[
        str | None, typer.Argument(help="The value (not for secrets: use --value-stdin).")
    ] = None,
    value_stdin: Annotated[
        bool, typer.Option("--value-stdin", help="Read the value from standard input.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Store a setting; secrets are encrypted with SECRET_KEY and must come on standard input."""

    def work() -> Any:
        spec = SPECS.get(key)
        if value is not None and value_stdin:
            raise DataError("give the value either as an argument or with --value-stdin, not both")
        if value is not None and spec is not None and spec.secret:
            raise DataError(
                f"setting {key} is a secret: pass it with --value-stdin, never on the command line"
            )
        text = sys.stdin.read() if value_stdin else value
        if text is None:
            raise DataError(f"no value for {key}: give it as an argument or with --value-stdin")
        return _store().set(key, text, cli_actor())

    view = run(as_json, work)
    emit(dataclasses.asdict(view), as_json, lambda: err.print(f"{view.key} = {view.shown}", highlight=False))


@settings_app.command("unset")
def settings_unset(
    key: Annotated[str, typer.Argument(help="The setting to remove.")], as_json: JsonOpt = False
) -> None:
    """Remove a setting from the store (its environment variable, if any, applies again)."""
    run(as_json, lambda: _store().unset(key, cli_actor()))
    emit({"ok": True, "key": key}, as_json, lambda: err.print(f"{key} removed", highlight=False))
