"""A cancel that stops the work: the run's processes first, then what the run left half-done.

Every project flow records where it runs when it starts (`guard.on_running`): the flow run's
`infrastructure_pid` is `host:pid:start-time`, and the variable `RAKUTEN_MLOPS_FLOW_RUN=<id>` is
set in its environment, so every process it starts afterwards (a trainer's worker pool, a Dask
cluster, a shell command) carries it. Stopping a run on its own host means: SIGTERM to those
processes, SIGKILL after a short grace, and waiting until none is left. Signals need no cooperation
from the run: a flow busy in native code is stopped as surely as a sleeping one.

Then `settle()` undoes what a stopped run cannot finish: database writes were in one transaction,
which the database rolls back when its connection dies; every MLflow run the flow opened (tagged
`prefect_flow_run_id` by `rakuten_mlops.runs.tracking`) is marked KILLED, the model versions it
registered are deleted, and a champion alias it moved goes back to the previous champion.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from dataclasses import dataclass

from rakuten_mlops.pids import is_alive, processes_with
from rakuten_mlops.stack.processes import process_start, signal_all, wait_gone

log = logging.getLogger(__name__)
MARKER = "RAKUTEN_MLOPS_FLOW_RUN"
FLOW_RUN_TAG = "prefect_flow_run_id"
GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class WorkProcess:
    """Where a flow run executes: host name, process id and the kernel's start time of that process."""

    host: str
    pid: int
    start: str | None

    def render(self) -> str:
        return f"{self.host}:{self.pid}:{self.start or ''}"

    @classmethod
    def parse(cls, value: str | None) -> WorkProcess | None:
        """Read `host:pid:start` back; None for anything else (runs of other tools, older runs)."""
        if not value:
            return None
        host, _, rest = value.rpartition(":")
        host, _, pid = host.rpartition(":")
        if not host or not pid.isdigit():
            return None
        return cls(host, int(pid), rest or None)

    @property
    def local(self) -> bool:
        """Whether it runs on this host."""
        return self.host == socket.gethostname()

    def alive(self) -> bool:
        """Whether that very process (same pid, same start time) still runs here."""
        if not self.local or not is_alive(self.pid):
            return False
        return self.start is None or process_start(self.pid) in {None, self.start}


def this_process() -> WorkProcess:
    """The WorkProcess of the calling process."""
    return WorkProcess(socket.gethostname(), os.getpid(), process_start(os.getpid()))


def marked_processes(flow_run_id: str) -> list[int]:
    """Live processes of this host whose environment carries the run's marker (this one excluded)."""
    return processes_with(MARKER, flow_run_id)


def run_processes(flow_run_id: str, work: WorkProcess | None) -> list[int]:
    """Every live process of the run on this host: its own, and those carrying its marker."""
    found = set(marked_processes(flow_run_id))
    if work is not None and work.alive() and work.pid != os.getpid():
        found.add(work.pid)
    return sorted(found)


def stop_processes(flow_run_id: str, work: WorkProcess | None, grace: float = GRACE_SECONDS) -> list[int]:
    """SIGTERM the run's processes, SIGKILL what is left after `grace`; the pids that were stopped."""
    pids = run_processes(flow_run_id, work)
    if not pids:
        return []
    signal_all(pids, signal.SIGTERM)
    left = wait_gone(pids, grace)
    # Processes started during the grace period carry the marker too.
    left = sorted(set(left) | set(run_processes(flow_run_id, work)))
    if left:
        signal_all(left, signal.SIGKILL)
        left = wait_gone(left, 5.0)
    if left:
        log.error("flow run %s: processes %s survived SIGKILL", flow_run_id, left)
    return pids


def settle_mlflow(flow_run_ids: list[str], tracking_uri: str) -> dict[str, list[str]]:
    """Mark the MLflow runs of these flow runs KILLED, delete their model versions, restore champions."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    from rakuten_mlops import tracking
    from rakuten_mlops.registry import CHAMPION, Registry

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    tracking.bound_waits()
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    if not experiments:
        return {"killed": [], "deleted_versions": []}
    found = [
        run
        for flow_run_id in flow_run_ids  # MLflow filters tags by equality only
        for run in client.search_runs(
            experiments, f"tags.{FLOW_RUN_TAG} = '{flow_run_id}'", run_view_type=ViewType.ALL
        )
    ]
    killed, deleted = [], []
    for run in found:
        for version in client.search_model_versions(f"run_id='{run.info.run_id}'"):
            aliases = set(version.aliases or [])
            if CHAMPION in aliases:
                with contextlib.suppress(Exception):  # no earlier champion: the alias simply goes
                    Registry(client, version.name).rollback(
                        f"the run that promoted v{version.version} was cancelled"
                    )
            client.delete_model_version(version.name, version.version)
            deleted.append(f"{version.name}/{version.version}")
        if run.info.status != "KILLED":
            client.set_terminated(run.info.run_id, "KILLED")
        killed.append(run.info.run_id)
    return {"killed": killed, "deleted_versions": deleted}
