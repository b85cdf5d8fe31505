"""Alerts: raised by the monitoring flow (drift, accuracy drop, failed flow), acknowledged by a person.

Rows live in the `alerts` table; every function takes the Engine it works on, so the flow,
the CLI and the API share one store whatever the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.db.engine import session_scope
from rakuten_mlops.db.models import Alert, utcnow
from rakuten_mlops.errors import DataError, MlopsError
from rakuten_mlops.monitoring._db import as_utc, database_error

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
# The kinds the project raises; any other short lower-case name is accepted too.
DRIFT, ACCURACY_DROP, FLOW_FAILED = "drift", "accuracy_drop", "flow_failed"
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_ACKNOWLEDGER = 100


class AlertNotFoundError(MlopsError):
    """No alert has the id that was asked for."""


@dataclass(frozen=True)
class AlertRecord:
    """One stored alert."""

    id: int
    kind: str
    severity: Severity
    message: str
    details: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @property
    def acknowledged(self) -> bool:
        """Whether someone has acknowledged the alert."""
        return self.acknowledged_at is not None


def _record(row: Alert) -> AlertRecord:
    # A severity this code does not know (written by a newer version) is shown as the most urgent.
    severity = cast(Severity, row.severity if row.severity in SEVERITIES else "critical")
    return AlertRecord(
        id=row.id,
        kind=row.kind,
        severity=severity,
        message=row.message,
        details=json.loads(row.details) if row.details else {},
        created_at=as_utc(row.created_at),
        acknowledged_at=None if row.acknowledged_at is None else as_utc(row.acknowledged_at),
        acknowledged_by=row.acknowledged_by,
    )


def raise_alert(
    engine: Engine, kind: str, severity: Severity, message: str, details: dict[str, Any] | None = None
) -> AlertRecord:
    """Store a new, unacknowledged alert and return it."""
    if not _KIND.fullmatch(kind):
        raise DataError(
            f"alert kind {kind!r} is not a short lower-case name (letters, digits, '_', at most 32), "
            f"e.g. {DRIFT!r}, {ACCURACY_DROP!r} or {FLOW_FAILED!r}"
        )
    if severity not in SEVERITIES:
        raise DataError(f"alert severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if not message.strip():
        raise DataError("an alert needs a message saying what happened")
    try:
        payload = json.dumps(details or {}, ensure_ascii=False, default=str)
    except (TypeError, ValueError) as exc:
        raise DataError(f"alert details cannot be stored as JSON: {exc}") from exc
    row = Alert(kind=kind, severity=severity, message=message, details=payload, created_at=utcnow())
    try:
        with session_scope(engine) as session:
            session.add(row)
            session.flush()
            return _record(row)
    except SQLAlchemyError as exc:
        raise database_error("storing an alert", engine, exc) from exc


def list_alerts(
    engine: Engine, include_acknowledged: bool = False, limit: int = 100, kind: str | None = None
) -> list[AlertRecord]:
    """Alerts newest first: open ones only unless include_acknowledged, optionally of one kind."""
    if limit < 1:
        raise DataError(f"limit must be at least 1, got {limit}")
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if not include_acknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    try:
        with session_scope(engine) as session:
            return [_record(row) for row in session.scalars(query)]
    except SQLAlchemyError as exc:
        raise database_error("listing alerts", engine, exc) from exc


def acknowledge(engine: Engine, alert_id: int, by: str) -> AlertRecord:
    """Mark an alert as seen by `by`; acknowledging it again keeps the first acknowledgement."""
    who = by.strip()
    if not who or len(who) > MAX_ACKNOWLEDGER:
        raise DataError(f"say who acknowledges alert {alert_id} (1 to {MAX_ACKNOWLEDGER} characters)")
    try:
        with session_scope(engine) as session:
            row = session.get(Alert, alert_id, with_for_update=True)
            if row is None:
                raise AlertNotFoundError(f"there is no alert with id {alert_id}")
            if row.acknowledged_at is None:
                row.acknowledged_at = utcnow()
                row.acknowledged_by = who
                session.flush()
            return _record(row)
    except SQLAlchemyError as exc:
        raise database_error(f"acknowledging alert {alert_id}", engine, exc) from exc


def raise_alert_once(
    engine: Engine,
    kind: str,
    severity: Severity,
    message: str,
    details: dict[str, Any],
    same: tuple[str, ...] = (),
) -> tuple[AlertRecord, bool]:
    """Raise an alert unless an open one of the same kind has the same `same` details; (alert, raised)."""
    for open_alert in list_alerts(engine, include_acknowledged=False, limit=1000, kind=kind):
        if all(open_alert.details.get(key) == details.get(key) for key in same):
            return open_alert, False
    return raise_alert(engine, kind, severity, message, details), True
