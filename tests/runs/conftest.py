"""One Prefect server and one deployments process for the runs tests (session-scoped: they start in ~20 s).

The deployments process is the stack's own (`flows.deployments.serve_all`), serving the project's
deployments plus the test flows of `tests.runs.work_flows`, over a private MLOPS_HOME.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rakuten_mlops.runs.service import Runs
from rakuten_mlops.testing.processes import ServiceProcess, free_port, prefect_server_command, wait_http
from tests.runs.work_flows import SERVE_COMMAND

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RunsStack:
    """The Prefect server, the deployments process and the home they share."""

    api_url: str
    home: Path
    env: dict[str, str]
    server: ServiceProcess
    deployments: ServiceProcess

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.home / 'app.db'}"

    def runs(self) -> Runs:
        return Runs(self.api_url, self.tracking_uri)


def stack_env(home: Path, api_url: str, prefect_home: Path) -> dict[str, str]:
    """The environment of every process of the runs tests."""
    drop = {"DATABASE_URL", "MLFLOW_TRACKING_URI", "API_URL", "API_KEY", "MODEL_NAME", "RUN_EVENTS"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("RAKUTEN_MLOPS")}
    env.update(
        MLOPS_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_BATCH_INTERVAL="0.5",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


@pytest.fixture(scope="session")
def runs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunsStack]:
    """A Prefect server on a free loopback port and the deployments process serving on it."""
    work = tmp_path_factory.mktemp("runs-stack")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    home = work / "mlops"
    home.mkdir()
    env = stack_env(home, api_url, work / "prefect")
    server = ServiceProcess(prefect_server_command(port), env, work / "prefect-server.log").start()
    serving = ServiceProcess(SERVE_COMMAND, env, work / "deployments.log")
    try:
        server.wait_http(f"{api_url}/health", timeout=120)
        serving.start()
        wait_http(f"{api_url}/deployments/name/long-work/test", timeout=180, process=serving.process)
        wait_http(
            f"{api_url}/deployments/name/training-pipeline/on-demand", timeout=60, process=serving.process
        )
        yield RunsStack(api_url, home, env, server, serving)
    finally:
        serving.stop()
        server.stop()
