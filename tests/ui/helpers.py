"""Helpers shared by the control-room tests (imported by the conftest and by tests)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from rakuten_mlops.testing.processes import ServiceProcess

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "streamlit_app"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))  # what `streamlit run streamlit_app/Home.py` does for the app

ADMIN_KEY = "ui-admin-key"
# Settings the control room reads; a test sets every one it needs, nothing leaks from the shell.
UI_VARS = (
    "MLOPS_HOME",
    "DATABASE_URL",
    "MLFLOW_TRACKING_URI",
    "MODEL_NAME",
    "API_URL",
    "API_KEY",
    "PROMETHEUS_URL",
    "PREFECT_API_URL",
    "GRAFANA_URL",
    "DOCKER_HOST",
    "RAKUTEN_MLOPS_STACK",  # the marker of a native stack the tests themselves might run in
)


@dataclass
class LiveApi:
    """The API served by uvicorn on loopback over its own copy of the trained home."""

    url: str
    home: Path
    process: ServiceProcess


def copy_home(source: Path, target: Path) -> Path:
    """A private copy of a trained home (tests promote, acknowledge and ingest)."""
    shutil.copytree(source, target)
    return target


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without the control room's settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in UI_VARS}
    env.update(values)
    return env
