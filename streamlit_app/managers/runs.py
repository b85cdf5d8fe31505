"""What the flow managers return: deployments and runs, on a Prefect server or local."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rakuten_mlops.runs.catalog import INGEST, MONITORING, TRAINING

__all__ = ["FINAL_STATES", "INGEST", "MONITORING", "TRAINING", "DeploymentInfo", "FlowRunInfo"]
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
    result: dict[str, Any] | None = None  # the flow's result as JSON (local runs)

    @property
    def final(self) -> bool:
        """Whether the run has finished (successfully or not)."""
        return self.state in FINAL_STATES
