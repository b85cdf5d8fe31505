"""The Dask cluster the search's candidates run on, through Prefect's Dask task runner.

A local cluster by default: one worker with a thread per core inside the flow's process, so every
candidate reads the same rows and feature matrices from memory (scikit-learn's solvers release the
GIL while they fit). With DASK_SCHEDULER_ADDRESS set, the candidates go to that cluster instead; its
workers need this package installed. Either way the cluster only starts when the first candidate is
submitted, so `train --search off` never starts one.
"""

from __future__ import annotations

import os
from typing import Any, Self, cast

from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from rakuten_mlops.config import get_settings
from rakuten_mlops.errors import ConfigError

CONNECT_SECONDS = 10  # how long a flow run waits for the scheduler at DASK_SCHEDULER_ADDRESS


def local_cluster() -> dict[str, Any]:
    """LocalCluster arguments: one in-process worker, a thread per core, no dashboard port."""
    return {
        "n_workers": 1,
        "threads_per_worker": os.cpu_count() or 1,
        "processes": False,
        "dashboard_address": None,
    }


class SearchTaskRunner(DaskTaskRunner):
    """A Dask task runner on the scheduler at `address`, or on a local cluster when it is None.

    Prefect copies a flow's task runner with `duplicate()` at the start of every run; the copy reads
    DASK_SCHEDULER_ADDRESS then (not at import), so a setting changed between runs is honoured.
    """

    def __init__(self, address: str | None = None) -> None:
        if address:
            super().__init__(address=address, client_kwargs={"timeout": CONNECT_SECONDS})
        else:
            super().__init__(cluster_kwargs=local_cluster())

    def duplicate(self) -> Self:
        """A fresh runner for this flow run, from the current settings."""
        return type(self)(get_settings().dask_scheduler_address)


def search_task_runner() -> TaskRunner[Any]:
    """The training flow's task runner (typed as Prefect's flow decorator expects)."""
    return cast(TaskRunner[Any], SearchTaskRunner())


def parallel_slots() -> int:
    """How many candidates the current flow run's task runner can run at once (its cluster's threads)."""
    context = FlowRunContext.get()
    runner: Any = context.task_runner if context is not None else None
    if isinstance(runner, DaskTaskRunner):
        try:
            client = runner.client  # connects (or starts the local cluster) on first use
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"the Dask scheduler at DASK_SCHEDULER_ADDRESS={runner.address} does not answer ({exc}); "
                "start it, or unset DASK_SCHEDULER_ADDRESS to search on a local cluster"
            ) from None
        threads: dict[str, int] = client.nthreads()  # type: ignore[no-untyped-call]
        return max(1, sum(threads.values()))
    if isinstance(runner, ThreadPoolTaskRunner):  # e.g. a flow run given another runner in a test
        return max(1, min(os.cpu_count() or 1, int(runner._max_workers)))
    return 1
