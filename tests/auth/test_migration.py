"""Migration 0007 creates the tables of users and settings and takes them away again, keeping the rest."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from rakuten_mlops.auth.users import create_user, list_users
from rakuten_mlops.db import upgrade
from rakuten_mlops.db.migrate import _config, current_revision, downgrade

TABLES = {"users", "api_tokens", "audit_log", "settings", "alert_deliveries"}


def test_0007_downgrades_to_the_revision_before_it_and_upgrades_again(engine: Engine) -> None:
    before = ScriptDirectory.from_config(_config("sqlite://")).get_revision("0007").down_revision
    assert isinstance(before, str)
    create_user(engine, "kept-only-until-downgrade", "viewer", None)
    downgrade(engine, before)
    assert current_revision(engine) == before
    names = set(inspect(engine).get_table_names())
    assert not TABLES & names and {"products", "alerts"} <= names
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert list_users(engine) == []
