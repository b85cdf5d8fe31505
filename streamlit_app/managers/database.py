"""The catalogue database as the control room reads and feeds it: profile, samples, ingestion, predictions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.errors import DatabaseError as PandasDatabaseError
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from managers.base import ServiceStatus, short_database_error
from rakuten_mlops import progress
from rakuten_mlops.data.ingestion import IngestionResult, ingest_rakuten, ingest_sample, ingest_table
from rakuten_mlops.data.profiling import DataProfile, profile
from rakuten_mlops.db import ensure_schema
from rakuten_mlops.db.migrate import current_revision, head_revision
from rakuten_mlops.db.models import IngestionBatch, Prediction, Product
from rakuten_mlops.errors import DatabaseError, ValidationError

ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Traffic:
    """Predictions served since a time, with their hourly counts."""

    since: datetime
    predictions: int
    mean_confidence: float | None
    mean_latency_ms: float | None
    hourly: pd.DataFrame  # hour (UTC), predictions


class DatabaseManager:
    """Reads and writes the catalogue through an injected engine; every failure is a DatabaseError."""

    def __init__(self, engine: Engine, chunk_rows: int = 20_000) -> None:
        self._engine = engine
        self._chunk_rows = chunk_rows

    @property
    def url(self) -> str:
        """The database URL without its password."""
        return self._engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, PandasDatabaseError) as exc:
            raise short_database_error(what, self.url, exc) from exc

    def status(self) -> ServiceStatus:
        """Whether the database answers and is at the newest schema."""
        started = time.perf_counter()
        try:
            revision = current_revision(self._engine)
        except DatabaseError as exc:
            return ServiceStatus(
                "Database", False, str(short_database_error("connecting", self.url, exc)), self.url
            )
        latency = round((time.perf_counter() - started) * 1000, 1)
        if revision != head_revision():
            detail = f"reachable but at schema {revision or 'none'}; run rakuten-mlops db upgrade"
            return ServiceStatus("Database", False, detail, self.url, latency_ms=latency)
        return ServiceStatus("Database", True, f"schema {revision}", self.url, latency_ms=latency)

    def profile(self) -> DataProfile:
        """Counts, class distribution, missing descriptions, text lengths and duplicates."""
        with self._errors("profiling the catalogue"):
            return profile(self._engine)

    def text_lengths(self, limit: int = 20_000) -> pd.DataFrame:
        """Character lengths of designation and description for up to `limit` listings."""
        query = select(
            Product.label,
            func.length(Product.designation).label("designation"),
            func.coalesce(func.length(Product.description), 0).label("description"),
        ).limit(limit)
        with self._errors("reading text lengths"), self._engine.connect() as connection:
            return pd.read_sql(query, connection)

    def sample(
        self, *, label: str | None = None, contains: str | None = None, limit: int = 100
    ) -> pd.DataFrame:
        """Listings newest first, optionally of one label and containing a word in the designation."""
        query = select(
            Product.id,
            Product.designation,
            Product.description,
            Product.label,
            Product.batch_id,
            Product.created_at,
        ).order_by(Product.id.desc())
        if label:
            query = query.where(Product.label == label)
        if contains:
            query = query.where(Product.designation.ilike(f"%{contains}%"))
        with self._errors("reading listings"), self._engine.connect() as connection:
            return pd.read_sql(query.limit(limit), connection)

    def batches(self, limit: int = 20) -> pd.DataFrame:
        """Ingestion attempts newest first, with their outcome and error."""
        columns = [c for c in IngestionBatch.__table__.columns]
        query = select(*columns).order_by(IngestionBatch.id.desc()).limit(limit)
        with self._errors("reading ingestion batches"), self._engine.connect() as connection:
            return pd.read_sql(query, connection)

    def recent_predictions(self, limit: int = 50) -> pd.DataFrame:
        """The newest predictions the API logged."""
        query = (
            select(
                Prediction.created_at,
                Prediction.designation,
                Prediction.prdtypecode,
                Prediction.confidence,
                Prediction.model_version,
                Prediction.latency_ms,
                Prediction.request_id,
            )
            .order_by(Prediction.created_at.desc(), Prediction.id.desc())
            .limit(limit)
        )
        with self._errors("reading predictions"), self._engine.connect() as connection:
            return pd.read_sql(query, connection)

    def traffic(self, since: datetime | None = None) -> Traffic:
        """Predictions served since `since` (default: today's midnight UTC) and their hourly counts."""
        start = since or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        query = select(Prediction.created_at, Prediction.confidence, Prediction.latency_ms).where(
            Prediction.created_at >= start
        )
        with self._errors("reading today's traffic"), self._engine.connect() as connection:
            frame = pd.read_sql(query, connection)
        if frame.empty:
            return Traffic(start, 0, None, None, pd.DataFrame({"hour": [], "predictions": []}))
        hours = pd.to_datetime(frame["created_at"], utc=True).dt.floor("h")
        hourly = hours.value_counts().sort_index().rename_axis("hour").reset_index(name="predictions")
        return Traffic(
            start,
            len(frame),
            round(float(frame["confidence"].mean()), 4),
            round(float(frame["latency_ms"].mean()), 2),
            hourly,
        )

    def ingest_sample(
        self, rows: int, seed: int, drift: bool = False, on_progress: ProgressCallback | None = None
    ) -> IngestionResult:
        """Generate and ingest sample listings."""
        return self._ingest(
            "sample",
            on_progress,
            lambda: ingest_sample(self._engine, rows, seed, drift=drift, chunk_rows=self._chunk_rows),
        )

    def ingest_rakuten(
        self, x_path: Path, y_path: Path | None, on_progress: ProgressCallback | None = None
    ) -> IngestionResult:
        """Ingest the challenge's X file, labelled by its Y file when given."""
        return self._ingest(
            "rakuten",
            on_progress,
            lambda: ingest_rakuten(self._engine, x_path, y_path, chunk_rows=self._chunk_rows),
        )

    def ingest_table(
        self,
        path: Path,
        text_columns: list[str],
        label_column: str | None,
        on_progress: ProgressCallback | None = None,
        *,
        id_column: str | None = None,
    ) -> IngestionResult:
        """Ingest any CSV or Parquet file given its text columns, its label column and its id column, if any."""
        return self._ingest(
            "csv",
            on_progress,
            lambda: ingest_table(
                self._engine,
                path,
                text_columns,
                label_column,
                id_column=id_column,
                chunk_rows=self._chunk_rows,
            ),
        )

    def _ingest(
        self, kind: str, on_progress: ProgressCallback | None, work: Callable[[], IngestionResult]
    ) -> IngestionResult:
        """Migrate if needed, run one ingestion with progress; a refused file comes back as a 'rejected' result."""
        started = time.perf_counter()

        def listener(stage: str, done: int, total: int | None) -> None:
            if on_progress is not None and stage == "ingest":
                on_progress(done, total)

        with self._errors("preparing the database"):
            ensure_schema(self._engine)
        try:
            with progress.listening(listener):
                return work()
        except ValidationError as exc:
            return IngestionResult.rejected_file(exc, kind, round(time.perf_counter() - started, 3))

    def activity(self, limit: int = 20) -> list[dict[str, Any]]:
        """Recent ingestions, drift checks and alerts as events: at, kind, what."""
        events: list[dict[str, Any]] = []
        with self._errors("reading recent activity"), self._engine.connect() as connection:
            for row in connection.execute(
                text(
                    "SELECT started_at, source, status, inserted, duplicates FROM ingestion_batches "
                    "ORDER BY id DESC LIMIT :n"
                ),
                {"n": limit},
            ):
                what = f"{row.status}: {row.source} ({row.inserted} inserted, {row.duplicates} duplicates)"
                events.append({"at": _utc(row.started_at), "kind": "ingestion", "what": what})
            for row in connection.execute(
                text("SELECT created_at, severity, message FROM alerts ORDER BY id DESC LIMIT :n"),
                {"n": limit},
            ):
                events.append(
                    {"at": _utc(row.created_at), "kind": "alert", "what": f"{row.severity}: {row.message}"}
                )
            for row in connection.execute(
                text(
                    "SELECT created_at, drift_detected, drift_share FROM drift_reports ORDER BY id DESC LIMIT :n"
                ),
                {"n": limit},
            ):
                verdict = "drift detected" if row.drift_detected else "no drift"
                events.append(
                    {
                        "at": _utc(row.created_at),
                        "kind": "drift check",
                        "what": f"{verdict} (share {row.drift_share:.2f})",
                    }
                )
        return events


def _utc(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)).to_pydatetime()
