"""Helpers of the deployment tests: the repository's deployment files and the tools that check them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILES = {
    "infrastructure": REPO / "docker-compose.infrastructure.yml",
    "api": REPO / "docker-compose.api.yml",
    "monitor": REPO / "docker-compose.monitor.yml",
}
ENV_EXAMPLE = REPO / ".env.example"
# Opt-in files that publish one service each on the host (make start-full PUBLISH="...").
PUBLISH_DIR = REPO / "deploy" / "compose" / "publish"
PUBLISH_FILES = {path.stem: path for path in sorted(PUBLISH_DIR.glob("*.yml"))}
# What a fresh stack publishes: the API and the control room, nothing else.
PUBLISHED_BY_DEFAULT = {"api", "ui"}
# Every secret of the stack: compose must refuse to start without each of them.
SECRETS = (
    "POSTGRES_PASSWORD",
    "APP_DB_PASSWORD",
    "MLFLOW_DB_PASSWORD",
    "PREFECT_DB_PASSWORD",
    "API_KEY",
    "GRAFANA_ADMIN_PASSWORD",
    "SECRET_KEY",
    "ADMIN_PASSWORD",
    "MLFLOW_ADMIN_PASSWORD",
)
NETWORK_KEY = "rakuten"
NETWORK_NAME = "rakuten-mlops"


def load_yaml(path: Path) -> Any:
    """One YAML document (anchors and merge keys resolved)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def clean_env() -> dict[str, str]:
    """An environment without the caller's settings, so only the files under test count."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
    }


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository with a clean environment; never raise on failure."""
    kwargs.setdefault("env", clean_env())
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120, check=False, **kwargs)
