"""Set-based upsert of listing chunks into ``products``, with the history of every change.

Each chunk is loaded into a temporary staging table (PostgreSQL: ``COPY``; SQLite: one
``executemany``), then a few statements do the work for the whole chunk, never one per row:

- PostgreSQL: one ``INSERT ... ON CONFLICT (listing_key) DO UPDATE ... WHERE <something
  differs> RETURNING``; a second data-modifying CTE of the same statement writes the old values
  (still visible to it, all parts of a statement share one snapshot) and the new ones to
  ``product_history``. One index probe per row, as a plain insert.
- SQLite: the rows of known keys that differ are collected in a temporary table, written to
  ``product_history``, applied with ``UPDATE ... FROM``; then new keys are inserted.

Without a natural key the identity is the content hash, which cannot differ for a known key, so
only new rows are inserted (``ON CONFLICT DO NOTHING``). A blank label never erases a known one:
a file without labels says nothing about them. ``split_key`` is written once, at insertion, so a
corrected listing never changes split.
"""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, DateTime, bindparam, text
from sqlalchemy.sql.elements import TextClause

STAGE_COLUMNS = [
    "listing_key",
    "split_key",
    "designation",
    "description",
    "label",
    "external_id",
    "productid",
    "imageid",
]
FIELDS = ("designation", "description", "label")
_COLUMNS = ", ".join(STAGE_COLUMNS)
_NEW_ONLY = (
    f"INSERT INTO products ({_COLUMNS}, batch_id, created_at) "
    f"SELECT {_COLUMNS}, :batch_id, :now FROM products_stage WHERE true ON CONFLICT (listing_key) DO NOTHING"
)
# `p.xmax = 0` only for rows this statement inserted: a row updated by ON CONFLICT keeps the row
# lock the statement took in its xmax.
_POSTGRES_UPSERT = f"""
WITH up AS (
    INSERT INTO products AS p ({_COLUMNS}, batch_id, created_at)
    SELECT {_COLUMNS}, :batch_id, :now FROM products_stage
    ON CONFLICT (listing_key) DO UPDATE
    SET designation = EXCLUDED.designation, description = EXCLUDED.description,
        label = COALESCE(EXCLUDED.label, p.label)
    WHERE p.designation IS DISTINCT FROM EXCLUDED.designation
       OR p.description IS DISTINCT FROM EXCLUDED.description
       OR p.label IS DISTINCT FROM COALESCE(EXCLUDED.label, p.label)
    RETURNING p.id, p.listing_key, p.designation, p.description, p.label, (p.xmax = 0) AS inserted
), history AS (
    INSERT INTO product_history (product_id, listing_key, field, old_value, new_value, batch_id, changed_at)
    SELECT up.id, up.listing_key, f.field, f.old_value, f.new_value, :batch_id, :now
    FROM up JOIN products old ON old.id = up.id
    CROSS JOIN LATERAL (VALUES ('designation', old.designation, up.designation),
                               ('description', old.description, up.description),
                               ('label', old.label, up.label)) AS f (field, old_value, new_value)
    WHERE NOT up.inserted AND f.old_value IS DISTINCT FROM f.new_value
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
"""
_SQLITE_STAGE = (
    "CREATE TEMP TABLE products_stage (listing_key TEXT, split_key TEXT, designation TEXT, "
    "description TEXT, label TEXT, external_id TEXT, productid INTEGER, imageid INTEGER)"
)
_SQLITE_CHANGED = (
    "CREATE TEMP TABLE products_changed (id INTEGER, listing_key TEXT, "
    + ", ".join(f"old_{f} TEXT, new_{f} TEXT" for f in FIELDS)
    + ")"
)
# SQLite's `IS NOT` is its null-safe inequality (IS DISTINCT FROM only arrived in 3.39).
_SQLITE_FIND_CHANGES = (
    f"INSERT INTO products_changed (id, listing_key, {', '.join(f'old_{f}, new_{f}' for f in FIELDS)}) "
    "SELECT p.id, p.listing_key, p.designation, s.designation, p.description, s.description, "
    "p.label, COALESCE(s.label, p.label) "
    "FROM products_stage s JOIN products p ON p.listing_key = s.listing_key "
    "WHERE p.designation IS NOT s.designation OR p.description IS NOT s.description "
    "OR p.label IS NOT COALESCE(s.label, p.label)"
)
_SQLITE_HISTORY = (
    "INSERT INTO product_history (product_id, listing_key, field, old_value, new_value, batch_id, changed_at) "
    + " UNION ALL ".join(
        f"SELECT id, listing_key, '{f}', old_{f}, new_{f}, :batch_id, :now FROM products_changed "
        f"WHERE old_{f} IS NOT new_{f}"
        for f in FIELDS
    )
)
_SQLITE_APPLY = (
    f"UPDATE products SET {', '.join(f'{f} = c.new_{f}' for f in FIELDS)} "
    "FROM products_changed c WHERE products.id = c.id"
)


def _stamped(sql: str) -> TextClause:
    """A statement whose :now is bound as a DateTime, stored as the ORM stores it on either database."""
    return text(sql).bindparams(bindparam("now", type_=DateTime(timezone=True)))


class ChunkWriter:
    """Writes the chunks of one ingestion inside its transaction; returns (inserted, updated) per chunk."""

    def __init__(self, connection: Connection, batch_id: int, *, keyed: bool) -> None:
        self._connection = connection
        self._batch_id = batch_id
        self._keyed = keyed
        self._postgres = connection.dialect.name == "postgresql"
        if self._postgres:
            connection.exec_driver_sql(
                f"CREATE TEMP TABLE products_stage ON COMMIT DROP AS SELECT {_COLUMNS} FROM products WITH NO DATA"
            )
            return
        for table, ddl in (("products_stage", _SQLITE_STAGE), ("products_changed", _SQLITE_CHANGED)):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")
            connection.exec_driver_sql(ddl)

    def close(self) -> None:
        """Drop SQLite's staging tables (PostgreSQL drops them at commit)."""
        if not self._postgres:
            for table in ("products_stage", "products_changed"):
                self._connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")

    def write(self, frame: pd.DataFrame, now: datetime) -> tuple[int, int]:
        """Stage one chunk, update what changed, insert what is new."""
        # Arrow serialises a chunk for COPY ten times faster than pandas' to_csv, and gives
        # plain Python values (None for null) for SQLite's driver faster than pandas does.
        table = pa.Table.from_pandas(frame[STAGE_COLUMNS], preserve_index=False)
        params = {"batch_id": self._batch_id, "now": now}
        execute = self._connection.execute
        if self._postgres:
            self._stage_postgres(table)
            if self._keyed:
                inserted, updated = execute(_stamped(_POSTGRES_UPSERT), params).one()
                return int(inserted), int(updated)
            return int(execute(_stamped(_NEW_ONLY), params).rowcount), 0
        self._stage_sqlite(table)
        updated = 0
        if self._keyed:
            self._connection.exec_driver_sql("DELETE FROM products_changed")
            self._connection.exec_driver_sql(_SQLITE_FIND_CHANGES)
            execute(_stamped(_SQLITE_HISTORY), params)
            updated = int(self._connection.exec_driver_sql(_SQLITE_APPLY).rowcount)
        return int(execute(_stamped(_NEW_ONLY), params).rowcount), updated

    def _stage_postgres(self, table: pa.Table) -> None:
        buffer = io.BytesIO()
        # Arrow quotes every string and writes null as an unquoted empty field, which COPY reads as NULL.
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        cursor = self._connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("TRUNCATE products_stage")
            cursor.copy_expert(f"COPY products_stage ({_COLUMNS}) FROM STDIN WITH (FORMAT csv)", buffer)
        finally:
            cursor.close()

    def _stage_sqlite(self, table: pa.Table) -> None:
        """Bind plain tuples straight to the driver: SQLAlchemy's per-row processing costs more than the insert."""
        columns = [column.to_pylist() for column in table.columns]
        cursor = self._connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("DELETE FROM products_stage")
            placeholders = ", ".join("?" * len(STAGE_COLUMNS))
            cursor.executemany(
                f"INSERT INTO products_stage VALUES ({placeholders})", list(zip(*columns, strict=True))
            )
        finally:
            cursor.close()
