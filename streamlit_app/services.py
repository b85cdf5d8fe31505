"""The managers, built once per server process (st.cache_resource) from the settings and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
import streamlit as st

from managers.api import ApiManager
from managers.base import probe_http
from managers.database import DatabaseManager
from managers.flows import FlowManager, LocalRunner, subprocess_env
from managers.infrastructure import InfrastructureManager
from managers.monitoring import MonitoringManager
from managers.registry import RegistryManager
from managers.run_control import RunsManager
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.runs.connect import prefect_url as find_prefect_url
from rakuten_mlops.runs.events import recent_events
from rakuten_mlops.runs.service import Runs

# A down MLflow server must cost seconds, not MLflow's default minutes of retries.
CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
PROBE_TIMEOUT = 3.0


@dataclass(frozen=True)
class Managers:
    """Every manager of the control room and the links to each service's UI."""

    settings: Settings
    api: ApiManager
    registry: RegistryManager
    flows: FlowManager
    database: DatabaseManager
    monitoring: MonitoringManager
    infrastructure: InfrastructureManager
    links: dict[str, str]
    runs: RunsManager


def _docker_client() -> object:
    import docker

    return docker.from_env(timeout=3)


def build(settings: Settings) -> Managers:
    """Build the managers for these settings (no Streamlit involved)."""
    for key, value in CLIENT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    http = httpx.Client(timeout=PROBE_TIMEOUT)
    api = ApiManager(httpx.Client(base_url=settings.api_url, timeout=30.0), settings.api_key)
    registry = RegistryManager.from_uri(settings.tracking_uri, settings.model_name, http)
    prefect_url = find_prefect_url(settings.mlops_home)
    runner_env = {"MLOPS_HOME": str(settings.mlops_home), "DATABASE_URL": settings.db_url}
    runner_env |= {"MLFLOW_TRACKING_URI": settings.tracking_uri, "MODEL_NAME": settings.model_name}
    flows = FlowManager(
        prefect_url, LocalRunner(settings.logs_dir / "ui-runs", subprocess_env(runner_env)), http
    )
    # A database host that does not answer must cost seconds on each page, not the driver's minutes.
    timeout = {"connect_args": {"connect_timeout": 5}} if settings.db_url.startswith("postgresql") else {}
    engine = make_engine(settings.db_url, pool_pre_ping=True, **timeout)
    database = DatabaseManager(engine, settings.ingest_chunk_rows)
    monitoring = MonitoringManager(engine, http, settings.prometheus_url, api)
    grafana = os.environ.get("GRAFANA_URL", "http://127.0.0.1:3000").rstrip("/")
    prefect_ui = os.environ.get("PREFECT_UI_URL") or (prefect_url.removesuffix("/api") if prefect_url else "")
    probes = [
        api.status,
        registry.status,
        flows.status,
        database.status,
        monitoring.prometheus_status,
        lambda: probe_http(http, "Grafana", f"{grafana}/api/health", ui_url=grafana),
    ]
    links = {
        "API docs": f"{settings.api_url.rstrip('/')}/docs",
        "MLflow": settings.tracking_uri if registry.remote else "",
        "Prefect": prefect_ui,
        "Prometheus": settings.prometheus_url,
        "Grafana": grafana,
    }
    infrastructure = InfrastructureManager(probes, _docker_client)
    runs = RunsManager(
        Runs(prefect_url, settings.tracking_uri) if prefect_url else None,
        settings.api_url,
        httpx.Client(timeout=PROBE_TIMEOUT),
        lambda: recent_events(engine),
    )
    return Managers(
        settings,
        api,
        registry,
        flows,
        database,
        monitoring,
        infrastructure,
        {k: v for k, v in links.items() if v},
        runs,
    )


@st.cache_resource(show_spinner=False)
def _managers() -> Managers:
    return build(get_settings().prepare())


def managers() -> Managers:
    """The process-wide managers; a bad setting stops the page with one clear sentence."""
    try:
        return _managers()
    except MlopsError as exc:
        st.error(f"The control room cannot start: {exc}")
        st.stop()
        raise  # st.stop() raises; this line only satisfies type checkers
