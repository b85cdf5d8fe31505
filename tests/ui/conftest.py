"""Fixtures of the control-room tests: a trained home, the real API under uvicorn, services that are down."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.ui.helpers import ADMIN_KEY, UI_VARS, LiveApi, clean_env, copy_home

from rakuten_mlops.config import get_settings
from rakuten_mlops.stack import MARKER_ENV, StackRunner
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port
from rakuten_mlops.testing.stack import stand_in_plan, web_service


@pytest.fixture(scope="session")
def ui_trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MLOPS_HOME with 3,000 sample listings and two versions: v1 champion, v2 not promoted (copy before use)."""
    from rakuten_mlops.testing.trained import build_trained_home

    home = tmp_path_factory.mktemp("ui-trained") / "mlops"
    build_trained_home(home, 3_000, seed=5, versions=2)
    return home


@pytest.fixture(scope="session")
def live_api(ui_trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """`rakuten-mlops serve` on 127.0.0.1 with the champion loaded and an admin key."""
    work = tmp_path_factory.mktemp("ui-api")
    home = copy_home(ui_trained_home, work / "mlops")
    port = free_port()
    env = clean_env(MLOPS_HOME=str(home), API_KEY=ADMIN_KEY, MODEL_POLL_SECONDS="1")
    process = ServiceProcess(api_command(port), env, work / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/ready", timeout=120)
        yield LiveApi(url, home, process)
    finally:
        process.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A short-timeout HTTP client, as the control room builds it."""
    with httpx.Client(timeout=3.0) as client:
        yield client


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def ui_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Every control-room setting removed and the working directory isolated; tests set what they need."""
    for name in UI_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def stand_in_stack(tmp_path: Path) -> Iterator[StackRunner]:
    """A native stack of two stand-in web services under supervisord, in its own MLOPS_HOME."""
    plan = stand_in_plan(
        tmp_path / "stack-home", web_service("web", free_port()), web_service("worker", free_port())
    )
    runner = StackRunner(plan)
    try:
        runner.start()
        runner.wait_healthy(60, lambda *_: None)
        yield runner
    finally:
        runner.stop()


@pytest.fixture
def other_checkout_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process of another stack on the machine: its own token, and a command line like one of ours."""
    script = "import time; time.sleep(120)"
    process = subprocess.Popen(
        [sys.executable, "-c", script, "mlflow", "server", "rakuten_mlops.cli", "serve", "streamlit", "run"],
        env={**os.environ, MARKER_ENV: uuid.uuid4().hex},
        start_new_session=True,
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait(10)
