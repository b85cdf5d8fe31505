"""The `ingest` flow: migrate the database, then ingest one source in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.states import Failed, State

from rakuten_mlops.config import get_settings
from rakuten_mlops.data.ingestion import IngestionResult, ingest_rakuten, ingest_sample, ingest_table
from rakuten_mlops.db import ensure_schema, make_engine
from rakuten_mlops.errors import DatabaseError, ValidationError
from rakuten_mlops.runs.guard import clean_up_cancelled, record_run_process

SourceKind = Literal["sample", "rakuten", "csv"]


def retry_on_database_error(_task: Any, _task_run: Any, state: State) -> bool:
    """Retry only when the database was unreachable; bad input never gets better by retrying."""
    try:
        state.result()
    except DatabaseError:
        return True
    except Exception:
        return False
    return False


@task(retries=2, retry_delay_seconds=[2, 5], retry_condition_fn=retry_on_database_error)
def migrate_database() -> None:
    """Bring the catalogue database to the newest schema."""
    ensure_schema(make_engine(get_settings().db_url))


@task(retries=2, retry_delay_seconds=[2, 5], retry_condition_fn=retry_on_database_error)
def ingest_source(
    kind: SourceKind,
    *,
    rows: int,
    seed: int,
    drift: bool,
    x_path: str | None,
    y_path: str | None,
    path: str | None,
    text_columns: list[str] | None,
    label_column: str | None,
    id_column: str | None = None,
) -> IngestionResult:
    """Ingest one source; a rejected file comes back as a result with status 'rejected'."""
    settings = get_settings()
    engine = make_engine(settings.db_url)
    chunk = settings.ingest_chunk_rows
    try:
        if kind == "sample":
            return ingest_sample(engine, rows, seed, drift=drift, chunk_rows=chunk)
        if kind == "rakuten":
            if not x_path:
                raise ValidationError("rakuten", "the X file is required", column="x_path")
            return ingest_rakuten(engine, Path(x_path), Path(y_path) if y_path else None, chunk_rows=chunk)
        if not path:
            raise ValidationError("csv", "the file is required", column="path")
        return ingest_table(
            engine, Path(path), text_columns or [], label_column, id_column=id_column, chunk_rows=chunk
        )
    except ValidationError as exc:
        return IngestionResult.rejected_file(exc, kind)


@flow(
    name="ingest",
    log_prints=True,
    on_running=[record_run_process],
    on_cancellation=[clean_up_cancelled],
)
def ingest(
    kind: SourceKind = "sample",
    rows: int = 5_000,
    seed: int = 42,
    drift: bool = False,
    x_path: str | None = None,
    y_path: str | None = None,
    path: str | None = None,
    text_columns: list[str] | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
) -> IngestionResult | State[IngestionResult]:
    """Ingest generated samples, the challenge's X/Y files, or any CSV/Parquet (keyed by `id_column`) into the catalogue."""
    migrate_database()
    result = ingest_source(
        kind,
        rows=rows,
        seed=seed,
        drift=drift,
        x_path=x_path,
        y_path=y_path,
        path=path,
        text_columns=text_columns,
        label_column=label_column,
        id_column=id_column,
    )
    logger = get_run_logger()
    if result.status == "rejected":
        logger.error("rejected: %s", result.error)
        return Failed(message=result.error or "rejected", data=result)
    for note in result.notes:
        logger.info(note)
    logger.info(
        "ingested %s: %d rows read, %d inserted, %d updated, %d duplicates in %.1fs",
        result.source,
        result.rows_read,
        result.inserted,
        result.updated,
        result.duplicates,
        result.duration_seconds,
    )
    return result
