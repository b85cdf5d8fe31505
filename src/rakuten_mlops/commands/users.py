"""Commands for users and their tokens: `users create|list|disable|enable|role|token|tokens|revoke`."""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rakuten_mlops.auth import tokens, users
from rakuten_mlops.auth.roles import Role
from rakuten_mlops.commands.common import JsonOpt, app_engine, emit, err, run, run_audited_command
from rakuten_mlops.errors import DataError

users_app = typer.Typer(
    help="Users of the control room and the API: roles, passwords, tokens.", no_args_is_help=True
)
NameArg = Annotated[str, typer.Argument(help="The user's name.")]


def _user_json(user: users.UserRecord) -> dict[str, Any]:
    return {**dataclasses.asdict(user), "role": str(user.role)}


def _read_password() -> str:
    line = sys.stdin.readline()
    if not line.strip():
        raise DataError("--password-stdin: no password on standard input (pipe it in, one line)")
    return line.rstrip("\r\n")


@users_app.command("create")
def users_create(
    name: NameArg,
    role: Annotated[
        Role, typer.Option(help="viewer (read, predict), operator (also run), admin (everything).")
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (one line).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; without --password-stdin the user has no password and signs in with tokens only."""

    def work() -> users.UserRecord:
        password = _read_password() if password_stdin else None
        return users.create_user(app_engine(), name, role, password)

    user = run_audited_command(as_json, "users", {"change": "create", "user": name, "role": str(role)}, work)
    emit(_user_json(user), as_json, lambda: err.print(f"created {user.name} ({user.role})", highlight=False))


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """Every user with their role and state."""
    found = run(as_json, lambda: users.list_users(app_engine()))

    def human() -> None:
        table = Table("name", "role", "disabled", "created", "last sign-in")
        for u in found:
            last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else ""
            table.add_row(u.name, u.role, "yes" if u.disabled else "", f"{u.created_at:%Y-%m-%d %H:%M}", last)
        Console().print(
            table if found else "no user yet: rakuten-mlops users create NAME --role admin --password-stdin"
        )

    emit({"users": [_user_json(u) for u in found]}, as_json, human)


@users_app.command("disable")
def users_disable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Disable a user: sign-in refused and every token of theirs refused from the next request on."""
    user = run_audited_command(
        as_json, "users", {"change": "disable", "user": name}, lambda: users.disable_user(app_engine(), name)
    )
    emit(_user_json(user), as_json, lambda: err.print(f"{user.name} is disabled", highlight=False))


@users_app.command("enable")
def users_enable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Let a disabled user sign in again."""
    user = run_audited_command(
        as_json, "users", {"change": "enable", "user": name}, lambda: users.enable_user(app_engine(), name)
    )
    emit(_user_json(user), as_json, lambda: err.print(f"{user.name} is enabled", highlight=False))


@users_app.command("role")
def users_role(
    name: NameArg, role: Annotated[Role, typer.Argument(help="The new role.")], as_json: JsonOpt = False
) -> None:
    """Give a user another role (their tokens follow at once)."""
    user = run_audited_command(
        as_json,
        "users",
        {"change": "role", "user": name, "role": str(role)},
        lambda: users.set_role(app_engine(), name, role),
    )
    emit(_user_json(user), as_json, lambda: err.print(f"{user.name} is {user.role}", highlight=False))


@users_app.command("password")
def users_password(name: NameArg, as_json: JsonOpt = False) -> None:
    """Set a user's password from standard input (one line)."""
    user = run_audited_command(
        as_json,
        "users",
        {"change": "password", "user": name},
        lambda: users.set_password(app_engine(), name, _read_password()),
    )
    emit(_user_json(user), as_json, lambda: err.print(f"password of {user.name} changed", highlight=False))


@users_app.command("token")
def users_token(name: NameArg, as_json: JsonOpt = False) -> None:
    """Issue a personal API token: printed once, stored only as a hash, revocable (users revoke)."""
    issued = run_audited_command(
        as_json,
        "users",
        {"change": "issue token", "user": name},
        lambda: tokens.issue_token(app_engine(), name),
    )
    payload = {"name": issued.name, "role": str(issued.role), "token": issued.token}

    def human() -> None:
        err.print(f"token for {issued.name} ({issued.role}); it is shown only now:", highlight=False)
        typer.echo(issued.token)

    emit(payload, as_json, human)


@users_app.command("tokens")
def users_tokens(
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Tokens by their public prefix (never their value), newest first."""
    found = run(as_json, lambda: tokens.list_tokens(app_engine(), name))

    def human() -> None:
        table = Table("prefix", "user", "created", "last used", "revoked")
        for t in found:
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else ""
            revoked = f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else ""
            table.add_row(t.prefix, t.user, f"{t.created_at:%Y-%m-%d %H:%M}", used, revoked)
        Console().print(table)

    emit({"tokens": [dataclasses.asdict(t) for t in found]}, as_json, human)


@users_app.command("revoke")
def users_revoke(
    prefix: Annotated[str, typer.Argument(help="The token's prefix (users tokens), or the token itself.")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a token: refused by the API from the next request on."""
    shown = tokens.token_prefix(prefix) or prefix
    info = run_audited_command(
        as_json,
        "users",
        {"change": "revoke token", "prefix": shown},
        lambda: tokens.revoke_token(app_engine(), prefix),
    )
    emit(
        dataclasses.asdict(info),
        as_json,
        lambda: err.print(f"token {info.prefix} of {info.user} revoked", highlight=False),
    )
