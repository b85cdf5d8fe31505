"""Monitoring routes: alerts (acknowledging is admin) and drift reports, read from the database."""

from __future__ import annotations

import dataclasses
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import Engine

from rakuten_mlops.errors import DatabaseError
from rakuten_mlops.monitoring.alerts import AlertNotFoundError, acknowledge, list_alerts
from rakuten_mlops.monitoring.store import recent_drift
from rakuten_mlops.serving.deps import AdminDep
from rakuten_mlops.serving.monitoring_schemas import (
    Acknowledge,
    AlertList,
    AlertOut,
    DriftReportList,
    DriftReportOut,
)

log = logging.getLogger(__name__)
monitoring_router = APIRouter(tags=["monitoring"])
DB_DOWN: dict[int | str, dict[str, str]] = {503: {"description": "database unavailable"}}


def _unavailable(exc: DatabaseError) -> HTTPException:
    """A 503 that says what is unavailable, not where: the database's address stays in the log."""
    log.error("monitoring route: %s", exc)
    return HTTPException(503, "the monitoring database is unavailable; the API's log says why")


def _engine(request: Request) -> Engine:
    engine: Engine | None = request.app.state.service.engine
    if engine is None:
        raise HTTPException(503, "this API runs without a database; alerts and drift reports are unavailable")
    return engine


@monitoring_router.get("/alerts", response_model=AlertList, responses=DB_DOWN)
def alerts(
    request: Request,
    include_acknowledged: Annotated[bool, Query(description="Also list acknowledged alerts.")] = False,
    kind: Annotated[
        str | None,
        Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", description="Only this kind, e.g. drift."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AlertList:
    """Alerts newest first: open ones unless include_acknowledged."""
    try:
        found = list_alerts(_engine(request), include_acknowledged, limit, kind)
    except DatabaseError as exc:
        raise _unavailable(exc) from exc
    return AlertList(alerts=[AlertOut(**dataclasses.asdict(a)) for a in found])


@monitoring_router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    dependencies=[AdminDep],
    responses={
        401: {"description": "missing or wrong X-API-Key"},
        403: {"description": "API_KEY unset"},
        404: {"description": "no such alert"},
        **DB_DOWN,
    },
    tags=["admin"],
)
def acknowledge_alert(
    request: Request,
    alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Acknowledge | None = None,
) -> AlertOut:
    """Mark an alert as seen (admin); acknowledging it again keeps the first acknowledgement."""
    who = (body or Acknowledge()).by
    try:
        found = acknowledge(_engine(request), alert_id, who)
    except AlertNotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    except DatabaseError as exc:
        raise _unavailable(exc) from exc
    return AlertOut(**dataclasses.asdict(found))


@monitoring_router.get("/drift", response_model=DriftReportList, responses=DB_DOWN)
def drift_reports(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> DriftReportList:
    """The newest drift reports written by the monitor-and-retrain flow."""
    try:
        found = recent_drift(_engine(request), limit)
    except DatabaseError as exc:
        raise _unavailable(exc) from exc
    return DriftReportList(
        reports=[DriftReportOut(**dataclasses.asdict(r), drifted_features=r.drifted_features) for r in found]
    )
