"""The deployments on a real Prefect server: registered with their schedule, and served on demand."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from sqlalchemy import func, select

from flows.deployments import build_deployments
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.models import Product
from rakuten_mlops.runs.catalog import DEPLOYMENTS, MONITORING, find
from rakuten_mlops.testing.processes import ServiceProcess, free_port, prefect_server_command

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
NAMES = {"monitor-and-retrain/daily", "training-pipeline/on-demand", "ingest/on-demand"}
DAILY_CRON = find(MONITORING).cron  # type: ignore[union-attr]


@pytest.fixture
def prefect_server(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Prefect server on 127.0.0.1 whose scheduler wakes every second; its API URL is PREFECT_API_URL."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
        "PREFECT_UI_ENABLED": "false",
    }
    server = ServiceProcess(prefect_server_command(port), env, tmp_path / "prefect-server.log").start()
    url = f"http://127.0.0.1:{port}/api"
    try:
        server.wait_http(f"{url}/health", timeout=120)
        monkeypatch.setenv("PREFECT_API_URL", url)
        yield url
    finally:
        server.stop()


async def _deployments(api_url: str) -> dict[str, object]:
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    found: dict[str, object] = {}
    with temporary_settings({PREFECT_API_URL: api_url}):
        async with get_client() as client:
            for name in sorted(NAMES):
                with contextlib.suppress(ObjectNotFound):
                    found[name] = await client.read_deployment_by_name(name)
    return found


async def _wait_for(api_url: str, predicate: object, timeout: float) -> object:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await _deployments(api_url)
        if predicate(found):  # type: ignore[operator]
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"deployments after {timeout:.0f} s: {sorted(found)}")
        await asyncio.sleep(1.0)


def test_the_served_deployments_carry_their_schedule_and_run_on_demand(
    prefect_server: str, settings: Settings, tmp_path: Path
) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "MLOPS_HOME": str(settings.mlops_home)}
    serving = ServiceProcess([sys.executable, "-m", "flows.deployments"], env, tmp_path / "serve.log")
    serving.start()
    try:
        found = asyncio.run(_wait_for(prefect_server, lambda d: set(d) >= NAMES, 120))
        daily = found["monitor-and-retrain/daily"]  # type: ignore[index]
        (schedule,) = daily.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
            DAILY_CRON,
            "UTC",
            True,
        )
        assert {"window", "threshold", "retrain"} <= set(daily.parameter_openapi_schema["properties"])
        assert found["training-pipeline/on-demand"].schedules == []  # type: ignore[index]
        ingest_schema = found["ingest/on-demand"].parameter_openapi_schema  # type: ignore[index]
        assert ingest_schema["properties"]["kind"]["default"] == "sample"  # the flow's own default

        run = asyncio.run(_run_and_read(prefect_server, daily.id))
        assert run["next_daily"].astimezone(UTC).hour == 9 and run["next_daily"].minute == 0
        assert run["ingest_state"] == "COMPLETED", serving.log_tail()
    finally:
        serving.stop()
    engine = make_engine(settings.db_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Product)).scalar_one() == 300
    engine.dispose()


async def _run_and_read(api_url: str, daily_id: object) -> dict[str, object]:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        async with get_client() as client:
            scheduled = []
            deadline = datetime.now(UTC) + timedelta(seconds=60)
            while not scheduled and datetime.now(UTC) < deadline:
                scheduled = await client.get_scheduled_flow_runs_for_deployments(
                    [daily_id], scheduled_before=datetime.now(UTC) + timedelta(days=3), limit=10
                )
                await asyncio.sleep(1.0)
            assert scheduled, "the scheduler created no run of monitor-and-retrain/daily"
            first = min(r.expected_start_time for r in scheduled)
            run = await run_deployment("ingest/on-demand", parameters={"rows": 300, "seed": 3}, timeout=180)
            return {"next_daily": first, "ingest_state": run.state.type.value if run.state else None}


def test_prefect_yaml_declares_the_same_deployments_as_the_serve_script() -> None:
    declared = yaml.safe_load((ROOT / "flows" / "prefect.yaml").read_text())["deployments"]
    served = build_deployments()
    assert len(declared) == len(served) == len(DEPLOYMENTS)
    for spec, deployment, source in zip(declared, served, DEPLOYMENTS, strict=True):
        path, _, attribute = spec["entrypoint"].partition(":")
        module = path.removesuffix(".py").replace("/", ".")
        assert deployment.entrypoint == f"{module}.{attribute}" == source.entrypoint
        assert spec["name"] == deployment.name == source.name
        assert spec["description"] == deployment.description and spec["tags"] == deployment.tags
        crons = [(s["cron"], s["timezone"]) for s in spec.get("schedules", [])]
        assert crons == [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules]
        assert (ROOT / path).is_file()


def test_deployments_repeat_no_parameter_of_their_flows() -> None:
    declared = yaml.safe_load((ROOT / "flows" / "prefect.yaml").read_text())["deployments"]
    assert all("parameters" not in spec for spec in declared)
    for deployment in build_deployments():
        assert deployment.parameters == {}


def test_a_schedule_already_on_the_server_is_not_replaced_when_serving_again() -> None:
    (daily,) = [d for d in build_deployments(registered={MONITORING}) if d.name == "daily"]
    assert daily.schedules in (None, [])
    (fresh,) = [d for d in build_deployments() if d.name == "daily"]
    assert [s.schedule.cron for s in fresh.schedules] == [DAILY_CRON]


def test_serving_without_a_prefect_server_says_what_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "flows.deployments"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 1 and "PREFECT_API_URL is unset" in done.stderr
    assert "prefect server start" in done.stderr
