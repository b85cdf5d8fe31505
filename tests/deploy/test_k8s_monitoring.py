"""The monitoring stack rendered for a namespace: valid Kubernetes, consistent, the project's own configuration."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.deploy.helpers import REPO
from tests.tools import require_module, require_tool

from rakuten_mlops.errors import DataError
from rakuten_mlops.kube.cluster import diff
from rakuten_mlops.kube.manifests import GRAFANA_SECRET, render_monitoring, to_yaml, validate

NAMESPACE = "team-a"


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render_monitoring(NAMESPACE, REPO)


def by_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind]


def test_every_rendered_manifest_validates_strictly_for_old_and_new_kubernetes(
    rendered: list[dict[str, Any]],
) -> None:
    require_module("kubernetes_validate", "the kubernetes-validate dependency")
    assert validate(rendered) == []
    assert {r["kind"] for r in rendered} == {"ConfigMap", "Deployment", "Service"}


def test_validation_names_the_resource_and_the_field_that_is_wrong(rendered: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(
        next(s for s in by_kind(rendered, "Service") if s["metadata"]["name"] == "rakuten-prometheus")
    )
    broken["spec"]["prots"] = broken["spec"].pop("ports")
    [problem, _] = validate([broken])
    assert problem.startswith("Service/rakuten-prometheus (Kubernetes 1.29.0):") and "'prots'" in problem


def test_everything_is_in_the_namespace_and_no_secret_value_is_written(
    rendered: list[dict[str, Any]],
) -> None:
    assert all(r["metadata"]["namespace"] == NAMESPACE for r in rendered)
    assert not by_kind(rendered, "Secret")
    grafana = next(d for d in by_kind(rendered, "Deployment") if d["metadata"]["name"] == "rakuten-grafana")
    env = {e["name"]: e for e in grafana["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == GRAFANA_SECRET
    assert env["PROMETHEUS_URL"]["value"] == "http://rakuten-prometheus:9090"


def test_selectors_match_pod_labels_and_services_point_at_container_ports(
    rendered: list[dict[str, Any]],
) -> None:
    for deployment in by_kind(rendered, "Deployment"):
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        service = next(
            s for s in by_kind(rendered, "Service") if s["metadata"]["name"] == deployment["metadata"]["name"]
        )
        assert service["spec"]["selector"].items() <= labels.items()
        ports = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
        maps = {v["configMap"]["name"] for v in pod["spec"]["volumes"] if "configMap" in v}
        assert maps <= {c["metadata"]["name"] for c in by_kind(rendered, "ConfigMap")}


def test_prometheus_reaches_every_pod_of_the_api_deployment_through_a_headless_service(
    rendered: list[dict[str, Any]],
) -> None:
    headless = next(s for s in by_kind(rendered, "Service") if s["metadata"]["name"] == "rakuten-api-pods")
    assert headless["spec"]["clusterIP"] == "None"
    api = yaml.safe_load((REPO / "deploy" / "k8s" / "api-deployment.yaml").read_text(encoding="utf-8"))
    pod = api["spec"]["template"]
    assert headless["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    container_ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert headless["spec"]["ports"][0]["port"] == container_ports[headless["spec"]["ports"][0]["targetPort"]]


def test_the_prometheus_config_is_ours_passes_promtool_and_scrapes_every_api_pod(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    promtool = require_tool("promtool", "make system-deps installs Debian's prometheus")
    config_map = next(
        c for c in by_kind(rendered, "ConfigMap") if c["metadata"]["name"] == "rakuten-prometheus-config"
    )
    for name, text in config_map["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert config_map["data"]["alerts.yml"] == (REPO / "monitoring" / "alerts.yml").read_text(
        encoding="utf-8"
    )
    config = yaml.safe_load(config_map["data"]["prometheus.yml"])
    api = next(j for j in config["scrape_configs"] if j["job_name"] == "rakuten-api")
    assert api["dns_sd_configs"] == [
        {"names": [f"rakuten-api-pods.{NAMESPACE}.svc"], "type": "A", "port": 8000, "refresh_interval": "30s"}
    ]
    assert "static_configs" not in api


def test_grafana_gets_the_repository_dashboards_and_provisioning(rendered: list[dict[str, Any]]) -> None:
    dashboards = next(
        c for c in by_kind(rendered, "ConfigMap") if c["metadata"]["name"] == "rakuten-grafana-dashboards"
    )
    assert dashboards["data"] == {
        "rakuten.json": (REPO / "grafana" / "dashboards" / "rakuten.json").read_text(encoding="utf-8")
    }
    json.loads(dashboards["data"]["rakuten.json"])


def test_a_bad_namespace_is_refused_and_the_yaml_round_trips(rendered: list[dict[str, Any]]) -> None:
    with pytest.raises(DataError, match="namespace 'Team_A' is not valid"):
        render_monitoring("Team_A", REPO)
    assert list(yaml.safe_load_all(to_yaml(rendered))) == rendered


def test_the_diff_against_an_empty_cluster_adds_everything_and_against_itself_nothing(
    rendered: list[dict[str, Any]],
) -> None:
    empty = diff(rendered, {})
    assert empty.count("+++ ") == len(rendered) and "-kind" not in empty
    live = {
        (r["kind"], r["metadata"]["name"]): {**copy.deepcopy(r), "status": {"replicas": 1}} for r in rendered
    }
    for value in live.values():
        value["metadata"]["resourceVersion"] = "42"
    assert diff(rendered, live) == ""
    live[("Deployment", "rakuten-grafana")]["spec"]["replicas"] = 3
    changed = diff(rendered, live)
    assert "-  replicas: 3" in changed and "+  replicas: 1" in changed
