"""The project's Prefect deployments, served by one long-running process.

    prefect server start --host 127.0.0.1 --port 4200            # terminal 1 (or the stack)
    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.deployments   # terminal 2

`monitor-and-retrain/daily` runs every day at 09:00 UTC; `training-pipeline/on-demand` and
`ingest/on-demand` run when triggered from the Prefect UI, the control room or
`prefect deployment run 'training-pipeline/on-demand'`. Parameters are editable in the UI.
The same deployments are declared for `prefect deploy` in flows/prefect.yaml.
"""

from __future__ import annotations

import os
import sys

from prefect import serve
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from flows.ingest import ingest
from flows.monitor_and_retrain import monitor_and_retrain
from flows.pipeline_flow import training_pipeline

DAILY_CRON = "0 9 * * *"
SCHEDULE_TIMEZONE = "UTC"
TAGS = ["rakuten-mlops"]
# Module paths, not file paths: the deployments run from any working directory once the package is installed.
BY_MODULE = EntrypointType.MODULE_PATH


def build_deployments() -> list[RunnerDeployment]:
    """The three deployments, with their schedule and default parameters."""
    return [
        RunnerDeployment.from_flow(
            monitor_and_retrain,
            name="daily",
            schedules=[Cron(DAILY_CRON, timezone=SCHEDULE_TIMEZONE)],
            parameters={"retrain": True, "trainer": "sklearn"},
            description="Drift check on the newest predictions; alert, and retrain on drift with new labelled data.",
            tags=[*TAGS, "monitoring"],
            entrypoint_type=BY_MODULE,
        ),
        RunnerDeployment.from_flow(
            training_pipeline,
            name="on-demand",
            parameters={"trainer": "sklearn", "device": "auto", "promote": True},
            description="Train on the catalogue, register, and promote if it beats the champion.",
            tags=[*TAGS, "training"],
            entrypoint_type=BY_MODULE,
        ),
        RunnerDeployment.from_flow(
            ingest,
            name="on-demand",
            parameters={"kind": "sample", "rows": 5_000, "seed": 42, "drift": False},
            description="Ingest generated listings, the challenge's X/Y files, or any CSV/Parquet.",
            tags=[*TAGS, "data"],
            entrypoint_type=BY_MODULE,
        ),
    ]


def main() -> None:
    """Register the deployments with the Prefect server and run their flows until interrupted."""
    if not os.environ.get("PREFECT_API_URL"):
        sys.exit(
            "PREFECT_API_URL is unset: schedules need a Prefect server. Start one with "
            "`prefect server start --host 127.0.0.1 --port 4200` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    serve(*build_deployments(), limit=2)


if __name__ == "__main__":
    main()
