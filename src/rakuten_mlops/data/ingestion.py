"""Write validated listings to the catalogue: one transaction per file, identified by key or by content.

A file is ingested whole or not at all. When the source has a natural key (the challenge's
``productid``, a CSV's ``--id`` column) that key is the listing's identity: a known key whose
designation, description or label changed is updated, counted as ``updated`` and its old and
new values are kept in ``product_history``; an unchanged one is a duplicate. Without a key the
identity is the hash of designation, description and label, so the same rows ingested again are
duplicates. A rejected file adds no product; the attempt is recorded in ``ingestion_batches``
with status "rejected" and the reason, so the control room can show it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops import progress
from rakuten_mlops.data.sources import Listings, read_rakuten, read_table
from rakuten_mlops.data.upsert import STAGE_COLUMNS, ChunkWriter
from rakuten_mlops.db.models import IngestionBatch
from rakuten_mlops.errors import DatabaseError, ValidationError

HASH_PREFIX = "sha256:"


class IngestionResult(BaseModel):
    """What one ingestion did; printed by the CLI, returned by the flow, shown by the UI."""

    batch_id: int | None
    source: str
    kind: str
    status: str
    rows_read: int
    inserted: int
    updated: int = 0
    duplicates: int
    rejected: int
    error: str | None = None
    notes: list[str] = []
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
    """Hash designation, description and label: the identity of a listing without a natural key."""
    sep = "\x1f"
    keys = frame["designation"] + sep + frame["description"] + sep + frame["label"].fillna("")
    return [hashlib.sha256(key.encode()).hexdigest() for key in keys]


def _prepare(frame: pd.DataFrame, keyed: bool) -> pd.DataFrame:
    """Normalise a chunk into the staging columns; empty texts become NULL."""
    out = pd.DataFrame(
        {
            "designation": frame["designation"].astype(str).str.strip(),
            "description": frame["description"].fillna("").astype(str).str.strip(),
            "label": frame["label"].astype(object),
        }
    )
    if keyed:
        out["listing_key"] = frame["key"].to_numpy()
        out["split_key"] = out["listing_key"]
    else:
        hashes = content_hashes(out)
        out["listing_key"] = [HASH_PREFIX + h for h in hashes]
        out["split_key"] = hashes  # what the split was derived from before listings had keys
    out["description"] = out["description"].mask(out["description"] == "")
    out["external_id"] = frame["external_id"]
    out["productid"] = frame["productid"].astype("Int64")
    out["imageid"] = frame["imageid"].astype("Int64")
    return out[STAGE_COLUMNS]


def ingest_frames(
    engine: Engine, listings: Listings, *, source: str, kind: str, total_rows: int | None = None
) -> IngestionResult:
    """Ingest a stream of listing chunks in one transaction; reject the whole stream on the first problem."""
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    rows_read = inserted = updated = 0
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
                    updated=0,
                    duplicates=0,
                    rejected=0,
                    started_at=started_at,
                )
                .returning(IngestionBatch.id)
            ).scalar_one()
            writer = ChunkWriter(connection, batch_id, keyed=listings.keyed)
            # One writer thread: the database stores chunk k while this thread parses chunk k+1.
            # Only the writer touches the connection between submit() and result().
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as pool:
                pending: Future[tuple[int, int]] | None = None
                for frame in listings.chunks:
                    prepared = _prepare(frame, listings.keyed)
                    if pending is not None:
                        inserted, updated = _add(pending.result(), inserted, updated)
                        progress.report("ingest", rows_read, total_rows)
                    pending = pool.submit(writer.write, prepared, datetime.now(UTC))
                    rows_read += len(frame)
                if pending is not None:
                    inserted, updated = _add(pending.result(), inserted, updated)
                    progress.report("ingest", rows_read, total_rows)
            writer.close()
            duration = time.perf_counter() - started
            connection.execute(
                update(IngestionBatch)
                .where(IngestionBatch.id == batch_id)
                .values(
                    status="succeeded",
                    rows_read=rows_read,
                    inserted=inserted,
                    updated=updated,
                    duplicates=rows_read - inserted - updated,
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
        updated=updated,
        duplicates=rows_read - inserted - updated,
        rejected=0,
        notes=listings.notes,
        duration_seconds=duration,
    )


def _add(counts: tuple[int, int], inserted: int, updated: int) -> tuple[int, int]:
    return inserted + counts[0], updated + counts[1]


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
                    updated=0,
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
    """Ingest the challenge's X file, labelled by its Y file when given; productid is the identity."""
    source = f"rakuten:{x_path}" + (f"+{y_path}" if y_path else "")
    return ingest_frames(engine, read_rakuten(x_path, y_path, chunk_rows), source=source, kind="rakuten")


def ingest_table(
    engine: Engine,
    path: Path,
    text_columns: Sequence[str],
    label_column: str | None,
    *,
    id_column: str | None = None,
    chunk_rows: int = 20_000,
) -> IngestionResult:
    """Ingest any CSV or Parquet file given its text columns, its label column and its id column, if any."""
    listings = read_table(path, text_columns, label_column, chunk_rows, id_column=id_column)
    return ingest_frames(engine, listings, source=f"csv:{path}", kind="csv")


def ingest_sample(
    engine: Engine, rows: int, seed: int, *, drift: bool = False, chunk_rows: int = 20_000
) -> IngestionResult:
    """Generate realistic listings with the built-in generator and ingest them (identified by content)."""
    from rakuten_mlops.data.sample import generate_listings

    if rows < 1:
        raise ValidationError("sample", "the number of rows must be at least 1", column="--rows", value=rows)
    generated = generate_listings(rows, seed, drift=drift)
    frame = pd.DataFrame(
        {
            "designation": generated["designation"],
            "description": generated["description"],
            "label": generated["prdtypecode"].astype(str),
            "key": None,
            "external_id": None,
            "productid": generated["productid"].astype("Int64"),
            "imageid": generated["imageid"].astype("Int64"),
        }
    )
    source = f"sample:rows={rows},seed={seed}" + (",drift" if drift else "")
    # The generator's product ids are random per seed, so two seeds may share one: not an identity.
    listings = Listings(_chunked(frame, chunk_rows), keyed=False)
    return ingest_frames(engine, listings, source=source, kind="sample", total_rows=rows)
