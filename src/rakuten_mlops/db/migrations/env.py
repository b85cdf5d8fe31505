"""Alembic environment: runs on the connection handed over by rakuten_mlops.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from rakuten_mlops.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run online migrations, on a given connection or on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
