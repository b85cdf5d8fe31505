"""Fixtures of the control-room tests: a trained home, the real API under uvicorn, services that are down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.ui.helpers import ADMIN_KEY, UI_VARS, LiveApi, clean_env, copy_home

from rakuten_mlops.config import get_settings
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port


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
