"""Flow hooks that make a run stoppable, and clean up after it is cancelled.

Every project flow carries both: `on_running=[record_run_process]`,
`on_cancellation=[clean_up_cancelled]`. The first records where the run executes (see
`stopping`); the second runs where Prefect's runner stopped the run (the deployments process),
stops what the run left behind and settles its MLflow runs. `Runs.cancel` does the same from
the canceller's side when it runs on the same host, so a cancel never depends on one of them alone.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rakuten_mlops.runs.stopping import MARKER, stop_processes, this_process

log = logging.getLogger(__name__)


def record_run_process(flow: Any, flow_run: Any, state: Any) -> None:
    """Mark this process and its future children with the run's id, and record it on the flow run."""
    if getattr(flow_run, "parent_task_run_id", None) is not None:
        return  # a subflow runs in its parent's process, which is already recorded
    run_id = str(flow_run.id)
    os.environ[MARKER] = run_id  # inherited by every process the run starts from now on
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, infrastructure_pid=this_process().render())
    except Exception as exc:  # a run must not fail because its bookkeeping did; cancel still finds the marker
        log.warning("could not record the process of flow run %s: %s", run_id, exc)


def clean_up_cancelled(flow: Any, flow_run: Any, state: Any) -> None:
    """After a cancel: stop what the run left behind on this host, mark its MLflow runs KILLED."""
    from rakuten_mlops.config import get_settings
    from rakuten_mlops.runs.service import settle_side_effects

    run_id = str(flow_run.id)
    try:
        stop_processes(run_id, None)
        settle_side_effects([run_id], get_settings().tracking_uri)
    except Exception as exc:  # never raise from a hook: the runner still has to mark the run Cancelled
        log.error("cleaning up cancelled flow run %s failed: %s", run_id, exc)
