"""Migrations: they create what the models describe, on SQLite and PostgreSQL, and are idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from rakuten_mlops.db import Base, ensure_schema, upgrade
from rakuten_mlops.db.migrate import current_revision, head_revision


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert {"products", "ingestion_batches"} <= set(inspect(engine).get_table_names())


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    assert upgrade(engine) == (head_revision(), head_revision())
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
