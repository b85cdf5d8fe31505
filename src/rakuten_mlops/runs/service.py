"""`Runs`: every flow run of the stack's Prefect server, and what a user does with one.

The CLI (`rakuten-mlops runs ...`), the API (`/runs`) and the control room (Runs page) all go
through this class, so a run looks and behaves the same everywhere.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel, Field

from rakuten_mlops.errors import DataError
from rakuten_mlops.runs import catalog
from rakuten_mlops.runs.connect import check_server, client
from rakuten_mlops.runs.errors import PrefectUnavailableError, RunConflictError, RunNotFoundError
from rakuten_mlops.runs.records import (
    RETRY_OF,
    STARTED_BY,
    LogLine,
    RunRecord,
    log_line,
    run_record,
)
from rakuten_mlops.runs.stopping import WorkProcess, run_processes, settle_mlflow, stop_processes

log = logging.getLogger(__name__)
RETRYABLE = {"FAILED", "CANCELLED", "CRASHED"}
NOT_STARTED = {"SCHEDULED", "PENDING", "PAUSED"}
SUMMARY = {
    "running": {"RUNNING", "PENDING", "CANCELLING"},
    "completed": {"COMPLETED"},
    "failed": {"FAILED", "CRASHED"},
    "cancelled": {"CANCELLED"},
}
# Logs reach the server in batches (PREFECT_LOGGING_TO_API_BATCH_INTERVAL): keep reading this long after the end.
DRAIN_SECONDS = 3.0
LOG_PAGE = 200


class DeploymentRecord(BaseModel):
    """A deployment on the server: its name, what it runs and with which parameters."""

    name: str  # flow/name
    flow: str
    description: str | None
    parameters: dict[str, Any] = Field(default_factory=dict)  # the flow's defaults and the deployment's own
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    schedules: int = 0
    paused: bool = False


def settle_side_effects(flow_run_ids: list[str], tracking_uri: str) -> dict[str, list[str]]:
    """MLflow runs of these flow runs KILLED, their model versions deleted, a moved champion restored."""
    try:
        return settle_mlflow(flow_run_ids, tracking_uri)
    except Exception as exc:  # MLflow down: the run is stopped all the same; say so in the logs
        log.error("settling the MLflow runs of %s on %s failed: %s", flow_run_ids, tracking_uri, exc)
        return {"killed": [], "deleted_versions": []}


def _uuid(run_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(run_id))
    except ValueError:
        raise RunNotFoundError(
            f"no run with id {run_id!r}: a run id is a UUID (see `rakuten-mlops runs list`)"
        ) from None


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """`K=V` pairs into parameters; V is read as JSON when it parses (300, true, ["a"]), else as text."""
    import json

    found: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DataError(f"--param {pair!r}: expected NAME=VALUE, for example rows=300")
        try:
            found[key.strip()] = json.loads(value)
        except ValueError:
            found[key.strip()] = value
    return found


class Runs:
    """Flow runs, logs, start, retry and cancel on one Prefect server (`api_url`; None: the local one)."""

    def __init__(self, api_url: str | None, tracking_uri: str, grace: float = 3.0) -> None:
        self.api_url = api_url.rstrip("/") if api_url else None
        self.tracking_uri = tracking_uri
        self.grace = grace

    # ------------------------------------------------------------ plumbing

    def _client(self) -> Any:
        if self.api_url is not None:
            check_server(self.api_url)
        return client(self.api_url)

    def _where(self) -> str:
        return self.api_url or "the local Prefect server"

    def _read(self, c: Any, run_id: str) -> Any:
        from prefect.exceptions import ObjectNotFound

        try:
            return c.read_flow_run(_uuid(run_id))
        except ObjectNotFound:
            raise RunNotFoundError(f"no run with id {run_id} on {self._where()}") from None

    def _names(self, c: Any, runs: list[Any]) -> tuple[dict[Any, str], dict[Any, str]]:
        flows = {fid: c.read_flow(fid).name for fid in {r.flow_id for r in runs}}
        deployments: dict[Any, str] = {}
        for did in {r.deployment_id for r in runs if r.deployment_id is not None}:
            try:
                found = c.read_deployment(did)
            except Exception:  # deleted since: the run stays listed without its deployment's name
                continue
            deployments[did] = f"{flows.get(found.flow_id) or c.read_flow(found.flow_id).name}/{found.name}"
        return flows, deployments

    def _records(self, c: Any, runs: list[Any]) -> list[RunRecord]:
        flows, deployments = self._names(c, runs)
        return [run_record(r, flows[r.flow_id], deployments.get(r.deployment_id)) for r in runs]

    # ------------------------------------------------------------ reading

    def search(
        self,
        state: str | None = None,
        flow: str | None = None,
        since_hours: float | None = None,
        limit: int = 200,
    ) -> list[RunRecord]:
        """Runs newest first; `state` as Prefect names it (Running, Failed, ...), `flow` a flow name."""
        from prefect.client.schemas.filters import (
            FlowFilter,
            FlowFilterName,
            FlowRunFilter,
            FlowRunFilterExpectedStartTime,
            FlowRunFilterState,
            FlowRunFilterStateName,
        )
        from prefect.client.schemas.sorting import FlowRunSort

        now = datetime.now(UTC)
        after: Any = now - timedelta(hours=since_hours) if since_hours is not None else None
        # Runs the scheduler created ahead of time are listed only when asked for by state.
        upcoming = bool(state) and str(state).lower() in {"scheduled", "late"}
        before: Any = None if upcoming else now + timedelta(seconds=5)
        run_filter = FlowRunFilter(
            expected_start_time=FlowRunFilterExpectedStartTime(after_=after, before_=before),
            state=FlowRunFilterState(name=FlowRunFilterStateName(any_=[_state_name(state)]))
            if state
            else None,
        )
        flow_filter = FlowFilter(name=FlowFilterName(any_=[flow])) if flow else None
        with self._client() as c:
            found = c.read_flow_runs(
                flow_filter=flow_filter,
                flow_run_filter=run_filter,
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=limit,
            )
            return self._records(c, list(found))

    def show(self, run_id: str) -> RunRecord:
        """One run."""
        with self._client() as c:
            return self._records(c, [self._read(c, run_id)])[0]

    def logs(self, run_id: str, since: datetime | None = None, limit: int = 10_000) -> list[LogLine]:
        """A run's log lines (and its subflows'), oldest first, from `since` on (inclusive)."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterTimestamp
        from prefect.client.schemas.sorting import LogSort

        with self._client() as c:
            run = self._read(c, run_id)
            family = self._family(c, str(run.id))
            log_filter = LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[uuid.UUID(i) for i in family]),
                timestamp=LogFilterTimestamp(after_=cast(Any, since)) if since is not None else None,
            )
            found: list[Any] = []
            while len(found) < limit:  # the server answers at most LOG_PAGE lines at a time
                page = c.read_logs(log_filter, limit=LOG_PAGE, offset=len(found), sort=LogSort.TIMESTAMP_ASC)
                found += page
                if len(page) < LOG_PAGE:
                    break
            sources = self._sources(c, family, found)
        return [
            log_line(entry, sources.get(entry.task_run_id or entry.flow_run_id, "flow")) for entry in found
        ]

    def _sources(self, c: Any, family: list[str], logs: list[Any]) -> dict[Any, str]:
        """Names of the flow runs and task runs the lines came from."""
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterId,
            TaskRunFilter,
            TaskRunFilterId,
        )
        from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

        sources: dict[Any, str] = {}
        runs = c.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(i) for i in family])),
            sort=FlowRunSort.ID_DESC,
            limit=len(family),
        )
        flows, _ = self._names(c, list(runs))
        sources.update({r.id: flows[r.flow_id] for r in runs})
        task_ids = list({entry.task_run_id for entry in logs if entry.task_run_id is not None})
        if task_ids:
            tasks = c.read_task_runs(
                task_run_filter=TaskRunFilter(id=TaskRunFilterId(any_=task_ids)),
                sort=TaskRunSort.ID_DESC,
                limit=len(task_ids),
            )
            sources.update({t.id: t.name for t in tasks})
        return sources

    def _family(self, c: Any, run_id: str) -> list[str]:
        """The run and its subflow runs, at any depth."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
        from prefect.client.schemas.sorting import FlowRunSort

        family, frontier = [run_id], [run_id]
        while frontier:
            children = c.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[uuid.UUID(i) for i in frontier])
                ),
                sort=FlowRunSort.ID_DESC,
                limit=200,
            )
            frontier = [str(r.id) for r in children if str(r.id) not in family]
            family += frontier
        return family

    def follow(self, run_id: str, poll: float = 0.5) -> Iterator[LogLine]:
        """A run's log lines as they arrive, until the run has ended and its last lines are in."""
        seen: set[str] = set()
        since: datetime | None = None
        ended_at: float | None = None
        while True:
            for line in self.logs(run_id, since):
                if line.id not in seen:
                    seen.add(line.id)
                    since = line.time if since is None or line.time > since else since
                    yield line
            if ended_at is None and self.show(run_id).final:
                ended_at = time.monotonic()
            if ended_at is not None and time.monotonic() - ended_at > DRAIN_SECONDS:
                return
            time.sleep(poll)

    def summary(self, hours: float = 24.0) -> dict[str, int]:
        """How many runs of the last `hours` are running, completed, failed and cancelled."""
        runs = self.search(since_hours=hours, limit=1_000)
        counts = {key: sum(r.state_type in types for r in runs) for key, types in SUMMARY.items()}
        return {**counts, "total": len(runs)}

    def deployments(self) -> list[DeploymentRecord]:
        """Every deployment on the server, by name."""
        from prefect.client.schemas.sorting import DeploymentSort

        with self._client() as c:
            found = c.read_deployments(limit=200, sort=DeploymentSort.NAME_ASC)
            flows = {fid: c.read_flow(fid).name for fid in {d.flow_id for d in found}}
        records = []
        for d in found:
            schema = dict(d.parameter_openapi_schema or {})
            defaults = {k: v["default"] for k, v in schema.get("properties", {}).items() if "default" in v}
            records.append(
                DeploymentRecord(
                    name=f"{flows[d.flow_id]}/{d.name}",
                    flow=flows[d.flow_id],
                    description=d.description,
                    parameters={**defaults, **(d.parameters or {})},
                    schema=schema,
                    schedules=len(d.schedules or []),
                    paused=bool(d.paused),
                )
            )
        return sorted(records, key=lambda r: r.name)

    # ------------------------------------------------------------ acting

    def _deployment(self, c: Any, name: str) -> Any:
        from prefect.exceptions import ObjectNotFound

        full = catalog.full_name(name)
        if "/" not in full:
            full = self._only_deployment_of(c, full)
        try:
            return c.read_deployment_by_name(full)
        except ObjectNotFound:
            raise RunNotFoundError(
                f"deployment {full!r} is not registered on {self._where()}; the deployments process serves "
                "them (rakuten-mlops up, or python -m flows.deployments)"
            ) from None

    def _only_deployment_of(self, c: Any, flow: str) -> str:
        """`flow/name` of a flow's one deployment; a flow with none or several must be named in full."""
        from prefect.client.schemas.filters import FlowFilter, FlowFilterName
        from prefect.client.schemas.sorting import DeploymentSort

        found = c.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])), limit=50, sort=DeploymentSort.NAME_ASC
        )
        if len(found) != 1:
            names = ", ".join(sorted(f"{flow}/{d.name}" for d in found)) or "none"
            raise RunNotFoundError(
                f"deployment {flow!r}: give FLOW/NAME (for example {catalog.TRAINING}); this flow's deployments: {names}"
            )
        return f"{flow}/{found[0].name}"

    def start(
        self,
        deployment: str,
        parameters: Mapping[str, Any] | None = None,
        started_by: str = "user",
        tags: tuple[str, ...] = (),
    ) -> RunRecord:
        """Start a run of `deployment` (flow/name, or a project flow's name) with these parameters."""
        from prefect.exceptions import PrefectHTTPStatusError

        parameters = dict(parameters or {})
        with self._client() as c:
            found = self._deployment(c, deployment)
            known = set((found.parameter_openapi_schema or {}).get("properties", {}))
            unknown = sorted(set(parameters) - known)
            if unknown:
                raise DataError(
                    f"deployment {catalog.full_name(deployment)!r} has no parameter {unknown[0]!r}; "
                    f"its parameters are {', '.join(sorted(known)) or 'none'}"
                )
            try:
                run = c.create_flow_run_from_deployment(
                    found.id, parameters=parameters, tags=[f"{STARTED_BY}{started_by}", *tags]
                )
            except PrefectHTTPStatusError as exc:
                raise DataError(_server_detail(exc, f"starting {catalog.full_name(deployment)}")) from None
            return self._records(c, [run])[0]

    def retry(self, run_id: str, started_by: str = "user") -> RunRecord:
        """A new run of a failed, crashed or cancelled run's deployment, with the same parameters."""
        old = self.show(run_id)
        if old.state_type not in RETRYABLE:
            raise RunConflictError(
                f"run {run_id} is {old.state}; only a failed, crashed or cancelled run can be retried"
            )
        spec = catalog.find(old.flow)
        deployment = old.deployment or (spec.full_name if spec is not None else None)
        if deployment is None:
            raise RunConflictError(
                f"run {run_id} of flow {old.flow!r} has no deployment to start again; run it the way it was started"
            )
        return self.start(deployment, old.parameters, started_by, (f"{RETRY_OF}{old.id}",))

    def cancel(self, run_id: str, who: str = "user", wait: float = 20.0) -> RunRecord:
        """Stop a run: its processes are gone, its MLflow runs KILLED, its state Cancelled.

        On the run's own host the canceller stops the processes itself; elsewhere Prefect's runner
        does (and the flow's cancellation hook cleans up), and this waits up to `wait` seconds.
        """
        from prefect.states import Cancelling

        message = f"cancelled by {who}"
        with self._client() as c:
            run = self._read(c, run_id)
            state = run.state.type.value if run.state is not None else "PENDING"
            if state in {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}:
                raise RunConflictError(
                    f"run {run_id} is already {run.state.name}; there is nothing to cancel"
                )
            family = self._family(c, str(run.id))
            result = c.set_flow_run_state(run.id, Cancelling(message=message), force=state == "PENDING")
            if result.state is not None and result.state.is_cancelled():
                return self.show(run_id)  # never started: Prefect cancelled it at once
        work = WorkProcess.parse(run.infrastructure_pid)
        if (work is not None and work.local) or run_processes(str(run.id), work):
            stop_processes(str(run.id), work, self.grace)
            return self._finish(family, message)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            current = self.show(run_id)
            if current.final:
                settle_side_effects(family, self.tracking_uri)
                return current
            time.sleep(0.5)
        if work is None:  # no process was ever recorded: nothing runs it, so nothing can stop it but us
            return self._finish(family, message)
        return self.show(run_id)

    def _finish(self, family: list[str], message: str) -> RunRecord:
        """After the processes are gone: mark the run and its subflows Cancelled, then settle MLflow."""
        from prefect.states import Cancelled

        with self._client() as c:
            for member in family:
                current = c.read_flow_run(uuid.UUID(member))
                if current.state is None or not current.state.is_final() or current.state.is_crashed():
                    c.set_flow_run_state(current.id, Cancelled(message=message), force=True)
        settle_side_effects(family, self.tracking_uri)
        return self.show(family[0])


def _state_name(state: str) -> str:
    """Prefect's spelling of a state name given in any case (running -> Running)."""
    return state.strip().capitalize()


def _server_detail(exc: Exception, what: str) -> str:
    response = getattr(exc, "response", None)
    detail: Any = None
    try:
        detail = response.json().get("detail") if response is not None else None
    except ValueError:
        detail = None
    return f"{what} was refused by the Prefect server: {detail or exc}"


__all__ = ["DeploymentRecord", "PrefectUnavailableError", "Runs", "parse_parameters", "settle_side_effects"]
