"""FlowManager against the real Prefect engine (prefect_test_harness) and real local child processes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from prefect import flow, get_run_logger
from tests.ui.helpers import clean_env, copy_home

from managers.base import ServiceUnavailableError
from managers.flows import INGEST, MONITORING, TRAINING, FlowManager, LocalRunner, local_command
from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.errors import DataError


@flow(name="ui-probe")
def ui_probe(word: str = "hello") -> str:
    """A tiny flow whose log line the manager must read back."""
    get_run_logger().info("probe says %s", word)
    return word


@pytest.fixture
def prefect_url(prefect_harness: None) -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url
    return str(url)


@pytest.fixture
def server_manager(prefect_url: str, tmp_path: Path, http: httpx.Client) -> FlowManager:
    return FlowManager(prefect_url, LocalRunner(tmp_path / "runs", clean_env()), http)


def test_without_a_server_a_deployment_runs_its_own_flow_with_the_given_parameters() -> None:
    command = local_command(TRAINING, {"promote": False})
    assert command[:3] == ["-m", "rakuten_mlops.runs.execute", TRAINING]
    assert json.loads(command[-1]) == {"promote": False}  # nothing else: the flow's defaults apply
    assert local_command(INGEST, {})[-1] == "{}" and MONITORING in local_command(MONITORING, {})
    with pytest.raises(DataError, match="Prefect server"):
        local_command("other/flow", {})


def test_the_local_runner_refuses_unknown_deployments_and_bad_parameters(tmp_path: Path) -> None:
    import subprocess
    import sys

    for arguments in (["other/flow"], [INGEST, "--parameters", "{not json"]):
        done = subprocess.run(
            [sys.executable, "-m", "rakuten_mlops.runs.execute", *arguments],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2 and "error:" in done.stderr


def test_deployments_trigger_and_runs_on_the_prefect_server(server_manager: FlowManager) -> None:
    from flows.pipeline_flow import training_pipeline

    training_pipeline.to_deployment(name="on-demand").apply()
    assert server_manager.status().up and server_manager.mode == "prefect"
    names = [d.name for d in server_manager.deployments()]
    assert TRAINING in names
    run = server_manager.trigger(
        TRAINING, {"trainer": "sklearn", "device": "cpu", "promote": False}, actor=LOCAL_ADMIN
    )
    assert run.flow == "training-pipeline" and run.state == "SCHEDULED" and not run.final
    assert run.parameters == {"trainer": "sklearn", "device": "cpu", "promote": False}
    assert server_manager.run(run.id).state == "SCHEDULED"
    assert run.id in [r.id for r in server_manager.runs(limit=50)]


def test_a_finished_runs_state_and_logs_are_read_back(server_manager: FlowManager) -> None:
    state = ui_probe("bonjour", return_state=True)
    run_id = str(state.state_details.flow_run_id)
    run = server_manager.run(run_id)
    assert run.state == "COMPLETED" and run.final and run.flow == "ui-probe"
    # Run logs reach the server in batches, a moment after the run ends.
    deadline = time.monotonic() + 20
    while not any("probe says bonjour" in line for line in server_manager.logs(run_id)):
        assert time.monotonic() < deadline, server_manager.logs(run_id)
        time.sleep(0.5)


def test_an_unknown_deployment_says_how_to_serve_them(server_manager: FlowManager) -> None:
    with pytest.raises(DataError, match=r"flows\.deployments"):
        server_manager.trigger("monitor-and-retrain/nowhere", {}, actor=LOCAL_ADMIN)


def test_a_stopped_prefect_server_is_reported(closed_url: str, tmp_path: Path, http: httpx.Client) -> None:
    manager = FlowManager(f"{closed_url}/api", LocalRunner(tmp_path, clean_env()), http)
    assert not manager.status().up
    with pytest.raises(ServiceUnavailableError, match=closed_url):
        manager.runs()


@pytest.mark.slow
def test_without_a_server_a_trigger_runs_the_command_and_follows_it(
    ui_trained_home: Path, tmp_path: Path
) -> None:
    home = copy_home(ui_trained_home, tmp_path / "mlops")
    env = clean_env(MLOPS_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    manager = FlowManager(None, LocalRunner(tmp_path / "runs", env), httpx.Client(timeout=2))
    assert manager.mode == "local" and manager.status().up
    ok = manager.trigger(INGEST, {"kind": "sample", "rows": 150, "seed": 99}, actor=LOCAL_ADMIN)
    bad = manager.trigger(
        INGEST, {"kind": "rakuten", "x_path": str(tmp_path / "missing.csv")}, actor=LOCAL_ADMIN
    )
    assert ok.where == "local" and not ok.final
    finished = manager.wait_local(ok.id, timeout=240)
    assert finished is not None and finished.state == "COMPLETED", manager.logs(ok.id)
    assert finished.result is not None and finished.result["inserted"] == 150
    failed = manager.wait_local(bad.id, timeout=240)
    assert failed is not None and failed.state == "FAILED"
    assert any("no such file" in line for line in manager.logs(bad.id))
    assert {r.id for r in manager.runs()} == {ok.id, bad.id}
    started = time.monotonic()
    assert manager.deployments() == []
    assert time.monotonic() - started < 1
