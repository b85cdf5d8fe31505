"""Monitoring routes: alerts (acknowledging is operator) with their deliveries and drift reports, read from the database."""

from __future__ import annotations

import dataclasses
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import Engine

from rakuten_mlops.auth.audit import record
from rakuten_mlops.auth.notify import DeliveryRecord, deliveries
from rakuten_mlops.errors import DatabaseError
from rakuten_mlops.monitoring.alerts import AlertNotFoundError, AlertRecord, acknowledge, list_alerts
from rakuten_mlops.monitoring.store import recent_drift
from rakuten_mlops.serving.deps import AUTH_RESPONSES, OperatorUser
from rakuten_mlops.serving.monitoring_schemas import (
    Acknowledge,
    AlertList,
    AlertOut,
    DeliveryOut,
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


def _alert_out(
    engine: Engine | None, alert: AlertRecord, sent: list[DeliveryRecord] | None = None
) -> AlertOut:
    if sent is None:
        sent = deliveries(engine, [alert.id])[alert.id] if engine is not None else []
    return AlertOut(
        **dataclasses.asdict(alert),
        deliveries=[DeliveryOut(**dataclasses.asdict(d)) for d in sent],
    )


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
        sent = deliveries(_engine(request), [a.id for a in found])
    except DatabaseError as exc:
        raise _unavailable(exc) from exc
    return AlertList(alerts=[_alert_out(None, a, sent[a.id]) for a in found])


@monitoring_router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "no such alert"},
        **DB_DOWN,
    },
    tags=["admin"],
)
def acknowledge_alert(
    request: Request,
    caller: OperatorUser,
    alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Acknowledge | None = None,
) -> AlertOut:
    """Mark an alert as seen (operator); acknowledging it again keeps the first acknowledgement.

    With a personal token the acknowledgement is the token's user; `by` names the person only for
    the service key.
    """
    who = (body or Acknowledge()).by if caller.via == "service_key" else caller.name
    engine = _engine(request)
    try:
        found = acknowledge(engine, alert_id, who)
    except AlertNotFoundError as exc:
        record(engine, caller, "acknowledge", {"alert_id": alert_id}, f"failed: {exc}")
        raise HTTPException(404, str(exc)) from exc
    except DatabaseError as exc:
        raise _unavailable(exc) from exc
    record(engine, caller, "acknowledge", {"alert_id": alert_id, "by": who}, "ok")
    return _alert_out(engine, found)


@monitoring_router.get("/drift", response_model=DriftReportList, responses=DB_DOWN)
def drift_reports(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    model: Annotated[
        str | None,
        Query(
            max_length=120, description="A table model's name; without it, the listing classifier's reports."
        ),
    ] = None,
) -> DriftReportList:
    """The newest drift reports of the listing classifier (the monitor-and-retrain flow) or of a table model."""
    try:
        found = recent_drift(_engine(request), limit, model)
    except DatabaseError as exc:
        raise _unavailable(exc) from exc
    return DriftReportList(
        reports=[DriftReportOut(**dataclasses.asdict(r), drifted_features=r.drifted_features) for r in found]
    )
