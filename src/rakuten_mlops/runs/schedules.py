"""Schedules of the deployments, kept in the Prefect server: cron with a timezone, or an interval.

A cron is checked before anything is sent (five fields, each in range, a known timezone) and a
refusal names the field; `preview()` gives the next run times, the same ones the server's
scheduler will create.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from rakuten_mlops.errors import DataError
from rakuten_mlops.runs.records import DeploymentSchedules, ScheduleRecord
from rakuten_mlops.runs.service import Runs

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
PREVIEW = 5
MIN_INTERVAL_S = 10.0


def check_timezone(timezone: str | None) -> str:
    """The timezone, or a DataError saying it is not an IANA name."""
    name = (timezone or "UTC").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(f"unknown timezone {name!r}: use an IANA name such as UTC or Europe/Paris") from None
    return name


def check_cron(cron: str) -> str:
    """The cron expression, or a DataError naming what is wrong with it."""
    expression = " ".join(cron.split())
    fields = expression.split(" ") if expression else []
    if len(fields) != len(FIELDS):
        raise DataError(f"invalid cron {cron!r}: expected 5 fields ({', '.join(FIELDS)}), got {len(fields)}")
    if any(part.upper() in {"R", "H"} for part in fields):
        raise DataError(f"invalid cron {cron!r}: random (R) and hashed (H) fields are not supported")
    try:
        CronSim(expression, datetime.now(UTC))
    except CronSimError as exc:
        raise DataError(f"invalid cron {cron!r}: {_reason(str(exc))}") from None
    return expression


def _reason(message: str) -> str:
    """cronsim's "Bad minute" as a sentence."""
    lowered = message.lower()
    for name in FIELDS:
        if name.replace(" ", "-") in lowered or name in lowered:
            return f"the {name} field is out of range or malformed"
    return message


def check_interval(seconds: float) -> float:
    """The interval, or a DataError when it is too short to be meant."""
    if seconds < MIN_INTERVAL_S:
        raise DataError(f"invalid interval {seconds:g} s: the shortest interval is {MIN_INTERVAL_S:g} s")
    return float(seconds)


def preview(
    cron: str | None = None,
    timezone: str | None = None,
    interval: float | None = None,
    anchor: datetime | None = None,
    start: datetime | None = None,
    count: int = PREVIEW,
) -> list[datetime]:
    """The next `count` run times of a cron (in its timezone) or of an interval (from its anchor)."""
    now = start or datetime.now(UTC)
    if cron is not None:
        zone = ZoneInfo(check_timezone(timezone))
        times = CronSim(check_cron(cron), now.astimezone(zone))
        return [next(times) for _ in range(count)]
    if interval is None:
        raise DataError("a schedule needs a cron or an interval")
    step = timedelta(seconds=check_interval(interval))
    first = anchor or datetime(2020, 1, 1, tzinfo=UTC)
    k = max(0, int((now - first) / step) + 1)
    return [first + step * (k + i) for i in range(count)]


def _record(schedule: Any) -> ScheduleRecord:
    inner = schedule.schedule
    cron = getattr(inner, "cron", None)
    interval = getattr(inner, "interval", None)
    record = ScheduleRecord(
        id=str(schedule.id),
        cron=cron,
        timezone=getattr(inner, "timezone", None) if cron else None,
        interval=interval.total_seconds() if interval is not None else None,
        active=bool(schedule.active),
        slug=getattr(schedule, "slug", None),
        parameters=dict(getattr(schedule, "parameters", None) or {}),
    )
    if schedule.active and (cron or interval is not None):
        record.next = preview(cron, record.timezone, record.interval, getattr(inner, "anchor_date", None))
    return record


class Schedules:
    """List, set, pause, resume and delete the schedules of the server's deployments."""

    def __init__(self, runs: Runs) -> None:
        self._runs = runs

    def _schedule_object(self, cron: str | None, timezone: str | None, interval: float | None) -> Any:
        from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
        from pydantic import ValidationError

        if (cron is None) == (interval is None):
            raise DataError("give either a cron (--cron) or an interval in seconds (--interval), not both")
        try:
            if cron is not None:
                return CronSchedule(cron=check_cron(cron), timezone=check_timezone(timezone))
            return IntervalSchedule(interval=timedelta(seconds=check_interval(interval or 0)), timezone="UTC")
        except ValidationError as exc:  # what Prefect's own checks refuse beyond ours
            raise DataError(f"invalid schedule: {exc.errors()[0]['msg']}") from None

    def of(self, deployment: str | None = None) -> list[DeploymentSchedules]:
        """Each deployment (or the one named) with its schedules and their next run times."""
        names = [deployment] if deployment else [d.name for d in self._runs.deployments()]
        return [self.show(name) for name in names]

    def show(self, deployment: str) -> DeploymentSchedules:
        """One deployment's schedules."""
        with self._runs._client() as c:
            found = self._runs._deployment(c, deployment)
            schedules = c.read_deployment_schedules(found.id)
            full = f"{c.read_flow(found.flow_id).name}/{found.name}"
        return DeploymentSchedules(deployment=full, schedules=[_record(s) for s in schedules])

    @staticmethod
    def _full_name(deployment: str) -> str:
        from rakuten_mlops.runs.catalog import full_name

        return full_name(deployment)

    def set(
        self,
        deployment: str,
        cron: str | None = None,
        timezone: str | None = None,
        interval: float | None = None,
        schedule_id: str | None = None,
        add: bool = False,
    ) -> DeploymentSchedules:
        """Replace the deployment's unnamed schedules with this one (or edit `schedule_id`, or `add` another)."""
        schedule = self._schedule_object(cron, timezone, interval)
        with self._runs._client() as c:
            found = self._runs._deployment(c, deployment)
            existing = c.read_deployment_schedules(found.id)
            if schedule_id is not None:
                target = self._one(existing, schedule_id, deployment)
                c.update_deployment_schedule(found.id, target.id, schedule=schedule, active=True)
            else:
                if not add:  # a named schedule (an app's) is kept: it is replaced by its name (`put`)
                    for old in existing:
                        if not getattr(old, "slug", None):
                            c.delete_deployment_schedule(found.id, old.id)
                c.create_deployment_schedules(found.id, [(schedule, True)])
        return self.show(deployment)

    def put(
        self, deployment: str, slug: str, cron: str, parameters: dict[str, Any], timezone: str = "UTC"
    ) -> DeploymentSchedules:
        """Create or replace the schedule named `slug`, whose runs get `parameters`; the others stay."""
        schedule = self._schedule_object(cron, timezone, None)
        with self._runs._client() as c:
            found = self._runs._deployment(c, deployment)
            for old in c.read_deployment_schedules(found.id):
                if getattr(old, "slug", None) == slug:
                    c.delete_deployment_schedule(found.id, old.id)
            c.create_deployment_schedules(found.id, [(schedule, True)], parameters=parameters, slug=slug)
        return self.show(deployment)

    def drop(self, deployment: str, slug: str) -> DeploymentSchedules:
        """Delete the schedule named `slug`, if the deployment has one; the others stay."""
        with self._runs._client() as c:
            found = self._runs._deployment(c, deployment)
            for old in c.read_deployment_schedules(found.id):
                if getattr(old, "slug", None) == slug:
                    c.delete_deployment_schedule(found.id, old.id)
        return self.show(deployment)

    def set_active(
        self, deployment: str, active: bool, schedule_id: str | None = None
    ) -> DeploymentSchedules:
        """Pause (active=False) or resume every schedule of a deployment, or only `schedule_id`."""
        with self._runs._client() as c:
            found = self._runs._deployment(c, deployment)
            existing = c.read_deployment_schedules(found.id)
            targets = [self._one(existing, schedule_id, deployment)] if schedule_id else existing
            if not targets:
                raise DataError(f"deployment {self._full_name(deployment)!r} has no schedule")
            for target in targets:
                c.update_deployment_schedule(found.id, target.id, active=active)
        return self.show(deployment)

    def delete(self, deployment: str, schedule_id: str | None = None) -> DeploymentSchedules:
        """Delete one schedule, or every schedule of the deployment."""
        with self._runs._client() as c:
            found = self._runs._deployment(c, deployment)
            existing = c.read_deployment_schedules(found.id)
            targets = [self._one(existing, schedule_id, deployment)] if schedule_id else existing
            for target in targets:
                c.delete_deployment_schedule(found.id, target.id)
        return self.show(deployment)

    def _one(self, existing: list[Any], schedule_id: str, deployment: str) -> Any:
        from rakuten_mlops.runs.errors import RunNotFoundError

        try:
            wanted = uuid.UUID(schedule_id)
        except ValueError:
            raise RunNotFoundError(
                f"schedule id {schedule_id!r} is not a UUID (see `schedules list`)"
            ) from None
        for schedule in existing:
            if schedule.id == wanted:
                return schedule
        raise RunNotFoundError(f"deployment {self._full_name(deployment)!r} has no schedule {schedule_id}")
