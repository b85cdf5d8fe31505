"""What the native stack runs, built from the settings and the ports: `build_plan()`.

Every service listens on 127.0.0.1. The app services (API, control room, deployments) reach
the stack's own MLflow and Prefect servers over HTTP. The MLflow server keeps the settings'
tracking URI (SQLite or PostgreSQL) as its backend store, so the models registered before
the stack started stay in the registry, and loadable: their artifacts are absolute local paths.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from rakuten_mlops.stack.services import HOST, MARKER_ENV, Ports, Service, StackError, StackPlan, project_root

if TYPE_CHECKING:  # the wait helper and the event listener import this package: keep it free of SQLAlchemy
    from rakuten_mlops.config import Settings

BASE = f"http://{HOST}"
PYTHON = sys.executable
PREFECT = str(Path(sys.executable).with_name("prefect"))


def mlflow_service(ports: Ports) -> Service:
    """The MLflow server: one worker; its stores come from the environment (see `build_plan`)."""
    url = f"{BASE}:{ports.mlflow}"
    return Service(
        name="mlflow",
        title="MLflow",
        command=(
            PYTHON,
            "-m",
            "mlflow",
            "server",
            "--host",
            HOST,
            "--port",
            str(ports.mlflow),
            "--workers",
            "1",
        ),
        health_url=f"{url}/health",
        port=ports.mlflow,
        url=url,
        option="--mlflow-port",
    )


def prefect_service(ports: Ports) -> Service:
    """The Prefect server (its database under PREFECT_HOME)."""
    url = f"{BASE}:{ports.prefect}"
    return Service(
        name="prefect",
        title="Prefect",
        command=(PREFECT, "server", "start", "--host", HOST, "--port", str(ports.prefect)),
        health_url=f"{url}/api/health",
        port=ports.prefect,
        url=url,
        option="--prefect-port",
    )


def api_service(ports: Ports, after: tuple[str, ...]) -> Service:
    """The prediction API, once the registry answers."""
    url = f"{BASE}:{ports.api}"
    return Service(
        name="api",
        title="API",
        command=(PYTHON, "-m", "rakuten_mlops.cli", "serve", "--host", HOST, "--port", str(ports.api)),
        # /health, not /ready: a fresh state has no champion yet, and the API is up all the same.
        health_url=f"{url}/health",
        port=ports.api,
        url=url,
        after=after,
        option="--api-port",
    )


def flows_service(prefect: Service, after: tuple[str, ...]) -> Service:
    """The process serving the deployments (flows/deployments.py), once Prefect answers."""
    return Service(
        name="flows",
        title="Prefect deployments",
        command=(PYTHON, "-m", "flows.deployments"),
        # Answers once the serving process has registered its deployments with the server.
        health_url=f"{prefect.url}/api/deployments/name/training-pipeline/on-demand",
        url=f"{prefect.url}/deployments",
        after=(prefect.health_url, *after),
        # On SIGTERM it pauses every schedule through the server, then shuts down: seconds when
        # idle, several times that on a busy machine; killed before, it leaves them active with
        # nothing to run them.
        stop_seconds=30,
    )


def ui_service(ports: Ports, root: Path) -> Service:
    """The Streamlit control room, headless."""
    page = root / "streamlit_app" / "Home.py"
    if not page.is_file():
        raise StackError(f"the control room {page} is missing; run from the repository or pass --no-ui")
    url = f"{BASE}:{ports.ui}"
    server = ("--server.port", str(ports.ui), "--server.address", HOST, "--server.headless", "true")
    # toolbarMode viewer: no "Deploy" button or developer menu, which mean nothing to this app's users.
    client = ("--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer")
    return Service(
        name="ui",
        title="control room",
        command=(PYTHON, "-m", "streamlit", "run", str(page), *server, *client),
        health_url=f"{url}/_stcore/health",
        port=ports.ui,
        url=url,
        option="--ui-port",
    )


def prometheus_service(ports: Ports, config: Path, storage: Path) -> Service:
    """Prometheus, scraping the stack's API with the repository's alert rules."""
    url = f"{BASE}:{ports.prometheus}"
    return Service(
        name="prometheus",
        title="Prometheus",
        command=(
            shutil.which("prometheus") or "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={storage}",
            f"--web.listen-address={HOST}:{ports.prometheus}",
        ),
        health_url=f"{url}/-/ready",
        port=ports.prometheus,
        url=url,
        option="--prometheus-port",
    )


def build_plan(
    settings: Settings,
    ports: Ports | None = None,
    *,
    ui: bool = True,
    prometheus: bool = True,
    root: Path | None = None,
    token: str | None = None,
    api_key: str | None = None,
) -> StackPlan:
    """The services of the stack, in start order, and the environment they share.

    `api_key` (see `keys.stack_api_key`) goes to the API, the control room and the deployments alike.
    """
    ports = ports or Ports()
    root = (root or project_root()).resolve()
    home = settings.mlops_home
    prefect = prefect_service(ports)
    env = {
        "MLOPS_HOME": str(home),
        "DATABASE_URL": settings.db_url,
        "MODEL_NAME": settings.model_name,
        "API_URL": f"{BASE}:{ports.api}",
        "PREFECT_API_URL": f"{prefect.url}/api",
        "PREFECT_UI_URL": str(prefect.url),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "PYTHONUNBUFFERED": "1",
        MARKER_ENV: token or uuid.uuid4().hex,
    }
    key = settings.api_key or api_key  # a key the user set wins
    if key:
        env["API_KEY"] = key
    services: list[Service] = []
    notes: list[str] = []
    registry: tuple[str, ...] = ()
    tracking = settings.tracking_uri
    if tracking.startswith(("http://", "https://")):
        env["MLFLOW_TRACKING_URI"] = tracking  # an MLflow server the user already runs
        notes.append(f"MLflow: using the server at {tracking} (MLFLOW_TRACKING_URI); none started")
    else:
        mlflow = mlflow_service(ports)
        services.append(mlflow)
        registry = (mlflow.health_url,)
        env["MLFLOW_TRACKING_URI"] = str(mlflow.url)
        # Given through the environment, so a database password never shows in the process list.
        env["MLFLOW_BACKEND_STORE_URI"] = tracking
        env["MLFLOW_ARTIFACTS_DESTINATION"] = settings.artifacts_dir.as_uri()
    services += [prefect, api_service(ports, registry), flows_service(prefect, registry)]
    if ui:
        services.append(ui_service(ports, root))
    config: Path | None = None
    env["PROMETHEUS_URL"] = settings.prometheus_url
    if prometheus:
        config = home / "stack" / "prometheus.yml"
        services.append(prometheus_service(ports, config, home / "prometheus"))
        env["PROMETHEUS_URL"] = str(services[-1].url)
    return StackPlan(
        home=home,
        root=root,
        services=tuple(services),
        env=env,
        token=env[MARKER_ENV],
        ports=ports,
        prometheus_config=config,
        notes=tuple(notes),
    )
