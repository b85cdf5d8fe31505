"""Fixtures shared by every test: isolated settings, real SQLite and PostgreSQL, Prefect harness."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.testing.postgres import PostgresCluster
from rakuten_mlops.testing.processes import free_port

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

_ISOLATED_VARS = (
    "MLOPS_HOME",
    "DATABASE_URL",
    "MLFLOW_TRACKING_URI",
    "MODEL_NAME",
    "API_URL",
    "API_KEY",
    "DASK_SCHEDULER_ADDRESS",
)
# Services a test could reach through a default URL: each points at a free loopback port instead, so a
# test never talks to an API, Prometheus or Grafana that happens to run on this machine.
_SERVICE_URLS = ("API_URL", "PROMETHEUS_URL", "GRAFANA_URL")


@pytest.fixture
def mlops_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh MLOPS_HOME with every other setting at its default, and no service reachable by default."""
    for name in _ISOLATED_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in _SERVICE_URLS:
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    home = tmp_path / "mlops"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def settings(mlops_home: Path) -> Settings:
    """Settings of the isolated home, folders created."""
    return get_settings().prepare()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the whole run."""
    cluster = PostgresCluster().init()
    cluster.start()
    yield cluster
    cluster.destroy()


_db_counter = itertools.count()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A new, empty PostgreSQL database for one test."""
    return postgres_cluster.create_database(f"test_{next(_db_counter)}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A migrated catalogue database: a SQLite file, then a PostgreSQL database (each test runs on both)."""
    if request.param == "sqlite":
        url = settings.db_url
    else:
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """The real Prefect engine against a temporary local API, once per run."""
    from prefect.logging.configuration import setup_logging
    from prefect.testing.utilities import prefect_test_harness

    # Bind Prefect's console handler to the real stderr now: configured lazily inside a
    # CliRunner invocation, it would keep writing to that invocation's closed capture stream.
    setup_logging(incremental=False)
    with prefect_test_harness(server_startup_timeout=120):
        yield
