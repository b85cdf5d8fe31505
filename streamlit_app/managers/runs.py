"""What the flow managers return: deployments and runs, on a Prefect server or local."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TRAINING = "training-pipeline/on-demand"
MONITORING = "monitor-and-retrain/daily"
INGEST = "ingest/on-demand"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass(frozen=True)
class DeploymentInfo:
    """A deployment registered on the Prefect server."""

    name: str  # flow-name/deployment-name
    schedule: str | None
    parameters: dict[str, Any]
    paused: bool


@dataclass(frozen=True)
class FlowRunInfo:
    """One run, on the Prefect server or in a local child process."""

    id: str
    name: str
    flow: str
    state: str  # Prefect's state type: SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, ...
    created: datetime
    ended: datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    where: str = "prefect"  # prefect | local
    result: dict[str, Any] | None = None  # the command's JSON summary (local runs)

    @property
    def final(self) -> bool:
        """Whether the run has finished (successfully or not)."""
        return self.state in FINAL_STATES
