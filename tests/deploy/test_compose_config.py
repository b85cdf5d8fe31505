"""The compose files as docker-compose reads them: valid alone and together, secrets enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.deploy.helpers import COMPOSE_FILES, ENV_EXAMPLE, NETWORK_NAME, PUBLISH_FILES, run

ALL_FILES = [arg for path in COMPOSE_FILES.values() for arg in ("-f", str(path))]


@pytest.mark.parametrize("name", list(COMPOSE_FILES))
def test_each_compose_file_is_valid_for_docker_compose(docker_compose: str, name: str) -> None:
    result = run(
        [docker_compose, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILES[name]), "config", "-q"]
    )
    assert result.returncode == 0, result.stderr


def test_the_three_files_make_one_stack_on_one_network(docker_compose: str) -> None:
    result = run([docker_compose, "--env-file", str(ENV_EXAMPLE), *ALL_FILES, "config"])
    assert result.returncode == 0, result.stderr
    stack = yaml.safe_load(result.stdout)
    assert set(stack["services"]) == {
        "postgres",
        "mlflow",
        "prefect-server",
        "api",
        "flows",
        "ui",
        "prometheus",
        "grafana",
    }
    assert [network["name"] for network in stack["networks"].values()] == [NETWORK_NAME]
    api_env = stack["services"]["api"]["environment"]
    assert api_env["API_KEY"] == "change-me-local-only-api-key"  # interpolated from .env.example
    assert "change-me-local-only-app-db@postgres:5432/" in api_env["DATABASE_URL"]


def _env_file_without(tmp_path: Path, secret: str) -> Path:
    lines = [
        line
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if not line.startswith(f"{secret}=")
    ]
    target = tmp_path / "without.env"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


# One secret per file here (about a second per docker-compose run); test_compose_rules.py
# checks that every secret of SECRETS is written ${VAR:?message} wherever it is used.
@pytest.mark.parametrize("secret", ["POSTGRES_PASSWORD", "API_KEY", "GRAFANA_ADMIN_PASSWORD", "SECRET_KEY"])
def test_a_missing_secret_stops_compose_and_names_it(
    docker_compose: str, tmp_path: Path, secret: str
) -> None:
    result = run(
        [docker_compose, "--env-file", str(_env_file_without(tmp_path, secret)), *ALL_FILES, "config", "-q"]
    )
    assert result.returncode != 0
    assert secret in result.stderr and ".env.example" in result.stderr, result.stderr


def test_with_every_opt_in_file_each_service_is_published_on_loopback(docker_compose: str) -> None:
    extra = [arg for path in PUBLISH_FILES.values() for arg in ("-f", str(path))]
    result = run([docker_compose, "--env-file", str(ENV_EXAMPLE), *ALL_FILES, *extra, "config"])
    assert result.returncode == 0, result.stderr
    stack = yaml.safe_load(result.stdout)["services"]
    published = {
        name: [(p["host_ip"], p["published"]) if isinstance(p, dict) else p for p in service.get("ports", [])]
        for name, service in stack.items()
    }
    assert {name for name, ports in published.items() if ports} == set(stack) - {"flows"}
    assert all("127.0.0.1" in str(port) for ports in published.values() for port in ports), published
    assert "--app-name basic-auth" in " ".join(stack["mlflow"]["command"])
    assert stack["api"]["environment"]["MLFLOW_TRACKING_USERNAME"] == "admin"


def test_publishing_mlflow_without_its_password_is_refused(docker_compose: str, tmp_path: Path) -> None:
    env_file = _env_file_without(tmp_path, "MLFLOW_ADMIN_PASSWORD")
    plain = run([docker_compose, "--env-file", str(env_file), *ALL_FILES, "config", "-q"])
    assert plain.returncode == 0, plain.stderr  # not needed while MLflow stays internal
    published = run(
        [
            docker_compose,
            "--env-file",
            str(env_file),
            *ALL_FILES,
            "-f",
            str(PUBLISH_FILES["mlflow"]),
            "config",
            "-q",
        ]
    )
    assert published.returncode != 0 and "MLFLOW_ADMIN_PASSWORD" in published.stderr
