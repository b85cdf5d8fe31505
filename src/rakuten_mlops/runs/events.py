"""`POST /events`: an event name starts its mapped deployment; each event is stored with its run.

The mapping is the `RUN_EVENTS` setting (defaults: `dataset.uploaded` -> training-pipeline,
`drift.detected` -> monitor-and-retrain). Payload keys that are parameters of the deployment's
flow become the run's parameters; the others are kept with the event only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from rakuten_mlops.db.models import RunEvent
from rakuten_mlops.errors import DatabaseError, DataError
from rakuten_mlops.runs.records import EVENT_TAG, RunRecord
from rakuten_mlops.runs.service import Runs


class UnknownEventError(DataError):
    """An event name the mapping does not know."""


@dataclass(frozen=True)
class EventRecord:
    """A stored event and the run it started."""

    id: int
    event: str
    payload: dict[str, Any]
    deployment: str
    flow_run_id: str
    parameters: dict[str, Any]
    received_at: datetime
    received_by: str


def target(mapping: dict[str, str], event: str) -> str:
    """The deployment an event starts, or UnknownEventError listing the known events."""
    if event not in mapping:
        known = ", ".join(sorted(mapping)) or "none (RUN_EVENTS is empty)"
        raise UnknownEventError(f"unknown event {event!r}; known events: {known}")
    return mapping[event]


def trigger(
    runs: Runs, engine: Engine, mapping: dict[str, str], event: str, payload: dict[str, Any], who: str
) -> tuple[EventRecord, RunRecord, list[str]]:
    """Start the event's deployment with the payload's parameters, store the event; (event, run, ignored keys)."""
    deployment = target(mapping, event)
    known = _parameters(runs, deployment)
    parameters = {k: v for k, v in payload.items() if k in known}
    ignored = sorted(set(payload) - known)
    run = runs.start(deployment, parameters, started_by=f"event:{event}", tags=(f"{EVENT_TAG}{event}",))
    received_at = datetime.now(UTC)
    values = {
        "event": event,
        "payload": json.dumps(payload, ensure_ascii=False, default=str),
        "deployment": deployment,
        "flow_run_id": run.id,
        "parameters": json.dumps(parameters, ensure_ascii=False, default=str),
        "received_at": received_at,
        "received_by": who[:100],
    }
    try:
        with engine.begin() as connection:
            event_id = connection.execute(
                insert(RunEvent).values(**values).returning(RunEvent.id)
            ).scalar_one()
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"event {event!r} started run {run.id}, but storing the event failed: {exc}"
        ) from exc
    stored = EventRecord(event_id, event, payload, deployment, run.id, parameters, received_at, who)
    return stored, run, ignored


def _parameters(runs: Runs, deployment: str) -> set[str]:
    with runs._client() as c:
        found = runs._deployment(c, deployment)
    return set((found.parameter_openapi_schema or {}).get("properties", {}))


def recent_events(engine: Engine, limit: int = 50) -> list[EventRecord]:
    """The newest stored events first."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(RunEvent).order_by(RunEvent.id.desc()).limit(limit)).all()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"reading run events failed: {exc.__class__.__name__}") from exc
    return [
        EventRecord(
            r.id,
            r.event,
            json.loads(r.payload),
            r.deployment,
            r.flow_run_id,
            json.loads(r.parameters),
            r.received_at if r.received_at.tzinfo else r.received_at.replace(tzinfo=UTC),
            r.received_by,
        )
        for r in rows
    ]
