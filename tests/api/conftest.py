"""A trained registry built once per session and copied for each API test (tests may promote)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.serving.app import create_app
from rakuten_mlops.testing.trained import build_trained_home

ADMIN_KEY = "test-admin-key"


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MLOPS_HOME with a catalogue and two registered versions: v1 champion, v2 not promoted."""
    home = tmp_path_factory.mktemp("trained") / "mlops"
    build_trained_home(home, 3_000, seed=5, versions=2)
    return home


@pytest.fixture
def api_settings(trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings of a private copy of the trained home, with an admin key."""
    home = tmp_path / "mlops"
    shutil.copytree(trained_home, home)
    for name in ("DATABASE_URL", "MLFLOW_TRACKING_URI", "MODEL_NAME", "API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLOPS_HOME", str(home))
    monkeypatch.setenv("API_KEY", ADMIN_KEY)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield get_settings().prepare()
    get_settings.cache_clear()


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """A TestClient over the real app (lifespan run: champion loaded, log writer started)."""
    with TestClient(create_app(api_settings, poll_seconds=0)) as test_client:
        yield test_client


@pytest.fixture
def admin() -> dict[str, str]:
    """Headers of an admin request."""
    return {"X-API-Key": ADMIN_KEY}
