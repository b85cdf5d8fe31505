"""Write validated listings to the catalogue: one transaction per file, idempotent by content hash.

A file is ingested whole or not at all. Rows already in the catalogue (same designation,
description and label) are counted as duplicates and not written again. A rejected file
adds no product; the attempt is recorded in ``ingestion_batches`` with status "rejected"
and the reason, so the control room can show it.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, insert, text, update
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops import progress
from rakuten_mlops.data.sources import read_rakuten, read_table
from rakuten_mlops.db.models import IngestionBatch
from rakuten_mlops.errors import DatabaseError, ValidationError

_COPY_COLUMNS = [
    "content_hash",
    "designation",
    "description",
    "label",
    "external_id",
    "productid",
    "imageid",
    "batch_id",
    "created_at",
]


class IngestionResult(BaseModel):
    """What one ingestion did; printed by the CLI, returned by the flow, shown by the UI."""

    batch_id: int | None
    source: str
    kind: str
    status: str
    rows_read: int
    inserted: int
    duplicates: int
    rejected: int
    error: str | None = None
    duration_seconds: float

    @classmethod
    def rejected_file(cls, exc: ValidationError, kind: str, duration_seconds: float = 0.0) -> IngestionResult:
        """The result of a file refused before anything was written, with the reason."""
        return cls(
            batch_id=None,
            source=exc.source,
            kind=kind,
            status="rejected",
            rows_read=0,
            inserted=0,
            duplicates=0,
            rejected=exc.row or 0,
            error=str(exc),
            duration_seconds=duration_seconds,
        )

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole ingestion."""
        return self.rows_read / self.duration_seconds if self.duration_seconds > 0 else 0.0


def content_hashes(frame: pd.DataFrame) -> list[str]:
    """Hash designation, description and label: the identity of a listing for idempotency."""
    sep = "\x1f"
    keys = frame["designation"] + sep + frame["description"] + sep + frame["label"].fillna("")
    return [hashlib.sha256(key.encode()).hexdigest() for key in keys]


def _prepare(frame: pd.DataFrame, batch_id: int, now: datetime) -> pd.DataFrame:
    """Normalise a chunk into the columns of the products table; empty texts become NULL."""
    out = pd.DataFrame(
        {
            "designation": frame["designation"].astype(str).str.strip(),
            "description": frame["description"].fillna("").astype(str).str.strip(),
            "label": frame["label"].astype(object),
        }
    )
    out["content_hash"] = content_hashes(out)
    out["description"] = out["description"].mask(out["description"] == "")
    out["external_id"] = frame["external_id"]
    out["productid"] = frame["productid"].astype("Int64")
    out["imageid"] = frame["imageid"].astype("Int64")
    out["batch_id"] = batch_id
    out["created_at"] = now
    return out[_COPY_COLUMNS]


def _write_sqlite(connection: Connection, frame: pd.DataFrame) -> int:
    """Bind plain tuples straight to the driver: SQLAlchemy's per-row processing costs more than the insert."""
    # SQLAlchemy's own storage format for DateTime on SQLite, so the ORM reads these rows back.
    created = frame["created_at"].iloc[0].strftime("%Y-%m-%d %H:%M:%S.%f") if len(frame) else ""
    columns = [frame[c].astype(object).where(frame[c].notna(), None) for c in _COPY_COLUMNS[:-1]]
    rows = [(*values, created) for values in zip(*columns, strict=True)]
    placeholders = ", ".join("?" * len(_COPY_COLUMNS))
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            f"INSERT OR IGNORE INTO products ({', '.join(_COPY_COLUMNS)}) VALUES ({placeholders})", rows
        )
        return int(cursor.rowcount)  # rows ignored as duplicates are not counted
    finally:
        cursor.close()


def _write_postgres(connection: Connection, frame: pd.DataFrame) -> int:
    """COPY the chunk's texts into a temporary staging table, then insert what is new."""
    data_columns = _COPY_COLUMNS[:-2]  # batch_id and created_at are the same for the whole chunk
    buffer = io.StringIO()
    # In CSV mode an unquoted empty field is NULL; no stored text is ever empty.
    frame[data_columns].to_csv(buffer, index=False, header=False, na_rep="")
    buffer.seek(0)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("TRUNCATE products_stage")
        cursor.copy_expert(
            f"COPY products_stage ({', '.join(data_columns)}) FROM STDIN WITH (FORMAT csv)", buffer
        )
    finally:
        cursor.close()
    columns = ", ".join(data_columns)
    result = connection.execute(
        text(
            f"INSERT INTO products ({columns}, batch_id, created_at) "
            f"SELECT {columns}, :batch_id, :created_at FROM products_stage ON CONFLICT (content_hash) DO NOTHING"
        ),
        {"batch_id": int(frame["batch_id"].iloc[0]), "created_at": frame["created_at"].iloc[0]},
    )
    return int(result.rowcount)  # ON CONFLICT DO NOTHING counts only the rows it inserted


def ingest_frames(
    engine: Engine, frames: Iterable[pd.DataFrame], *, source: str, kind: str, total_rows: int | None = None
) -> IngestionResult:
    """Ingest a stream of listing chunks in one transaction; reject the whole stream on the first problem."""
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    rows_read = 0
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as connection:
            batch_id = connection.execute(
                insert(IngestionBatch)
                .values(
                    source=source[:500],
                    kind=kind,
                    status="running",
                    rows_read=0,
                    inserted=0,
                    duplicates=0,
                    rejected=0,
                    started_at=started_at,
                )
                .returning(IngestionBatch.id)
            ).scalar_one()
            if postgres:
                connection.execute(
                    text(
                        "CREATE TEMP TABLE products_stage ON COMMIT DROP AS "
                        f"SELECT {', '.join(_COPY_COLUMNS[:-2])} FROM products WITH NO DATA"
                    )
                )
            write = _write_postgres if postgres else _write_sqlite
            inserted = 0
            # One writer thread: the database stores chunk k while this thread parses chunk k+1.
            # Only the writer touches the connection between submit() and result().
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
                pending: Future[int] | None = None
                for frame in frames:
                    prepared = _prepare(frame, batch_id, datetime.now(UTC))
                    if pending is not None:
                        inserted += pending.result()
                        progress.report("ingest", rows_read, total_rows)
                    pending = writer.submit(write, connection, prepared)
                    rows_read += len(frame)
                if pending is not None:
                    inserted += pending.result()
                    progress.report("ingest", rows_read, total_rows)
            duration = time.perf_counter() - started
            connection.execute(
                update(IngestionBatch)
                .where(IngestionBatch.id == batch_id)
                .values(
                    status="succeeded",
                    rows_read=rows_read,
                    inserted=inserted,
                    duplicates=rows_read - inserted,
                    finished_at=datetime.now(UTC),
                    duration_seconds=duration,
                )
            )
    except ValidationError as exc:
        # Every row up to the offending one was read and is refused with the file.
        refused = max(rows_read, exc.row or 0)
        _record_attempt(engine, source, kind, "rejected", refused, str(exc), started_at, started)
        raise
    except SQLAlchemyError as exc:
        message = f"ingesting {source} failed, nothing was written: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}"
        _record_attempt(engine, source, kind, "failed", rows_read, message, started_at, started)
        raise DatabaseError(message) from exc
    return IngestionResult(
        batch_id=batch_id,
        source=source,
        kind=kind,
        status="succeeded",
        rows_read=rows_read,
        inserted=inserted,
        duplicates=rows_read - inserted,
        rejected=0,
        duration_seconds=duration,
    )


def _record_attempt(
    engine: Engine,
    source: str,
    kind: str,
    status: str,
    rows_read: int,
    error: str,
    started_at: datetime,
    started: float,
) -> None:
    """Keep a trace of a refused or failed attempt; never hide the original error if this fails too."""
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(IngestionBatch).values(
                    source=source[:500],
                    kind=kind,
                    status=status,
                    rows_read=rows_read,
                    inserted=0,
                    duplicates=0,
                    rejected=rows_read,
                    error=error,
                    started_at=started_at,
                    finished_at=datetime.now(UTC),
                    duration_seconds=time.perf_counter() - started,
                )
            )
    except SQLAlchemyError:
        pass


def _chunked(frame: pd.DataFrame, chunk_rows: int) -> Iterable[pd.DataFrame]:
    for start in range(0, len(frame), chunk_rows):
        yield frame.iloc[start : start + chunk_rows]


def ingest_rakuten(
    engine: Engine, x_path: Path, y_path: Path | None, *, chunk_rows: int = 20_000
) -> IngestionResult:
    """Ingest the challenge's X file, labelled by its Y file when given."""
    source = f"rakuten:{x_path}" + (f"+{y_path}" if y_path else "")
    return ingest_frames(engine, read_rakuten(x_path, y_path, chunk_rows), source=source, kind="rakuten")


def ingest_table(
    engine: Engine,
    path: Path,
    text_columns: Sequence[str],
    label_column: str | None,
    *,
    chunk_rows: int = 20_000,
) -> IngestionResult:
    """Ingest any CSV or Parquet file given its text columns and its label column."""
    frames = read_table(path, text_columns, label_column, chunk_rows)
    return ingest_frames(engine, frames, source=f"csv:{path}", kind="csv")


def ingest_sample(
    engine: Engine, rows: int, seed: int, *, drift: bool = False, chunk_rows: int = 20_000
) -> IngestionResult:
    """Generate realistic listings with the built-in generator and ingest them."""
    from rakuten_mlops.data.sample import generate_listings

    if rows < 1:
        raise ValidationError("sample", "the number of rows must be at least 1", column="--rows", value=rows)
    generated = generate_listings(rows, seed, drift=drift)
    frame = pd.DataFrame(
        {
            "designation": generated["designation"],
            "description": generated["description"],
            "label": generated["prdtypecode"].astype(str),
            "external_id": None,
            "productid": generated["productid"].astype("Int64"),
            "imageid": generated["imageid"].astype("Int64"),
        }
    )
    source = f"sample:rows={rows},seed={seed}" + (",drift" if drift else "")
    return ingest_frames(engine, _chunked(frame, chunk_rows), source=source, kind="sample", total_rows=rows)
