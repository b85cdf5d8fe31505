"""Apply the packaged Alembic migrations programmatically (`rakuten-mlops db upgrade`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from rakuten_mlops.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is ConfigParser-based: a '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration shipped with the package."""
    head = ScriptDirectory.from_config(_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot reach the database at {engine.url.render_as_string()}: {exc.orig}"
        ) from exc


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to the newest revision (or the one given); return (before, after)."""
    before = current_revision(engine)
    _run(engine, command.upgrade, revision)
    return before, head_revision() if revision == "head" else revision


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to an earlier revision (operators rolling back a release)."""
    _run(engine, command.downgrade, revision)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = _config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migrating {engine.url.render_as_string()} failed: {exc}") from exc


def ensure_schema(engine: Engine) -> None:
    """Bring the database to the newest schema if it is behind (idempotent, cheap at head)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)
