"""Runs routes: flow runs, their logs (also live, as Server-Sent Events), cancel, retry, events.

Reading is open like the rest of the API; starting, cancelling, retrying and events need the
operator role, and each is written to the audit log with who asked and what came of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from rakuten_mlops.auth.audit import record
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.errors import DatabaseError, DataError, MlopsError
from rakuten_mlops.runs.errors import PrefectUnavailableError, RunConflictError, RunNotFoundError
from rakuten_mlops.runs.records import LogLine, RunRecord
from rakuten_mlops.runs.service import DRAIN_SECONDS, Runs
from rakuten_mlops.serving.deps import OperatorUser, SettingsDep

log = logging.getLogger(__name__)
runs_router = APIRouter(tags=["runs"])
RUN_ID = Annotated[str, Path(max_length=64, description="The run's id (a UUID).")]
STREAM_POLL_S = 0.5
ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "no such run or deployment"},
    503: {"description": "the Prefect server is not configured or does not answer"},
}
T = TypeVar("T")


class LogFormat(StrEnum):
    json = "json"
    jsonl = "jsonl"
    text = "text"


class RunList(BaseModel):
    runs: list[RunRecord]


class RunAction(BaseModel):
    """What `cancel`, `retry` and `start` answer."""

    id: str
    state: str
    retry_of: str | None = None


class StartRequest(BaseModel):
    deployment: str = Field(max_length=200, examples=["training-pipeline/on-demand"])
    parameters: dict[str, Any] = Field(default_factory=dict)


class EventRequest(BaseModel):
    event: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$", examples=["dataset.uploaded"]
    )
    payload: dict[str, Any] = Field(default_factory=dict)


class EventOut(BaseModel):
    id: int
    event: str
    deployment: str
    flow_run_id: str
    parameters: dict[str, Any]
    payload: dict[str, Any]
    received_at: datetime
    received_by: str
    ignored: list[str] = Field(default_factory=list)
    run: RunRecord | None = None


def get_runs(request: Request, settings: SettingsDep) -> Runs:
    """The Runs service of this app, built on first use from PREFECT_API_URL (or the running stack)."""
    found: Runs | None = getattr(request.app.state, "runs", None)
    if found is None:
        from rakuten_mlops.runs.connect import prefect_url

        url = prefect_url(settings.mlops_home)
        if url is None:
            raise HTTPException(503, "no Prefect server is configured for the API: set PREFECT_API_URL")
        found = request.app.state.runs = Runs(url, settings.tracking_uri)
    return found


RunsDep = Annotated[Runs, Depends(get_runs)]


def _http(exc: MlopsError) -> HTTPException:
    if isinstance(exc, RunNotFoundError):
        return HTTPException(404, str(exc))
    if isinstance(exc, RunConflictError):
        return HTTPException(409, str(exc))
    if isinstance(exc, DataError):
        return HTTPException(422, str(exc))
    if isinstance(exc, PrefectUnavailableError | DatabaseError):
        log.error("runs route: %s", exc)
        return HTTPException(
            503, str(exc) if isinstance(exc, PrefectUnavailableError) else "the database is unavailable"
        )
    log.error("runs route: %s", exc)
    return HTTPException(503, f"the run service failed: {exc}")


async def _call(work: Callable[[], T]) -> T:
    """Run a blocking call of the Runs service in a worker thread; its errors become 4xx/503."""
    from prefect.exceptions import PrefectHTTPStatusError

    try:
        return await to_thread.run_sync(work)
    except MlopsError as exc:
        raise _http(exc) from None
    except PrefectHTTPStatusError as exc:  # the server refused a call this API should not have made
        log.error("runs route: the Prefect server refused a call: %s", exc)
        raise HTTPException(503, "the Prefect server refused a call; the API's log says why") from None


async def _audited(
    request: Request, who: Principal, action: str, arguments: dict[str, Any], work: Callable[[], T]
) -> T:
    """`_call`, with the outcome written to the audit log (when this API has a database)."""
    engine = request.app.state.service.engine
    try:
        result = await _call(work)
    except HTTPException as exc:
        if engine is not None:
            outcome = f"failed: {exc.status_code} {exc.detail}"
            await to_thread.run_sync(record, engine, who, action, arguments, outcome)
        raise
    if engine is not None:
        await to_thread.run_sync(record, engine, who, action, arguments, "ok")
    return result


@runs_router.get("/runs", response_model=RunList, responses=ERRORS)
async def list_runs(
    runs: RunsDep,
    state: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z]+$")] = None,
    flow: Annotated[str | None, Query(max_length=100)] = None,
    since_hours: Annotated[float | None, Query(ge=0, le=24 * 366)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RunList:
    """Flow runs newest first, filtered by state (Running, Failed, ...), flow and age."""
    return RunList(runs=await _call(lambda: runs.search(state, flow, since_hours, limit)))


@runs_router.get("/runs/summary", responses=ERRORS)
async def runs_summary(
    runs: RunsDep, hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0
) -> dict[str, int]:
    """How many runs of the last hours are running, completed, failed and cancelled."""
    return await _call(lambda: runs.summary(hours))


@runs_router.get("/runs/{run_id}", response_model=RunRecord, responses=ERRORS)
async def show_run(runs: RunsDep, run_id: RUN_ID) -> RunRecord:
    """One run."""
    return await _call(lambda: runs.show(run_id))


@runs_router.get("/runs/{run_id}/logs", responses=ERRORS)
async def run_logs(
    runs: RunsDep, run_id: RUN_ID, format: Annotated[LogFormat, Query()] = LogFormat.json
) -> Response:
    """A run's log lines: `json` ({"logs": [...]}), `jsonl` (one object a line) or `text`."""
    lines = await _call(lambda: runs.logs(run_id))
    if format is LogFormat.text:
        return PlainTextResponse("".join(line.as_text() + "\n" for line in lines))
    if format is LogFormat.jsonl:
        body = "".join(json.dumps(line.as_json(), ensure_ascii=False, default=str) + "\n" for line in lines)
        return Response(body, media_type="application/x-ndjson")
    return Response(
        json.dumps({"logs": [line.as_json() for line in lines]}, ensure_ascii=False, default=str),
        media_type="application/json",
    )


async def _stream(runs: Runs, run_id: str, request: Request) -> AsyncIterator[ServerSentEvent]:
    """`log` events as lines arrive, `state` when the run's state changes, `end` once it ended.

    A failure while following (the server went away) ends the stream with an `error` event.
    """
    try:
        async for event in _events(runs, run_id, request):
            yield event
    except Exception as exc:
        log.error("following the logs of run %s failed: %s", run_id, exc)
        yield ServerSentEvent(json.dumps({"error": f"following the run's logs failed: {exc}"}), event="error")


async def _events(runs: Runs, run_id: str, request: Request) -> AsyncIterator[ServerSentEvent]:
    seen: set[str] = set()
    since: datetime | None = None
    state: str | None = None
    ended_at: float | None = None
    loop = asyncio.get_running_loop()
    while not await request.is_disconnected():
        lines: list[LogLine] = await to_thread.run_sync(runs.logs, run_id, since)
        for line in lines:
            if line.id in seen:
                continue
            seen.add(line.id)
            since = line.time if since is None or line.time > since else since
            yield ServerSentEvent(
                json.dumps(line.as_json(), ensure_ascii=False, default=str), event="log", id=line.id
            )
        run = await to_thread.run_sync(lambda: runs.show(run_id))
        if run.state != state:
            state = run.state
            yield ServerSentEvent(run.model_dump_json(), event="state")
        if run.final and ended_at is None:
            ended_at = loop.time()
        if ended_at is not None and loop.time() - ended_at > DRAIN_SECONDS:
            yield ServerSentEvent(json.dumps({"id": run.id, "state": run.state}), event="end")
            return
        await asyncio.sleep(STREAM_POLL_S)


@runs_router.get("/runs/{run_id}/logs/stream", responses=ERRORS)
async def stream_logs(runs: RunsDep, run_id: RUN_ID, request: Request) -> EventSourceResponse:
    """The run's log lines as Server-Sent Events while it runs (`log`, `state`, then `end`)."""
    await _call(lambda: runs.show(run_id))  # an unknown run is a 404, not an empty stream
    return EventSourceResponse(_stream(runs, run_id, request), ping=10)


@runs_router.post("/runs", response_model=RunAction, responses=ERRORS, tags=["admin"])
async def start_run(who: OperatorUser, request: Request, runs: RunsDep, body: StartRequest) -> RunAction:
    """Start a run of a deployment with parameters (operator)."""
    arguments = {"deployment": body.deployment, "parameters": body.parameters}
    found = await _audited(
        request,
        who,
        "run_start",
        arguments,
        lambda: runs.start(body.deployment, body.parameters, started_by=who.name),
    )
    return RunAction(id=found.id, state=found.state)


@runs_router.post(
    "/runs/{run_id}/cancel",
    response_model=RunAction,
    responses=ERRORS,
    tags=["admin"],
)
async def cancel_run(who: OperatorUser, request: Request, runs: RunsDep, run_id: RUN_ID) -> RunAction:
    """Stop a run (operator): its processes end, its MLflow runs are KILLED, its state Cancelled."""
    found = await _audited(
        request, who, "run_cancel", {"run": run_id}, lambda: runs.cancel(run_id, who=who.name)
    )
    return RunAction(id=found.id, state=found.state)


@runs_router.post(
    "/runs/{run_id}/retry",
    response_model=RunAction,
    responses=ERRORS,
    tags=["admin"],
)
async def retry_run(who: OperatorUser, request: Request, runs: RunsDep, run_id: RUN_ID) -> RunAction:
    """Start a failed or cancelled run again with the same parameters (operator); the new run's id."""
    found = await _audited(
        request, who, "run_retry", {"run": run_id}, lambda: runs.retry(run_id, started_by=who.name)
    )
    return RunAction(id=found.id, state=found.state, retry_of=run_id)


def _engine(request: Request) -> Any:
    engine = request.app.state.service.engine
    if engine is None:
        raise HTTPException(503, "this API runs without a database; events cannot be stored")
    return engine


@runs_router.post("/events", response_model=EventOut, responses=ERRORS, tags=["admin"])
async def receive_event(
    who: OperatorUser, request: Request, runs: RunsDep, settings: SettingsDep, body: EventRequest
) -> EventOut:
    """Start the deployment mapped to the event (RUN_EVENTS) with the payload's parameters; store both."""
    from rakuten_mlops.runs.events import trigger

    engine = _engine(request)
    stored, run, ignored = await _audited(
        request,
        who,
        "events",
        {"event": body.event},
        lambda: trigger(runs, engine, settings.run_events, body.event, body.payload, who.name),
    )
    return EventOut(**{**stored.__dict__, "ignored": ignored, "run": run})


@runs_router.get("/events", responses={503: {"description": "database unavailable"}})
async def list_events(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, list[EventOut]]:
    """The newest events received, with the run each started."""
    from rakuten_mlops.runs.events import recent_events

    engine = _engine(request)
    found = await _call(lambda: recent_events(engine, limit))
    return {"events": [EventOut(**e.__dict__) for e in found]}
