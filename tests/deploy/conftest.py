"""Fixtures of the deployment tests: the compose files parsed, the docker-compose binary."""

from __future__ import annotations

from typing import Any

import pytest
from tests.deploy.helpers import COMPOSE_FILES, load_yaml
from tests.tools import require_tool


@pytest.fixture(scope="session")
def docker_compose() -> str:
    """Debian's docker-compose (1.29): `config` validates a file without a Docker engine."""
    return require_tool("docker-compose", "make system-deps installs Debian's docker-compose")


@pytest.fixture(scope="session")
def compose_docs() -> dict[str, dict[str, Any]]:
    """Each compose file as written, parsed by name (infrastructure, api, monitor)."""
    return {name: load_yaml(path) for name, path in COMPOSE_FILES.items()}


@pytest.fixture(scope="session")
def services(compose_docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every service of the stack by name, across the three files."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in compose_docs.values():
        for name, service in doc["services"].items():
            assert name not in merged, f"service {name} is defined in two compose files"
            merged[name] = service
    return merged
