"""The users, audit and settings commands through Typer's CliRunner: JSON contracts, audit rows, secrets kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rakuten_mlops.auth.tokens import authenticate_token
from rakuten_mlops.auth.users import authenticate
from rakuten_mlops.cli import app
from rakuten_mlops.config import get_settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.errors import AuthenticationError

WEBHOOK_SECRET = "T0000/B0000/cli-webhook-secret-path"


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def invoke(*args: str, stdin: str | None = None) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    return last_json(result.stdout)


def test_users_are_created_listed_given_a_token_and_disabled(mlops_home: Path) -> None:
    created = invoke(
        "users", "create", "alice", "--role", "operator", "--password-stdin", stdin="alice-password-1\n"
    )
    assert (created["name"], created["role"], created["disabled"]) == ("alice", "operator", False)
    invoke("users", "create", "robot", "--role", "viewer")
    assert [(u["name"], u["role"]) for u in invoke("users", "list")["users"]] == [
        ("alice", "operator"),
        ("robot", "viewer"),
    ]
    issued = invoke("users", "token", "alice")
    assert set(issued) == {"name", "role", "token"} and issued["role"] == "operator"
    engine = make_engine(get_settings().db_url)
    assert authenticate_token(engine, issued["token"]).name == "alice"
    assert authenticate(engine, "alice", "alice-password-1").name == "alice"
    invoke("users", "disable", "alice")
    with pytest.raises(AuthenticationError):
        authenticate_token(engine, issued["token"])
    listed = invoke("users", "tokens", "alice")["tokens"]
    assert issued["token"] not in json.dumps(listed) and listed[0]["prefix"] in issued["token"]


def test_bad_input_fails_in_one_sentence_and_changes_nothing(mlops_home: Path) -> None:
    runner = CliRunner()
    bad_role = runner.invoke(app, ["users", "create", "x", "--role", "root"])
    assert bad_role.exit_code == 2 and "root" in bad_role.output
    short = runner.invoke(
        app, ["users", "create", "x", "--role", "admin", "--password-stdin", "--json"], input="short\n"
    )
    assert short.exit_code == 1 and "at least 8 characters" in last_json(short.stdout)["error"]
    unknown = runner.invoke(app, ["users", "token", "nobody", "--json"])
    assert unknown.exit_code == 1 and "no user named 'nobody'" in last_json(unknown.stdout)["error"]
    assert invoke("users", "list")["users"] == []


def test_secret_settings_come_on_stdin_are_masked_and_every_change_is_audited(
    mlops_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "cli-secret-key-for-tests")
    get_settings.cache_clear()
    runner = CliRunner()
    on_the_line = runner.invoke(app, ["settings", "set", "llm.api_key", "sk-on-the-command-line"])
    assert on_the_line.exit_code == 1 and "--value-stdin" in on_the_line.output
    hooks = json.dumps(
        [{"name": "ops", "url": f"https://hooks.example.test/services/{WEBHOOK_SECRET}", "format": "slack"}]
    )
    shown = invoke("settings", "set", "notifications.webhooks", "--value-stdin", stdin=hooks)
    assert shown["shown"] == "ops (slack) https://hooks.example.test/…"
    invoke("settings", "set", "llm.model", "small-model")
    listed = runner.invoke(app, ["settings", "list", "--json"])
    assert WEBHOOK_SECRET not in listed.output
    invoke("users", "create", "bob", "--role", "viewer")
    invoke("users", "token", "bob")
    entries = invoke("audit", "list", "--since-hours", "1")["entries"]
    assert [(e["action"], e["result"]) for e in entries] == [("users", "ok")] * 2 + [("settings", "ok")] * 2
    assert [e["arguments"].get("change") or e["arguments"].get("key") for e in entries] == [
        "issue token",
        "create",
        "llm.model",
        "notifications.webhooks",
    ]
    assert all(e["user"].startswith("cli:") for e in entries)
    assert WEBHOOK_SECRET not in json.dumps(entries)
    assert set(entries[0]) == {"at", "user", "action", "arguments", "result"}


def test_acknowledging_from_the_command_line_is_audited(mlops_home: Path) -> None:
    from rakuten_mlops.db import upgrade
    from rakuten_mlops.monitoring.alerts import raise_alert

    engine = make_engine(get_settings().prepare().db_url)
    upgrade(engine)
    alert = raise_alert(engine, "drift", "warning", "drift on v1")
    invoke("alerts", "ack", str(alert.id), "--by", "carol")
    failed = CliRunner().invoke(app, ["alerts", "ack", "999", "--json"])
    assert failed.exit_code == 1
    entries = invoke("audit", "list", "--action", "acknowledge")["entries"]
    assert [(e["arguments"]["alert_id"], e["result"].split(":")[0]) for e in entries] == [
        (999, "failed"),
        (alert.id, "ok"),
    ]
