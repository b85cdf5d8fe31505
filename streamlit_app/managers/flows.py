"""Prefect flows from the control room: deployments, runs, logs, and a trigger that works with or without a server.

With a Prefect server (`PREFECT_API_URL`), a trigger creates a flow run of the named deployment
and a worker (`python -m flows.deployments`) executes it. Without one, the deployment's own flow
runs in a child process (`python -m rakuten_mlops.runs.execute`) whose output is followed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from managers.base import ServiceStatus, probe_http, unavailable
from managers.guard import Guard
from managers.local_runs import LocalRunner, local_command
from managers.runs import INGEST, MONITORING, TRAINING, DeploymentInfo, FlowRunInfo
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.errors import DataError

# The role check of a trigger, by flow: training and ingestion change the catalogue and the registry,
# a drift check only writes a report; all three are operator actions.
TRIGGER_ACTIONS = {"training-pipeline": "train", "monitor-and-retrain": "drift_check", "ingest": "ingest"}

__all__ = [
    "INGEST",
    "MONITORING",
    "TRAINING",
    "DeploymentInfo",
    "FlowManager",
    "FlowRunInfo",
    "LocalRunner",
    "local_command",
    "subprocess_env",
]


class FlowManager:
    """Deployments, runs and logs from a Prefect server when one is configured; local child processes otherwise."""

    def __init__(
        self,
        api_url: str | None,
        local: LocalRunner,
        http: httpx.Client,
        client_factory: Callable[[], Any] | None = None,
        guard: Guard | None = None,
    ) -> None:
        self._guard = guard or Guard()
        self.api_url = api_url.rstrip("/") if api_url else None
        self._local = local
        self._http = http
        self._client_factory = client_factory

    @property
    def mode(self) -> str:
        """'prefect' when a server is configured, 'local' otherwise."""
        return "prefect" if self.api_url else "local"

    def status(self) -> ServiceStatus:
        """Whether the configured Prefect server answers; 'local mode' when none is configured."""
        if not self.api_url:
            return ServiceStatus(
                "Prefect", True, "no server configured (PREFECT_API_URL unset): flows run locally"
            )
        ui = self.api_url.removesuffix("/api")
        return probe_http(self._http, "Prefect", f"{self.api_url}/health", ui_url=ui)

    def _client(self) -> Any:
        if not self.api_url:
            raise DataError("no Prefect server is configured (set PREFECT_API_URL)")
        if not self.status().up:
            raise unavailable("the Prefect server", self.api_url, ConnectionError("no answer on /health"))
        if self._client_factory is not None:
            return self._client_factory()
        from prefect.client.orchestration import SyncPrefectClient

        return SyncPrefectClient(self.api_url)

    def deployments(self) -> list[DeploymentInfo]:
        """Deployments on the server (none in local mode)."""
        if not self.api_url:
            return []
        from prefect.client.schemas.sorting import DeploymentSort

        with self._client() as client:
            found = client.read_deployments(limit=100, sort=DeploymentSort.NAME_ASC)
            flows = _flow_names(client, [d.flow_id for d in found])
        return sorted(
            (
                DeploymentInfo(
                    f"{flows.get(d.flow_id, '?')}/{d.name}",
                    ", ".join(_schedule(s) for s in d.schedules) or None,
                    dict(d.parameters or {}),
                    bool(d.paused),
                )
                for d in found
            ),
            key=lambda d: d.name,
        )

    def trigger(self, deployment: str, parameters: Mapping[str, Any], *, actor: Principal) -> FlowRunInfo:
        """Start a run of `deployment` (flow/name) if the actor's role may: on the server, else as a local command."""
        action = TRIGGER_ACTIONS.get(deployment.split("/")[0], "train")
        arguments = {"deployment": deployment, "parameters": dict(parameters)}
        return self._guard.run(actor, action, arguments, lambda: self._trigger(deployment, parameters))

    def _trigger(self, deployment: str, parameters: Mapping[str, Any]) -> FlowRunInfo:
        if not self.api_url:
            return self._local.start(deployment, parameters)
        from prefect.exceptions import ObjectNotFound

        with self._client() as client:
            try:
                found = client.read_deployment_by_name(deployment)
            except ObjectNotFound:
                raise DataError(
                    f"deployment {deployment!r} is not registered on {self.api_url}; "
                    "serve the deployments with `python -m flows.deployments`"
                ) from None
            run = client.create_flow_run_from_deployment(found.id, parameters=dict(parameters))
        return self._info(run, deployment.split("/")[0])

    def run(self, run_id: str) -> FlowRunInfo:
        """A run's current state."""
        local = self._local.get(run_id)
        if local is not None:
            return local
        with self._client() as client:
            run = client.read_flow_run(uuid.UUID(run_id))
            flow = client.read_flow(run.flow_id).name
        return self._info(run, flow)

    def runs(self, limit: int = 20) -> list[FlowRunInfo]:
        """Local runs, then the server's newest runs."""
        found = self._local.runs()
        if self.api_url:
            from prefect.client.schemas.sorting import FlowRunSort

            with self._client() as client:
                runs = client.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit)
                flows = _flow_names(client, [r.flow_id for r in runs])
            found += [self._info(r, flows.get(r.flow_id, "?")) for r in runs]
        return found[:limit]

    def logs(self, run_id: str, limit: int = 200) -> list[str]:
        """A run's log lines, oldest first."""
        if self._local.get(run_id) is not None:
            return self._local.logs(run_id, limit)
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
        from prefect.client.schemas.sorting import LogSort

        with self._client() as client:
            logs = client.read_logs(
                LogFilter(flow_run_id=LogFilterFlowRunId(any_=[uuid.UUID(run_id)])),
                limit=limit,
                offset=0,
                sort=LogSort.TIMESTAMP_ASC,
            )
        return [f"{log.timestamp:%H:%M:%S} {_level(log.level)} {log.message}" for log in logs]

    def wait_local(self, run_id: str, timeout: float) -> FlowRunInfo | None:
        """Wait for a local run to end."""
        return self._local.wait(run_id, timeout)

    @staticmethod
    def _info(run: Any, flow: str) -> FlowRunInfo:
        state = run.state.type.value if run.state is not None else "PENDING"
        return FlowRunInfo(
            str(run.id),
            run.name,
            flow,
            state,
            run.created or run.expected_start_time,
            run.end_time,
            dict(run.parameters or {}),
        )


def _flow_names(client: Any, flow_ids: Any) -> dict[Any, str]:
    """Flow names by id, one read per distinct flow (a handful in this project)."""
    return {flow_id: client.read_flow(flow_id).name for flow_id in set(flow_ids)}


def _schedule(schedule: Any) -> str:
    inner = getattr(schedule, "schedule", schedule)
    cron = getattr(inner, "cron", None)
    return f"cron {cron} {getattr(inner, 'timezone', '') or ''}".strip() if cron else str(inner)


def _level(level: int) -> str:
    import logging

    return logging.getLevelName(level)


def subprocess_env(settings_env: Mapping[str, str]) -> dict[str, str]:
    """The environment of a local run: this process's, with the control room's settings on top."""
    return {**os.environ, **settings_env}
