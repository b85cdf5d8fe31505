"""Small helpers shared by the monitoring tables' readers and writers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.errors import DatabaseError


def as_utc(value: datetime) -> datetime:
    """The timestamp as aware UTC (SQLite hands back naive datetimes that were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_error(what: str, engine: Engine, exc: SQLAlchemyError) -> DatabaseError:
    """A DatabaseError naming the operation and the database, with the usual remedy."""
    return DatabaseError(
        f"{what} failed on {engine.url.render_as_string()}: {exc.__class__.__name__}: {exc}; "
        "is the database reachable and migrated (rakuten-mlops db upgrade)?"
    )
