"""mk/compose.mk, the make targets that drive the compose files."""

from __future__ import annotations

import re

import pytest
from tests.deploy.helpers import COMPOSE_FILES, REPO, run
from tests.tools import require_tool

FRAGMENT = REPO / "mk" / "compose.mk"
TARGETS = ("start-infra", "start-api", "start-monitor", "start-full", "stop", "compose-config")


@pytest.fixture(scope="module")
def make() -> str:
    return require_tool("make", "apt-get install make")


def _dry_run(make: str, target: str) -> list[str]:
    result = run(
        [
            make,
            "-s",
            "-n",
            "-f",
            str(FRAGMENT),
            target,
            "COMPOSE=docker compose",
            "COMPOSE_ENV_FILE=.env.example",
        ]
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if "docker compose" in line and " -f " in line]


def test_every_target_has_a_help_line() -> None:
    described = re.findall(r"^([a-z-]+):.*## \S", FRAGMENT.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert set(TARGETS) <= set(described)


def test_start_full_brings_the_files_up_in_order_and_waits_for_health(make: str) -> None:
    lines = _dry_run(make, "start-full")
    order = [
        name for line in lines for name, path in COMPOSE_FILES.items() if f"-f {path.name} up -d" in line
    ]
    assert order == ["infrastructure", "api", "monitor"]
    for line in lines:
        assert "--project-name rakuten-mlops --env-file .env.example" in line
        assert "deploy/compose/wait-healthy.sh" in line


def test_stop_removes_the_containers_of_every_file_but_keeps_the_volumes(make: str) -> None:
    (line,) = _dry_run(make, "stop")
    assert all(f"-f {path.name}" in line for path in COMPOSE_FILES.values())
    assert line.endswith(" down")


def test_compose_config_validates_every_file(make: str, docker_compose: str) -> None:
    result = run([make, "-s", "-f", str(FRAGMENT), "compose-config", f"COMPOSE={docker_compose}"])
    assert result.returncode == 0, result.stdout + result.stderr
    for path in COMPOSE_FILES.values():
        assert f"{path.name}: valid" in result.stdout
    assert "all files together: valid" in result.stdout


def test_publish_adds_each_named_service_file_to_the_compose_file_that_has_the_service(make: str) -> None:
    result = run(
        [
            make,
            "-s",
            "-n",
            "-f",
            str(FRAGMENT),
            "start-full",
            "COMPOSE=docker compose",
            "COMPOSE_ENV_FILE=.env.example",
            "PUBLISH=mlflow grafana",
        ]
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if " up -d" in line]
    infra, api, monitor = lines
    assert "-f deploy/compose/publish/mlflow.yml" in infra and "grafana" not in infra
    assert "-f deploy/compose/publish/mlflow-clients.yml" in api
    assert "-f deploy/compose/publish/grafana.yml" in monitor and "mlflow" not in monitor
    refused = run(
        [make, "-s", "-n", "-f", str(FRAGMENT), "start-full", "COMPOSE=docker compose", "PUBLISH=redis"]
    )
    assert refused.returncode != 0 and "PUBLISH may name" in refused.stderr
