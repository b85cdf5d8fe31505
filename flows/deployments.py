"""The project's Prefect deployments, served by one long-running process.

    prefect server start --host 127.0.0.1 --port 4200            # terminal 1 (or the stack)
    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.deployments   # terminal 2

What the deployments are (names, flows, default schedules, tags) is declared once, in
`rakuten_mlops.runs.catalog`; their parameters are the flows' own defaults. A schedule is given
only when a deployment is first registered: schedules edited later (control room, `schedules set`,
the Prefect UI) are kept when this process restarts.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from prefect import serve
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from rakuten_mlops.runs.catalog import DEPLOYMENTS, DeploymentSpec

# Module paths, not file paths: the deployments run from any working directory once the package is installed.
BY_MODULE = EntrypointType.MODULE_PATH
# Log lines reach the server this often, so a run's logs show in the control room within 2 s.
SERVE_ENV = {"PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def to_deployment(spec: DeploymentSpec, registered: bool, flow: Any | None = None) -> RunnerDeployment:
    """The RunnerDeployment of a spec; its default schedule only when it is not registered yet."""
    schedules = [Cron(spec.cron, timezone=spec.timezone)] if spec.cron and not registered else None
    return RunnerDeployment.from_flow(
        flow if flow is not None else spec.load_flow(),
        name=spec.name,
        schedules=schedules,
        parameters=spec.parameters or None,
        description=spec.description,
        tags=list(spec.tags),
        entrypoint_type=BY_MODULE,
    )


def registered_names(names: list[str]) -> set[str]:
    """Which of these deployments the Prefect server already has."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    found = set()
    with get_client(sync_client=True) as client:
        for name in names:
            try:
                client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            found.add(name)
    return found


def build_deployments(
    specs: tuple[DeploymentSpec, ...] = DEPLOYMENTS, registered: set[str] | None = None
) -> list[RunnerDeployment]:
    """The deployments, with their default schedule where the server has none of theirs yet."""
    known = registered or set()
    return [to_deployment(spec, spec.full_name in known) for spec in specs]


def serve_all(extra: list[RunnerDeployment] | None = None, limit: int = 2) -> None:
    """Register the deployments (keeping schedules already on the server) and run their flows."""
    if not os.environ.get("PREFECT_API_URL"):
        sys.exit(
            "PREFECT_API_URL is unset: schedules need a Prefect server. Start one with "
            "`prefect server start --host 127.0.0.1 --port 4200` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    for key, value in SERVE_ENV.items():
        os.environ.setdefault(key, value)
    registered = registered_names([spec.full_name for spec in DEPLOYMENTS])
    serve(*build_deployments(registered=registered), *(extra or []), limit=limit)


def main() -> None:
    """Register the deployments with the Prefect server and run their flows until interrupted."""
    serve_all()


if __name__ == "__main__":
    main()
