"""The Runs page's manager: runs, schedules and events through the runs package; live logs from the API.

A followed run's log lines come from the API's Server-Sent Events stream
(`GET /runs/{id}/logs/stream`), read in a background thread into a buffer the page shows; when
the API cannot be reached the follower reads the Prefect server directly, every second.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from httpx_sse import connect_sse

from managers.guard import Guard
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.runs.records import DeploymentSchedules, LogLine, RunRecord
from rakuten_mlops.runs.schedules import Schedules, preview
from rakuten_mlops.runs.service import DeploymentRecord, Runs

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
COLOURS = {"DEBUG": "gray", "INFO": "blue", "WARNING": "orange", "ERROR": "red", "CRITICAL": "red"}


class LogFollower:
    """A run's log lines as they arrive, gathered by a background thread."""

    def __init__(self, run_id: str, stream: Callable[[Callable[[LogLine], None]], str]) -> None:
        self.run_id = run_id
        self.lines: list[LogLine] = []
        self.done = False
        self.error: str | None = None
        self.source = "api"
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, args=(stream,), daemon=True, name=f"logs-{run_id[:8]}"
        )
        self._thread.start()

    def _add(self, line: LogLine) -> None:
        with self._lock:
            if all(known.id != line.id for known in self.lines[-500:]):
                self.lines.append(line)

    def _run(self, stream: Callable[[Callable[[LogLine], None]], str]) -> None:
        try:
            self.source = stream(self._add)
        except Exception as exc:  # a dead follower says why on the page; the run goes on regardless
            self.error = f"following the logs stopped: {exc}"
        self.done = True

    def snapshot(self) -> list[LogLine]:
        """The lines so far, oldest first."""
        with self._lock:
            return list(self.lines)


class RunsManager:
    """Runs, schedules and events of the stack's Prefect server, and live logs of a run."""

    def __init__(
        self,
        runs: Runs | None,
        api_url: str,
        http: httpx.Client,
        events: Callable[[], list[Any]],
        guard: Guard | None = None,
    ) -> None:
        self._runs = runs
        self._guard = guard or Guard()
        self._api_url = api_url.rstrip("/")
        self._http = http
        self._events = events
        self._followers: dict[str, LogFollower] = {}

    @property
    def available(self) -> bool:
        """Whether a Prefect server is configured (runs need one)."""
        return self._runs is not None

    def _service(self) -> Runs:
        if self._runs is None:
            raise MlopsError(
                "runs need a Prefect server: start the stack (rakuten-mlops up) or set PREFECT_API_URL"
            )
        return self._runs

    def runs(
        self, state: str | None = None, flow: str | None = None, since_hours: float | None = 24.0
    ) -> list[RunRecord]:
        """Runs newest first."""
        return self._service().search(state or None, flow or None, since_hours)

    def run(self, run_id: str) -> RunRecord:
        return self._service().show(run_id)

    def summary(self, hours: float = 24.0) -> dict[str, int]:
        """Running, completed, failed, cancelled in the last `hours`."""
        return self._service().summary(hours)

    def deployments(self) -> list[DeploymentRecord]:
        return self._service().deployments()

    def start(self, deployment: str, parameters: dict[str, Any], actor: Principal) -> RunRecord:
        """Start a deployment as `actor` (operator), audited."""
        arguments = {"deployment": deployment, "parameters": parameters}
        return self._guard.run(
            actor,
            "run_start",
            arguments,
            lambda: self._service().start(deployment, parameters, started_by=actor.name),
        )

    def cancel(self, run_id: str, actor: Principal) -> RunRecord:
        """Stop a run as `actor` (operator), audited."""
        return self._guard.run(
            actor, "run_cancel", {"run": run_id}, lambda: self._service().cancel(run_id, who=actor.name)
        )

    def retry(self, run_id: str, actor: Principal) -> RunRecord:
        """Start a finished run again as `actor` (operator), audited."""
        return self._guard.run(
            actor,
            "run_retry",
            {"run": run_id},
            lambda: self._service().retry(run_id, started_by=actor.name),
        )

    def logs(self, run_id: str) -> list[LogLine]:
        return self._service().logs(run_id)

    def events(self) -> list[Any]:
        """Events received on POST /events, with the run each started."""
        return self._events()

    # ------------------------------------------------------------ schedules

    def schedules(self, deployment: str) -> DeploymentSchedules:
        return Schedules(self._service()).show(deployment)

    def set_schedule(
        self,
        deployment: str,
        cron: str | None,
        timezone: str,
        interval: float | None,
        schedule_id: str | None,
        actor: Principal,
    ) -> DeploymentSchedules:
        """Set a deployment's schedule as `actor` (admin), audited."""
        arguments = {"deployment": deployment, "cron": cron, "timezone": timezone, "interval": interval}
        return self._guard.run(
            actor,
            "schedule",
            arguments | {"id": schedule_id},
            lambda: Schedules(self._service()).set(deployment, cron, timezone, interval, schedule_id),
        )

    def set_active(
        self, deployment: str, schedule_id: str, active: bool, actor: Principal
    ) -> DeploymentSchedules:
        """Pause or resume one schedule as `actor` (admin), audited."""
        return self._guard.run(
            actor,
            "schedule",
            {"deployment": deployment, "id": schedule_id, "active": active},
            lambda: Schedules(self._service()).set_active(deployment, active, schedule_id),
        )

    def delete_schedule(self, deployment: str, schedule_id: str, actor: Principal) -> DeploymentSchedules:
        """Delete one schedule as `actor` (admin), audited."""
        return self._guard.run(
            actor,
            "schedule",
            {"deployment": deployment, "id": schedule_id, "deleted": True},
            lambda: Schedules(self._service()).delete(deployment, schedule_id),
        )

    @staticmethod
    def preview(cron: str | None, timezone: str, interval: float | None) -> list[datetime]:
        """The next five run times, before saving."""
        return preview(cron, timezone, interval)

    # ------------------------------------------------------------ live logs

    def follow(self, run_id: str) -> LogFollower:
        """The follower of a run's logs (one per run, started on first use)."""
        found = self._followers.get(run_id)
        if found is None or (found.done and found.error):
            found = self._followers[run_id] = LogFollower(run_id, lambda add: self._stream(run_id, add))
        return found

    def _stream(self, run_id: str, add: Callable[[LogLine], None]) -> str:
        """Read the API's SSE stream into `add`; fall back to polling the Prefect server."""
        try:
            with connect_sse(
                self._http,
                "GET",
                f"{self._api_url}/runs/{run_id}/logs/stream",
                timeout=httpx.Timeout(10.0, read=60.0),
            ) as source:
                source.response.raise_for_status()
                for event in source.iter_sse():
                    if event.event == "log":
                        add(_line({**json.loads(event.data), "id": event.id}))
                    elif event.event in {"end", "error"}:
                        return "api"
            return "api"
        except httpx.HTTPError:
            for line in self._service().follow(run_id, poll=1.0):
                add(line)
            return "prefect"


def _line(data: dict[str, Any]) -> LogLine:
    """A LogLine back from its JSON form (fields at top level)."""
    base = {"time", "level", "source", "message", "id"}
    return LogLine(
        id=str(data.get("id") or f"{data['time']}-{data['message']}"),
        time=datetime.fromisoformat(str(data["time"])),
        level=str(data["level"]),
        source=str(data["source"]),
        message=str(data["message"]),
        fields={k: v for k, v in data.items() if k not in base},
    )


def jsonl(lines: list[LogLine]) -> str:
    """Lines as JSON lines, for the download button."""
    return "".join(json.dumps(line.as_json(), ensure_ascii=False, default=str) + "\n" for line in lines)


def text(lines: list[LogLine]) -> str:
    """Lines as plain text, for the download button."""
    return "".join(line.as_text() + "\n" for line in lines)


def markdown(line: LogLine) -> str:
    """One line for st.markdown, its level coloured."""
    colour = COLOURS.get(line.level, "gray")
    extra = " ".join(f"`{k}={v}`" for k, v in line.fields.items())
    message = line.message.replace("[", "\\[")
    return f":{colour}[**{line.level}**] `{line.time:%H:%M:%S}` **{line.source}** {message} {extra}".rstrip()


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll `check` until it is true (tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
