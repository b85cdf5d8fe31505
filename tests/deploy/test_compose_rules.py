"""The rules every compose file keeps: one network, health-gated start order, no secret in the files."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.deploy.helpers import (
    COMPOSE_FILES,
    ENV_EXAMPLE,
    NETWORK_KEY,
    NETWORK_NAME,
    PUBLISH_FILES,
    PUBLISHED_BY_DEFAULT,
    REPO,
    SECRETS,
    load_yaml,
)

VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)([^}]*)\}")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY)$")
REQUIRED = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]*\.env\.example[^}]*\}$")
# scheme://user:password@host: written by hand, urlsplit stops at the "?" of ${VAR:?message}.
URL_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+]*://(?:\$\{[^}]*\}|[^:@/]+):(?P<password>[^@]+)@")


def _dockerfile_targets() -> set[str]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE))


def test_every_file_declares_the_shared_network(compose_docs: dict[str, dict[str, Any]]) -> None:
    for name, doc in compose_docs.items():
        assert doc["networks"] == {NETWORK_KEY: {"name": NETWORK_NAME}}, name


def test_every_service_is_on_the_shared_network(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("networks") == [NETWORK_KEY], name


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck", {})
        assert check.get("test") and check.get("interval") and check.get("retries"), name
        assert check.get("start_period"), f"{name}: a slow first start must not count as failures"


def test_start_order_waits_for_health_inside_each_file(compose_docs: dict[str, dict[str, Any]]) -> None:
    for file_name, doc in compose_docs.items():
        for name, service in doc["services"].items():
            for target, rule in service.get("depends_on", {}).items():
                assert target in doc["services"], f"{file_name}: {name} depends on {target} of another file"
                assert rule == {"condition": "service_healthy"}, f"{name} -> {target}"
                assert "healthcheck" in doc["services"][target], target


def test_the_api_services_wait_for_a_healthy_api(compose_docs: dict[str, dict[str, Any]]) -> None:
    api_file = compose_docs["api"]["services"]
    assert set(api_file["flows"]["depends_on"]) == {"api"}
    assert set(api_file["ui"]["depends_on"]) == {"api"}
    assert set(compose_docs["infrastructure"]["services"]["mlflow"]["depends_on"]) == {"postgres"}
    assert set(compose_docs["monitor"]["services"]["grafana"]["depends_on"]) == {"prometheus"}


@pytest.mark.parametrize("name", list(COMPOSE_FILES))
def test_every_use_of_a_secret_is_required_with_a_message(name: str) -> None:
    text = COMPOSE_FILES[name].read_text(encoding="utf-8")
    for variable, rest in VARIABLE.findall(text):
        if variable in SECRETS:
            assert rest.startswith(":?") and ".env.example" in rest, f"{name}: ${{{variable}{rest}}}"
    assert "change-me" not in text


def test_no_service_gets_a_literal_secret(services: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert REQUIRED.match(value), f"{name}.{key} must be ${{VAR:?message}}, not {value!r}"
            credentials = URL_CREDENTIALS.match(value)
            if credentials:
                password = credentials.group("password")
                assert REQUIRED.match(password), f"{name}.{key}: the URL's password must be ${{VAR:?message}}"
                checked += 1
    assert checked == 5  # DATABASE_URL of api, flows and ui; the MLflow and Prefect store URLs


def test_only_the_api_and_the_control_room_are_published_and_on_the_bind_address(
    services: dict[str, dict[str, Any]],
) -> None:
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == PUBLISHED_BY_DEFAULT
    for name in published:
        for mapping in services[name]["ports"]:
            assert mapping.startswith("${BIND_ADDRESS:-127.0.0.1}:"), f"{name}: {mapping}"


@pytest.mark.parametrize("name", [n for n in PUBLISH_FILES if n != "mlflow-clients"])
def test_each_other_service_is_published_only_by_its_own_opt_in_file_on_loopback(
    name: str, services: dict[str, dict[str, Any]]
) -> None:
    doc = load_yaml(PUBLISH_FILES[name])
    [(service, override)] = doc["services"].items()
    assert service in services and service not in PUBLISHED_BY_DEFAULT
    variable = f"{service.split('-')[0].upper()}_BIND_ADDRESS"
    assert [m.split(":")[0] for m in override["ports"]] == [f"${{{variable}"]
    assert all(m.startswith(f"${{{variable}:-127.0.0.1}}:") for m in override["ports"])


def test_a_published_mlflow_requires_a_password_and_its_clients_use_it() -> None:
    mlflow = load_yaml(PUBLISH_FILES["mlflow"])["services"]["mlflow"]
    assert "--app-name basic-auth" in " ".join(mlflow["command"])
    assert mlflow["environment"]["MLFLOW_AUTH_ADMIN_PASSWORD"].startswith("${MLFLOW_ADMIN_PASSWORD:?")
    assert "./deploy/mlflow/basic_auth.ini:/etc/mlflow/basic_auth.ini:ro" in mlflow["volumes"]
    clients = load_yaml(PUBLISH_FILES["mlflow-clients"])["services"]
    assert set(clients) == {"api", "flows", "ui"}
    for service in clients.values():
        assert service["environment"]["MLFLOW_TRACKING_PASSWORD"].startswith("${MLFLOW_ADMIN_PASSWORD:?")


def test_the_control_room_asks_for_a_sign_in_and_every_app_service_has_the_secret_key(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["ui"]["environment"]["UI_AUTH"] == "${UI_AUTH:-true}"
    for name in ("api", "flows", "ui"):
        environment = services[name]["environment"]
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?"), name
        assert environment["ADMIN_PASSWORD"].startswith("${ADMIN_PASSWORD:?"), name


def test_images_are_ours_from_the_dockerfile_or_pinned(services: dict[str, dict[str, Any]]) -> None:
    targets = _dockerfile_targets()
    for name, service in services.items():
        if "build" in service:
            assert service["build"]["context"] == "."
            assert service["build"]["target"] in targets, name
        else:
            image = service["image"]
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin a version of {image}"


def test_in_stack_urls_name_services_of_the_stack(services: dict[str, dict[str, Any]]) -> None:
    seen = set()
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            if not str(value).startswith(("http://", "postgresql")) or key == "PREFECT_UI_API_URL":
                continue
            host = str(value).split("@")[-1].split("://")[-1].split("/")[0].split(":")[0]
            assert host in services, f"{name}.{key}={value}: no service {host!r}"
            seen.add(host)
    assert {"postgres", "mlflow", "prefect-server", "api", "prometheus"} <= seen


def test_mlflow_answers_the_host_name_the_other_services_use(services: dict[str, dict[str, Any]]) -> None:
    mlflow = services["mlflow"]["environment"]
    tracking = urlsplit(services["api"]["environment"]["MLFLOW_TRACKING_URI"])
    allowed = mlflow["MLFLOW_SERVER_ALLOWED_HOSTS"].split(":-", 1)[1].rstrip("}").split(",")
    assert tracking.netloc in allowed
    assert mlflow["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def test_the_api_runs_several_workers_with_multiprocess_metrics_on_a_tmpfs(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    folder = api["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert any(entry.split(":")[0] == folder for entry in api["tmpfs"])
    workers = re.fullmatch(r"\$\{API_WORKERS:-(\d+)\}", api["environment"]["API_WORKERS"])
    assert workers and int(workers.group(1)) > 1


def test_prometheus_runs_our_config_and_scrapes_the_api_service(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    assert "./monitoring:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = load_yaml(REPO / "monitoring" / "prometheus.yml")
    for rules in config["rule_files"]:
        assert (REPO / "monitoring" / rules).is_file(), rules
    targets = [t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    assert "api:8000" in targets
    assert any(port.endswith(":8000") for port in services["api"]["ports"])
    assert "ports" not in prometheus  # internal unless published on purpose


def test_grafana_is_provisioned_from_our_files(services: dict[str, dict[str, Any]]) -> None:
    grafana = services["grafana"]
    provider = load_yaml(REPO / "grafana" / "provisioning" / "dashboards" / "rakuten.yml")
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"./grafana/dashboards:{dashboards_path}:ro" in grafana["volumes"]
    assert grafana["environment"]["PROMETHEUS_URL"] == "http://prometheus:9090"
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_postgres_creates_the_service_databases_with_our_script(services: dict[str, dict[str, Any]]) -> None:
    mount = next(v for v in services["postgres"]["volumes"] if "/docker-entrypoint-initdb.d/" in v)
    script = REPO / mount.split(":")[0]
    assert script.is_file() and os.access(script, os.X_OK)


def test_env_example_documents_every_variable_of_the_compose_files() -> None:
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assigned = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", example, flags=re.MULTILINE))
    used = {
        v for path in COMPOSE_FILES.values() for v, _ in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    assert used - documented == set()
    for secret in SECRETS:
        assert "change-me" in assigned[secret] and "local-only" in assigned[secret], secret
