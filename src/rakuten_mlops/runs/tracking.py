"""An MLflow run context provider: every MLflow run opened inside a flow run is tagged with its id.

Registered in pyproject.toml (`mlflow.run_context_provider`), so `mlflow.start_run()` anywhere in a
flow adds `prefect_flow_run_id` and `prefect_flow_name`; a cancelled run's MLflow runs are found by it.
"""

from __future__ import annotations

from mlflow.tracking.context.abstract_context import RunContextProvider

from rakuten_mlops.runs.stopping import FLOW_RUN_TAG


def _flow_run() -> object | None:
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return None if context is None else context.flow_run


class FlowRunContextProvider(RunContextProvider):
    """Tags MLflow runs started within a Prefect flow run."""

    def in_context(self) -> bool:
        return _flow_run() is not None

    def tags(self) -> dict[str, str]:
        run = _flow_run()
        if run is None:
            return {}
        return {FLOW_RUN_TAG: str(getattr(run, "id", "")), "prefect_flow_run": str(getattr(run, "name", ""))}
