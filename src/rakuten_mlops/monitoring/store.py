"""Drift reports in the database: written by the monitoring flow, read by the API's gauges and the UI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.db.engine import session_scope
from rakuten_mlops.db.models import DriftReport, utcnow
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring._db import as_utc, database_error
from rakuten_mlops.monitoring.drift import DriftResult


@dataclass(frozen=True)
class StoredDriftReport:
    """One row of `drift_reports`, details decoded."""

    id: int
    created_at: datetime
    model_version: str
    reference_rows: int
    current_rows: int
    window_description: str
    drift_detected: bool
    drift_share: float
    threshold: float
    details: dict[str, Any]
    report_path: str | None
    model: str | None = None  # an AutoML table model; None for the listing classifier

    @property
    def drifted_features(self) -> list[str]:
        """Names of the descriptors that drifted."""
        return list(self.details.get("drifted_features", []))


def _stored(row: DriftReport) -> StoredDriftReport:
    return StoredDriftReport(
        id=row.id,
        created_at=as_utc(row.created_at),
        model_version=row.model_version,
        reference_rows=row.reference_rows,
        current_rows=row.current_rows,
        window_description=row.window_description,
        drift_detected=bool(row.drift_detected),
        drift_share=float(row.drift_share),
        threshold=float(row.threshold),
        details=json.loads(row.details) if row.details else {},
        report_path=row.report_path,
        model=row.model,
    )


def record_drift(
    engine: Engine,
    result: DriftResult,
    model_version: str,
    window_description: str,
    model: str | None = None,
) -> StoredDriftReport:
    """Store a drift check as a `drift_reports` row and return it (`model`: a table model's name)."""
    if not model_version.strip():
        raise DataError("say which model version the drift check used (model_version is empty)")
    row = DriftReport(
        created_at=utcnow(),
        model_version=model_version,
        reference_rows=result.reference_rows,
        current_rows=result.current_rows,
        window_description=window_description,
        drift_detected=result.drift_detected,
        drift_share=result.drift_share,
        threshold=result.threshold,
        details=json.dumps(result.details()),
        report_path=None if result.report_path is None else str(result.report_path),
        model=model,
    )
    try:
        with session_scope(engine) as session:
            session.add(row)
            session.flush()
            return _stored(row)
    except SQLAlchemyError as exc:
        raise database_error("storing a drift report", engine, exc) from exc


def recent_drift(engine: Engine, limit: int = 20, model: str | None = None) -> list[StoredDriftReport]:
    """The newest drift reports of the listing classifier, or of the table model `model`; newest first."""
    if limit < 1:
        raise DataError(f"limit must be at least 1, got {limit}")
    which = DriftReport.model.is_(None) if model is None else DriftReport.model == model
    query = (
        select(DriftReport)
        .where(which)
        .order_by(DriftReport.created_at.desc(), DriftReport.id.desc())
        .limit(limit)
    )
    try:
        with session_scope(engine) as session:
            return [_stored(row) for row in session.scalars(query)]
    except SQLAlchemyError as exc:
        raise database_error("reading drift reports", engine, exc) from exc


def latest_drift(engine: Engine) -> StoredDriftReport | None:
    """The newest drift report, or None before the first check."""
    found = recent_drift(engine, limit=1)
    return found[0] if found else None


def record_outcome(engine: Engine, report_id: int, outcome: dict[str, Any]) -> StoredDriftReport:
    """Add what the monitoring flow did after a check (action, versions) to its report's details."""
    try:
        with session_scope(engine) as session:
            row = session.get(DriftReport, report_id, with_for_update=True)
            if row is None:
                raise DataError(f"there is no drift report with id {report_id}")
            details = json.loads(row.details) if row.details else {}
            details["outcome"] = outcome
            row.details = json.dumps(details, default=str)
            session.flush()
            return _stored(row)
    except SQLAlchemyError as exc:
        raise database_error(f"recording the outcome of drift report {report_id}", engine, exc) from exc
