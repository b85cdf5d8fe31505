"""The Kubernetes manifests of the API: valid against the API schemas and consistent with each other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.deploy.helpers import REPO, load_yaml
from tests.tools import require_module

K8S = REPO / "deploy" / "k8s"
MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")
# The oldest Kubernetes still widely run and the newest the validator knows.
VERSIONS = ("1.29.0", "1.37.0")


def _resources() -> dict[str, dict[str, Any]]:
    found = {}
    for path in MANIFESTS:
        doc = load_yaml(path)
        found[doc["kind"]] = doc
    return found


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    return _resources()


@pytest.fixture(scope="module")
def container(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = resources["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_validates_strictly_against_the_kubernetes_schema(path: Path, version: str) -> None:
    kubernetes_validate = require_module("kubernetes_validate", "the dev extra's kubernetes-validate")
    # strict: an unknown or misspelt field fails instead of being silently dropped by the cluster.
    kubernetes_validate.validate(load_yaml(path), version, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == [path.name for path in MANIFESTS]


def test_everything_is_in_one_namespace_and_no_secret_value_is_committed(
    resources: dict[str, dict[str, Any]],
) -> None:
    assert "Secret" not in resources
    namespace = resources["Namespace"]["metadata"]["name"]
    for kind, doc in resources.items():
        if kind != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, kind


def test_selectors_match_the_pod_labels(resources: dict[str, dict[str, Any]]) -> None:
    pod_labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for selector in (
        resources["Deployment"]["spec"]["selector"]["matchLabels"],
        resources["Service"]["spec"]["selector"],
        resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
    ):
        assert selector and selector.items() <= pod_labels.items()


def test_the_service_and_the_scrape_annotation_point_at_the_container_port(
    resources: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8000}
    for service_port in resources["Service"]["spec"]["ports"]:
        assert service_port["targetPort"] in ports
    annotations = resources["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == 8000
    assert annotations["prometheus.io/path"] == "/metrics"


def test_probes_use_health_for_liveness_and_ready_for_readiness(container: dict[str, Any]) -> None:
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


def test_the_autoscaler_drives_the_deployment_from_several_replicas(
    resources: dict[str, dict[str, Any]],
) -> None:
    deployment, hpa = resources["Deployment"], resources["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": deployment["apiVersion"],
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert 2 <= hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"] < hpa["spec"]["maxReplicas"]
    assert resources["PodDisruptionBudget"]["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]


def test_cpu_requests_exist_for_the_autoscaler(container: dict[str, Any]) -> None:
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["limits"]["memory"]


def test_multiprocess_metrics_live_in_an_in_memory_empty_dir(
    resources: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    env = {item["name"]: item for item in container["env"]}
    folder = env["PROMETHEUS_MULTIPROC_DIR"]["value"]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == folder)
    volumes = {v["name"]: v for v in resources["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mount["name"]]["emptyDir"]["medium"] == "Memory"
    workers = resources["ConfigMap"]["data"]["API_WORKERS"]
    assert int(workers) > 1


def test_secrets_are_referenced_never_written(
    resources: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    env = {item["name"]: item for item in container["env"]}
    for name in ("API_KEY", "DATABASE_URL"):
        assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"], name
    config = resources["ConfigMap"]["data"]
    assert not {"API_KEY", "DATABASE_URL"} & set(config)
    assert container["envFrom"] == [{"configMapRef": {"name": resources["ConfigMap"]["metadata"]["name"]}}]


def test_the_pod_runs_as_the_image_user_on_a_read_only_root(
    resources: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    pod_security = resources["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    dockerfile_user = re.search(r"^USER (\d+):(\d+)$", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert dockerfile_user and pod_security["runAsUser"] == int(dockerfile_user.group(1))
    assert pod_security["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    writable = {m["mountPath"] for m in container["volumeMounts"]}
    config = resources["ConfigMap"]["data"]
    assert {"/tmp", config["MLOPS_HOME"]} <= writable  # what the API writes: temp files, spool
