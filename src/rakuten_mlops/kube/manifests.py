"""The Prometheus and Grafana manifests of the monitoring stack, rendered for one namespace and validated.

The configuration is the repository's own (monitoring/prometheus.yml and alerts.yml, grafana/
provisioning and dashboards), so Kubernetes runs what docker compose runs; only the scrape targets
change: Prometheus finds every API pod of the namespace through the DNS of a headless Service
(each replica is scraped, never the load-balanced Service, so counters never jump between replicas). Validation is strict against the Kubernetes API schemas,
offline (kubernetes-validate).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from rakuten_mlops.errors import DataError

PROMETHEUS_IMAGE = "prom/prometheus:v2.55.1"
GRAFANA_IMAGE = "grafana/grafana:11.6.0"
PROMETHEUS, GRAFANA = "rakuten-prometheus", "rakuten-grafana"
# The API of deploy/k8s: its pods' label and port; Prometheus reaches each pod through API_PODS.
API_NAME, API_PORT, API_PODS = "rakuten-api", 8000, "rakuten-api-pods"
GRAFANA_SECRET = (
    "rakuten-grafana"  # created by hand: kubectl create secret generic ... --from-literal=admin-password=...
)
SCHEMA_VERSIONS = ("1.29.0", "1.37.0")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
Resource = dict[str, Any]


def _labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": "rakuten-mlops",
        "app.kubernetes.io/component": component,
    }


def _meta(name: str, namespace: str, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": _labels(name, component)}


def prometheus_config(config_root: Path, namespace: str) -> dict[str, Any]:
    """monitoring/prometheus.yml scraping every API pod of `namespace` (DNS of a headless Service), not api:8000."""
    config: dict[str, Any] = yaml.safe_load(
        (config_root / "monitoring" / "prometheus.yml").read_text("utf-8")
    )
    for job in config["scrape_configs"]:
        if job["job_name"] == "rakuten-api":
            job.pop("static_configs", None)
            names = [f"{API_PODS}.{namespace}.svc"]
            job["dns_sd_configs"] = [
                {"names": names, "type": "A", "port": API_PORT, "refresh_interval": "30s"}
            ]
    return config


def _api_pods(namespace: str) -> Resource:
    """A headless Service over the API's pods: its DNS name answers one address per ready pod."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(API_PODS, namespace, "monitoring"),
        "spec": {
            "clusterIP": "None",
            "selector": {"app.kubernetes.io/name": API_NAME},
            "ports": [{"name": "http", "port": API_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _prometheus(config_root: Path, namespace: str) -> list[Resource]:
    alerts = (config_root / "monitoring" / "alerts.yml").read_text("utf-8")
    config = yaml.safe_dump(prometheus_config(config_root, namespace), sort_keys=False)
    labels = _labels(PROMETHEUS, "monitoring")
    container = {
        "name": "prometheus",
        "image": PROMETHEUS_IMAGE,
        "args": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=15d",
        ],
        "ports": [{"name": "http", "containerPort": 9090}],
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/-/healthy", "port": "http"}, "periodSeconds": 30},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/prometheus", "readOnly": True},
            {"name": "data", "mountPath": "/prometheus"},
        ],
    }
    return [
        _api_pods(namespace),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"{PROMETHEUS}-config", namespace, "monitoring"),
            "data": {"prometheus.yml": config, "alerts.yml": alerts},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(PROMETHEUS, namespace, "monitoring"),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": PROMETHEUS}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "fsGroup": 65534},
                        "containers": [container],
                        "volumes": [
                            {"name": "config", "configMap": {"name": f"{PROMETHEUS}-config"}},
                            {"name": "data", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
        _service(PROMETHEUS, namespace, 9090),
    ]


def _service(name: str, namespace: str, port: int) -> Resource:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, namespace, "monitoring"),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _grafana(config_root: Path, namespace: str) -> list[Resource]:
    grafana = config_root / "grafana"
    dashboards = {p.name: p.read_text("utf-8") for p in sorted((grafana / "dashboards").glob("*.json"))}
    for name, text in dashboards.items():
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"grafana/dashboards/{name} is not valid JSON: {exc.msg} (line {exc.lineno})"
            ) from None
    provisioning = {
        "datasources.yml": (grafana / "provisioning" / "datasources" / "prometheus.yml").read_text("utf-8"),
        "dashboards.yml": (grafana / "provisioning" / "dashboards" / "rakuten.yml").read_text("utf-8"),
    }
    container = {
        "name": "grafana",
        "image": GRAFANA_IMAGE,
        "ports": [{"name": "http", "containerPort": 3000}],
        "env": [
            {"name": "GF_SECURITY_ADMIN_USER", "value": "admin"},
            {
                "name": "GF_SECURITY_ADMIN_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": GRAFANA_SECRET, "key": "admin-password"}},
            },
            {"name": "GF_USERS_ALLOW_SIGN_UP", "value": "false"},
            {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "false"},
            {"name": "GF_ANALYTICS_REPORTING_ENABLED", "value": "false"},
            {"name": "PROMETHEUS_URL", "value": f"http://{PROMETHEUS}:9090"},
        ],
        "readinessProbe": {"httpGet": {"path": "/api/health", "port": "http"}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {
                "name": "provisioning",
                "mountPath": "/etc/grafana/provisioning/datasources/prometheus.yml",
                "subPath": "datasources.yml",
            },
            {
                "name": "provisioning",
                "mountPath": "/etc/grafana/provisioning/dashboards/rakuten.yml",
                "subPath": "dashboards.yml",
            },
            {"name": "dashboards", "mountPath": "/var/lib/grafana/dashboards", "readOnly": True},
            {"name": "data", "mountPath": "/var/lib/grafana"},
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"{GRAFANA}-provisioning", namespace, "monitoring"),
            "data": provisioning,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"{GRAFANA}-dashboards", namespace, "monitoring"),
            "data": dashboards,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(GRAFANA, namespace, "monitoring"),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": GRAFANA}},
                "template": {
                    "metadata": {"labels": _labels(GRAFANA, "monitoring")},
                    "spec": {
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 472, "fsGroup": 472},
                        "containers": [container],
                        "volumes": [
                            {"name": "provisioning", "configMap": {"name": f"{GRAFANA}-provisioning"}},
                            {"name": "dashboards", "configMap": {"name": f"{GRAFANA}-dashboards"}},
                            {"name": "data", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
        _service(GRAFANA, namespace, 3000),
    ]


def render_monitoring(namespace: str, config_root: Path) -> list[Resource]:
    """Every resource of the monitoring stack in `namespace`, from the configuration under `config_root`."""
    if not _NAMESPACE.fullmatch(namespace):
        raise DataError(
            f"namespace {namespace[:80]!r} is not valid: 1 to 63 lower-case letters, digits or '-'"
        )
    if not (config_root / "monitoring" / "prometheus.yml").is_file():
        raise DataError(
            f"{config_root / 'monitoring' / 'prometheus.yml'} is missing: run from the project's folder"
        )
    return _prometheus(config_root, namespace) + _grafana(config_root, namespace)


def validate(resources: list[Resource], versions: tuple[str, ...] = SCHEMA_VERSIONS) -> list[str]:
    """Every schema error, as 'Kind/name (Kubernetes V): message'; empty when all are valid."""
    import kubernetes_validate

    problems = []
    for resource in resources:
        for version in versions:
            try:
                kubernetes_validate.validate(resource, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(
                    f"{resource['kind']}/{resource['metadata']['name']} (Kubernetes {version}): {exc.message}"
                )
    return problems


def to_yaml(resources: list[Resource]) -> str:
    """The resources as one multi-document YAML file (what `kubectl apply -f` takes)."""
    return str(yaml.safe_dump_all(resources, sort_keys=False))
