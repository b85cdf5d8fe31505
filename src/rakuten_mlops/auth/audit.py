"""The audit log: every change with who, when, what (secrets removed) and the result."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.auth.models import AuditEntry
from rakuten_mlops.auth.roles import Principal, require
from rakuten_mlops.db.engine import session_scope
from rakuten_mlops.db.models import utcnow
from rakuten_mlops.errors import DataError, MlopsError, PermissionDeniedError
from rakuten_mlops.monitoring._db import as_utc, database_error

log = logging.getLogger(__name__)
T = TypeVar("T")
# Argument names whose values never reach the log, whatever the caller passed.
_SECRET_NAME = re.compile(r"password|secret|token|api_?key|authorization|credential|webhook|ca_cert", re.I)
REDACTED = "[redacted]"
MAX_RESULT = 500


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry, as `audit list` prints it."""

    at: datetime
    user: str
    action: str
    arguments: dict[str, Any]
    result: str


def redact(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments with every secret-looking name's value replaced (nested mappings too)."""
    clean: dict[str, Any] = {}
    for key, value in arguments.items():
        if _SECRET_NAME.search(str(key)) and value not in (None, ""):
            clean[str(key)] = REDACTED
        elif isinstance(value, Mapping):
            clean[str(key)] = redact(value)
        elif isinstance(value, str) and value.startswith("rkm_"):
            clean[str(key)] = REDACTED  # a token passed under an innocent name
        else:
            clean[str(key)] = value
    return clean


def record(
    engine: Engine, who: Principal | str, action: str, arguments: Mapping[str, Any], result: str
) -> None:
    """Write one audit entry; a failure to write is logged, never raised (the change already happened)."""
    name = who.name if isinstance(who, Principal) else who
    payload = json.dumps(redact(arguments), ensure_ascii=False, default=str, sort_keys=True)
    row = AuditEntry(
        at=utcnow(), user=name[:100], action=action[:64], arguments=payload, result=result[:MAX_RESULT]
    )
    try:
        with session_scope(engine) as session:
            session.add(row)
    except SQLAlchemyError as exc:
        log.error("audit entry %s by %s not written: %s", action, name, type(exc).__name__)


@contextmanager
def audited(
    engine: Engine, who: Principal | str, action: str, arguments: Mapping[str, Any]
) -> Iterator[None]:
    """Audit the block: "ok" when it ends, "refused: ..." or "failed: ..." when it raises (and re-raise)."""
    try:
        yield
    except PermissionDeniedError as exc:
        record(engine, who, action, arguments, f"refused: {exc}")
        raise
    except MlopsError as exc:
        record(engine, who, action, arguments, f"failed: {exc}")
        raise
    except Exception as exc:
        record(engine, who, action, arguments, f"failed: {type(exc).__name__}")
        raise
    record(engine, who, action, arguments, "ok")


def run_audited(
    engine: Engine, who: Principal, action: str, arguments: Mapping[str, Any], work: Callable[[], T]
) -> T:
    """Check the role, run `work` and audit it: the one path of every change made from a manager."""
    with audited(engine, who, action, arguments):
        require(who, action)
        return work()


def list_entries(
    engine: Engine,
    since_hours: float | None = None,
    user: str | None = None,
    action: str | None = None,
    limit: int = 500,
) -> list[AuditRecord]:
    """Audit entries newest first, optionally of the last hours, of one user or of one action."""
    if limit < 1:
        raise DataError(f"limit must be at least 1, got {limit}")
    if since_hours is not None and since_hours <= 0:
        raise DataError(f"since-hours must be positive, got {since_hours}")
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if since_hours is not None:
        query = query.where(AuditEntry.at >= utcnow() - timedelta(hours=since_hours))
    if user:
        query = query.where(AuditEntry.user == user)
    if action:
        query = query.where(AuditEntry.action == action)
    try:
        with session_scope(engine) as session:
            return [
                AuditRecord(
                    as_utc(row.at), row.user, row.action, json.loads(row.arguments or "{}"), row.result
                )
                for row in session.scalars(query)
            ]
    except SQLAlchemyError as exc:
        raise database_error("reading the audit log", engine, exc) from exc
