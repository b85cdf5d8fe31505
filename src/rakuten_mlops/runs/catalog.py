"""The project's deployments: one source of truth for their names, flows, schedules and tags.

Parameters are not repeated here: a deployment runs its flow with the flow's own defaults, and
a deployment lists only what differs (none do today). `flows/deployments.py` serves these,
`flows/prefect.yaml` declares the same for `prefect deploy` (a test checks they agree), and
without a Prefect server `python -m rakuten_mlops.runs.execute` runs the same flow in a child
process.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

TRAINING = "training-pipeline/on-demand"
MONITORING = "monitor-and-retrain/daily"
INGEST = "ingest/on-demand"
AUTOML = "automl/on-demand"
TAGS = ("rakuten-mlops",)


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: `flow/name`, the flow's module path, its default schedule and its labels."""

    full_name: str
    entrypoint: str  # module.attribute of the flow object
    description: str
    tags: tuple[str, ...]
    cron: str | None = None  # the schedule it gets when first registered; edits on the server are kept
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)  # only what differs from the flow's defaults

    @property
    def flow_name(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def load_flow(self) -> Any:
        """The flow object (imports its module)."""
        module, _, attribute = self.entrypoint.rpartition(".")
        return getattr(importlib.import_module(module), attribute)


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        MONITORING,
        "flows.monitor_and_retrain.monitor_and_retrain",
        "Drift check on the newest predictions; alert, and retrain on drift with new labelled data.",
        (*TAGS, "monitoring"),
        cron="0 9 * * *",
    ),
    DeploymentSpec(
        TRAINING,
        "flows.pipeline_flow.training_pipeline",
        "Train on the catalogue, register, and promote if it beats the champion.",
        (*TAGS, "training"),
    ),
    DeploymentSpec(
        AUTOML,
        "flows.automl_flow.automl",
        "Search, explain, register and gate a model for any column of a stored dataset.",
        (*TAGS, "automl"),
    ),
    DeploymentSpec(
        INGEST,
        "flows.ingest.ingest",
        "Ingest generated listings, the challenge's X/Y files, or any CSV/Parquet.",
        (*TAGS, "data"),
    ),
)


def find(name: str) -> DeploymentSpec | None:
    """The project's deployment named `flow/name`, or the one deployment of a flow named `name`."""
    for spec in DEPLOYMENTS:
        if name in (spec.full_name, spec.flow_name):
            return spec
    return None


def full_name(name: str) -> str:
    """`flow/name` for a deployment given by its full name or by its flow's name (the project's ones)."""
    spec = find(name)
    return spec.full_name if spec is not None else name
