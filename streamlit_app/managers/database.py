"""The catalogue database as the control room reads and feeds it: profile, samples, ingestion, predictions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.errors import DatabaseError as PandasDatabaseError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from managers.base import ServiceStatus, short_database_error
from rakuten_mlops import progress
from rakuten_mlops.data import catalogue
from rakuten_mlops.data.ingestion import IngestionResult, ingest_rakuten, ingest_sample, ingest_table
from rakuten_mlops.data.profiling import DataProfile, profile
from rakuten_mlops.db import ensure_schema
from rakuten_mlops.db.migrate import current_revision, head_revision
from rakuten_mlops.errors import DatabaseError, ValidationError
from rakuten_mlops.monitoring import predictions
from rakuten_mlops.monitoring.alerts import list_alerts
from rakuten_mlops.monitoring.predictions import Traffic
from rakuten_mlops.monitoring.store import recent_drift

ProgressCallback = Callable[[int, int | None], None]


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
        with self._errors("reading text lengths"):
            return catalogue.text_lengths(self._engine, limit)

    def sample(
        self, *, label: str | None = None, contains: str | None = None, limit: int = 100
    ) -> pd.DataFrame:
        """Listings newest first, optionally of one label and containing a word in the designation."""
        with self._errors("reading listings"):
            return catalogue.listing_sample(self._engine, label=label, contains=contains, limit=limit)

    def batches(self, limit: int = 20) -> pd.DataFrame:
        """Ingestion attempts newest first, with their outcome and error."""
        with self._errors("reading ingestion batches"):
            return catalogue.recent_batches(self._engine, limit)

    def recent_predictions(
        self, limit: int = 50, *, contains: str | None = None, code: str | None = None
    ) -> pd.DataFrame:
        """The newest predictions the API logged, optionally searched by designation or predicted code."""
        with self._errors("reading predictions"):
            return predictions.recent_predictions(self._engine, limit, contains=contains, code=code)

    def traffic(self, since: datetime | None = None) -> Traffic:
        """Predictions served since `since` (default: today's midnight UTC) and their hourly counts."""
        with self._errors("reading today's traffic"):
            return predictions.traffic(self._engine, since)

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
        with self._errors("reading recent activity"):
            for row in catalogue.recent_batches(self._engine, limit).itertuples():
                what = f"{row.status}: {row.source} ({row.inserted} inserted, {row.duplicates} duplicates)"
                events.append({"at": _utc(row.started_at), "kind": "ingestion", "what": what})
            for alert in list_alerts(self._engine, include_acknowledged=True, limit=limit):
                events.append(
                    {
                        "at": _utc(alert.created_at),
                        "kind": "alert",
                        "what": f"{alert.severity}: {alert.message}",
                    }
                )
            for report in recent_drift(self._engine, limit):
                verdict = "drift detected" if report.drift_detected else "no drift"
                events.append(
                    {
                        "at": _utc(report.created_at),
                        "kind": "drift check",
                        "what": f"{verdict} (share {report.drift_share:.2f})",
                    }
                )
        return events


def _utc(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)).to_pydatetime()
