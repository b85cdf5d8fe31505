"""Migration 0007 creates the tables of users and settings and takes them away again, keeping the rest."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from rakuten_mlops.auth.users import create_user, list_users
from rakuten_mlops.db import upgrade
from rakuten_mlops.db.migrate import current_revision, downgrade

TABLES = {"users", "api_tokens", "audit_log", "settings", "alert_deliveries"}


def test_0007_downgrades_to_0004_and_upgrades_again(engine: Engine) -> None:
    create_user(engine, "kept-only-until-downgrade", "viewer", None)
    downgrade(engine, "0004")
    assert current_revision(engine) == "0004"
    names = set(inspect(engine).get_table_names())
    assert not TABLES & names and {"products", "alerts"} <= names
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    assert list_users(engine) == []
