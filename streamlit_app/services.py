"""The managers, built once per server process (st.cache_resource) from the settings and the environment."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import httpx
import streamlit as st

from managers.api import ApiManager
from managers.assistant import AssistantManager
from managers.auth import AuthManager
from managers.automl import AutoMLManager
from managers.base import ServiceStatus, not_in_stack, probe_http
from managers.database import DatabaseManager
from managers.datasets import DatasetManager
from managers.flows import FlowManager, LocalRunner, subprocess_env
from managers.guard import Guard
from managers.infrastructure import InfrastructureManager
from managers.kubernetes import KubernetesManager
from managers.monitoring import MonitoringManager
from managers.registry import RegistryManager
from managers.run_control import RunsManager
from rakuten_mlops.auth.limiter import FailureLimiter
from rakuten_mlops.auth.notify import notify_pending
from rakuten_mlops.auth.settings_store import SettingsStore, secret_text
from rakuten_mlops.auth.users import ensure_first_admin
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db import ensure_schema, make_engine
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.runs.connect import prefect_url as find_prefect_url
from rakuten_mlops.runs.events import recent_events
from rakuten_mlops.runs.service import Runs
from rakuten_mlops.stack.services import MARKER_ENV
from rakuten_mlops.tables.store import DatasetStore

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
    datasets: DatasetManager
    monitoring: MonitoringManager
    infrastructure: InfrastructureManager
    auth: AuthManager
    kubernetes: KubernetesManager
    links: dict[str, str]
    runs: RunsManager
    automl: AutoMLManager
    assistant: AssistantManager


def _docker_client() -> object:
    import docker

    return docker.from_env(timeout=3)


def build(settings: Settings) -> Managers:
    """Build the managers for these settings (no Streamlit involved)."""
    for key, value in CLIENT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    http = httpx.Client(timeout=PROBE_TIMEOUT)
    # A database host that does not answer must cost seconds on each page, not the driver's minutes.
    timeout = {"connect_args": {"connect_timeout": 5}} if settings.db_url.startswith("postgresql") else {}
    engine = make_engine(settings.db_url, pool_pre_ping=True, **timeout)
    guard = Guard(engine)  # every change: the signed-in user's role, then the audit log
    api = ApiManager(httpx.Client(base_url=settings.api_url, timeout=30.0), settings.api_key)
    registry = RegistryManager.from_uri(settings.tracking_uri, settings.model_name, http, guard)
    prefect_url = find_prefect_url(settings.mlops_home)
    runner_env = {"MLOPS_HOME": str(settings.mlops_home), "DATABASE_URL": settings.db_url}
    runner_env |= {"MLFLOW_TRACKING_URI": settings.tracking_uri, "MODEL_NAME": settings.model_name}
    flows = FlowManager(
        prefect_url,
        LocalRunner(settings.logs_dir / "ui-runs", subprocess_env(runner_env)),
        http,
        guard=guard,
    )
    database = DatabaseManager(engine, settings.ingest_chunk_rows, guard)
    datasets = DatasetManager(
        engine, settings.datasets_dir, settings.dataset_max_bytes, subprocess_env(runner_env), guard=guard
    )
    monitoring = MonitoringManager(engine, http, settings.prometheus_url, api, guard)
    store = SettingsStore(engine, secret_text(settings.secret_key))
    auth = AuthManager(
        engine,
        store,
        required=settings.ui_auth,
        limiter=FailureLimiter(settings.auth_max_failures, settings.auth_failure_window_seconds),
        guard=guard,
        notify=lambda: notify_pending(settings, engine),
    )
    if settings.admin_password is not None:
        with contextlib.suppress(MlopsError):  # the database may be down: the next start tries again
            ensure_schema(engine)
            ensure_first_admin(engine, secret_text(settings.admin_password))
    # The native stack never starts Grafana: watch one only where the user says where it is.
    grafana = os.environ.get("GRAFANA_URL", "").rstrip("/")
    prefect_ui = os.environ.get("PREFECT_UI_URL") or (prefect_url.removesuffix("/api") if prefect_url else "")

    def grafana_status() -> ServiceStatus:
        if not grafana:
            return not_in_stack("Grafana", "not part of this stack; set GRAFANA_URL to watch one")
        return probe_http(http, "Grafana", f"{grafana}/api/health", ui_url=grafana)

    probes = [
        api.status,
        registry.status,
        flows.status,
        database.status,
        monitoring.prometheus_status,
        grafana_status,
    ]
    links = {
        "API docs": f"{settings.api_url.rstrip('/')}/docs",
        "MLflow": settings.tracking_uri if registry.remote else "",
        "Prefect": prefect_ui,
        "Prometheus": settings.prometheus_url,
        "Grafana": grafana,
    }
    infrastructure = InfrastructureManager(
        probes, _docker_client, settings.mlops_home, os.environ.get(MARKER_ENV) or None, guard=guard
    )
    runs = RunsManager(
        Runs(prefect_url, settings.tracking_uri) if prefect_url else None,
        settings.api_url,
        httpx.Client(timeout=PROBE_TIMEOUT),
        lambda: recent_events(engine),
        guard,
    )
    return Managers(
        settings,
        api,
        registry,
        flows,
        database,
        datasets,
        monitoring,
        infrastructure,
        auth,
        KubernetesManager(store, guard),
        {k: v for k, v in links.items() if v},
        runs,
        AutoMLManager(
            DatasetStore(engine, settings.datasets_dir, settings.dataset_max_bytes),
            settings.tracking_uri,
            subprocess_env(runner_env),
            guard=guard,
            settings=settings,
        ),
        AssistantManager(settings),
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
