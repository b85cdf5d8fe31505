"""What the runs commands, the API and the control room show: runs, log lines, schedules.

Structured log lines: a flow logs `with_fields("trained v3", weighted_f1=0.82)`, which Prefect
stores as `trained v3 | {"weighted_f1": 0.82}`; reading it back gives the message and the fields.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

STARTED_BY = "started-by:"
RETRY_OF = "retry-of:"
EVENT_TAG = "event:"
FINAL_TYPES = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
_FIELDS = re.compile(r"^(?P<message>.*?) \| (?P<fields>\{.*\})$", re.DOTALL)


class RunRecord(BaseModel):
    """One flow run as `runs list` and `GET /runs` show it."""

    id: str
    name: str
    flow: str
    deployment: str | None  # flow/name, None for a run started without a deployment (the CLI)
    state: str  # as Prefect names it: Running, Completed, Failed, Cancelled, Late, ...
    state_type: str  # RUNNING, COMPLETED, ...
    message: str | None = None
    started: datetime | None
    ended: datetime | None
    expected_start: datetime | None = None
    duration_s: float | None
    parameters: dict[str, Any] = Field(default_factory=dict)
    started_by: str
    retry_of: str | None = None
    tags: list[str] = Field(default_factory=list)

    @property
    def final(self) -> bool:
        """Whether the run has ended (completed, failed, cancelled or crashed)."""
        return self.state_type in FINAL_TYPES


class LogLine(BaseModel):
    """One log line: time, level, source (flow or task), message, and the fields it carried."""

    id: str
    time: datetime
    level: str
    source: str
    message: str
    fields: dict[str, Any] = Field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON line: time, level, source, message, then the fields at top level."""
        base = {"time": self.time.isoformat(), "level": self.level, "source": self.source}
        return {**base, "message": self.message, **{k: v for k, v in self.fields.items() if k not in base}}

    def as_text(self) -> str:
        """`2026-12-01T09:00:01Z INFO    train_model  message key=value`."""
        extra = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in self.fields.items())
        stamp = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return f"{stamp} {self.level:<8} {self.source}  {self.message}" + (f"  {extra}" if extra else "")


class ScheduleRecord(BaseModel):
    """One schedule of a deployment: cron (with timezone) or interval, active or paused, next runs."""

    id: str
    cron: str | None = None
    timezone: str | None = None
    interval: float | None = None  # seconds
    active: bool
    next: list[datetime] = Field(default_factory=list)
    slug: str | None = None  # a named schedule (an app's retraining), replaced by name
    parameters: dict[str, Any] = Field(default_factory=dict)  # what its runs get beyond the defaults


class DeploymentSchedules(BaseModel):
    """`schedules ...`: a deployment and its schedules."""

    deployment: str
    schedules: list[ScheduleRecord]


def with_fields(message: str, **fields: Any) -> str:
    """A log message carrying structured fields (rows, scores) that `runs logs` gives back as JSON keys."""
    if not fields:
        return message
    return f"{message} | {json.dumps(fields, ensure_ascii=False, default=str, sort_keys=True)}"


def split_fields(message: str) -> tuple[str, dict[str, Any]]:
    """The message and its fields, for a message written with `with_fields`."""
    found = _FIELDS.match(message)
    if found is None:
        return message, {}
    try:
        fields = json.loads(found.group("fields"))
    except ValueError:
        return message, {}
    return (found.group("message"), fields) if isinstance(fields, dict) else (message, {})


def level_name(level: int) -> str:
    """INFO, WARNING, ... for a numeric logging level."""
    return logging.getLevelName(level) if isinstance(level, int) else str(level)


def started_by(tags: list[str], auto_scheduled: bool, created_by: Any, deployment: str | None) -> str:
    """Who or what started a run: user, schedule, event:NAME, assistant, cli, retry, automation."""
    for tag in tags:
        if tag.startswith(STARTED_BY):
            return tag.removeprefix(STARTED_BY)
    if auto_scheduled:
        return "schedule"
    kind = str(getattr(created_by, "type", "") or "").lower()
    if kind == "automation":
        return "automation"
    return "user" if deployment else "cli"


def tag_value(tags: list[str], prefix: str) -> str | None:
    """The value of the first `prefix...` tag."""
    return next((tag.removeprefix(prefix) for tag in tags if tag.startswith(prefix)), None)


def run_record(run: Any, flow: str, deployment: str | None) -> RunRecord:
    """A RunRecord from Prefect's FlowRun."""
    state = run.state
    tags = list(run.tags or [])
    start, end = run.start_time, run.end_time
    duration: float | None = None
    if start is not None:
        duration = round(((end or datetime.now(UTC)) - start).total_seconds(), 3)
    return RunRecord(
        id=str(run.id),
        name=run.name,
        flow=flow,
        deployment=deployment,
        state=state.name if state is not None else "Pending",
        state_type=state.type.value if state is not None else "PENDING",
        message=(state.message or None) if state is not None else None,
        started=start,
        ended=end,
        expected_start=run.expected_start_time,
        duration_s=duration,
        parameters=dict(run.parameters or {}),
        started_by=started_by(tags, bool(run.auto_scheduled), run.created_by, deployment),
        retry_of=tag_value(tags, RETRY_OF),
        tags=tags,
    )


def log_line(log: Any, source: str) -> LogLine:
    """A LogLine from Prefect's Log."""
    message, fields = split_fields(str(log.message))
    return LogLine(
        id=str(log.id),
        time=log.timestamp,
        level=level_name(log.level),
        source=source,
        message=message,
        fields=fields,
    )
