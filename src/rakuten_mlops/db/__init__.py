"""Database models, engine and migrations (SQLite by default, PostgreSQL in the stack)."""

from rakuten_mlops.db.engine import get_engine, make_engine, session_scope
from rakuten_mlops.db.migrate import ensure_schema, upgrade
from rakuten_mlops.db.models import Base, IngestionBatch, Product

__all__ = [
    "Base",
    "IngestionBatch",
    "Product",
    "ensure_schema",
    "get_engine",
    "make_engine",
    "session_scope",
    "upgrade",
]
