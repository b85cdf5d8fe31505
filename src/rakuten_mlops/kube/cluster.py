"""A configured Kubernetes cluster: the client from the settings store, the live objects, a diff, server-side apply.

Nothing here runs without a cluster; the project's tests cover the rendering, the validation and the
diff against what the cluster answers (an empty cluster: everything is new).
"""

from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rakuten_mlops.errors import ConfigError, MlopsError

FIELD_MANAGER = "rakuten-mlops"
# Fields the cluster adds: left out of the diff, which compares what we manage.
_VOLATILE = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")


@dataclass(frozen=True)
class ClusterSettings:
    """How to reach the cluster: an API endpoint with a token (and its CA), or a kubeconfig file."""

    api_url: str | None = None
    token: str | None = None
    ca_cert: str | None = None
    kubeconfig: str | None = None

    @property
    def configured(self) -> bool:
        """Whether there is enough to reach a cluster."""
        return bool(self.kubeconfig or (self.api_url and self.token))


def api_client(settings: ClusterSettings) -> Any:
    """A kubernetes ApiClient for these settings (the token never leaves the client object)."""
    from kubernetes import client, config

    if not settings.configured:
        raise ConfigError(
            "no cluster is configured: set kubernetes.api_url and kubernetes.token, or kubernetes.kubeconfig"
        )
    if settings.kubeconfig:
        return config.new_client_from_config(config_file=settings.kubeconfig)  # type: ignore[no-untyped-call]
    configuration = client.Configuration()
    configuration.host = settings.api_url or ""
    configuration.api_key = {"authorization": f"Bearer {settings.token}"}
    if settings.ca_cert:
        with tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False) as handle:
            handle.write(settings.ca_cert)
        configuration.ssl_ca_cert = handle.name
    return client.ApiClient(configuration)


def _clean(live: dict[str, Any]) -> dict[str, Any]:
    live = {k: v for k, v in live.items() if k != "status"}
    metadata = {k: v for k, v in live.get("metadata", {}).items() if k not in _VOLATILE}
    annotations = {
        k: v
        for k, v in (metadata.get("annotations") or {}).items()
        if not k.startswith("kubectl.kubernetes.io/")
    }
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return {**live, "metadata": metadata}


def diff(rendered: list[dict[str, Any]], live: dict[tuple[str, str], dict[str, Any] | None]) -> str:
    """A unified diff from what the cluster has to what would be applied, resource by resource."""
    chunks: list[str] = []
    for resource in rendered:
        key = (resource["kind"], resource["metadata"]["name"])
        current = live.get(key)
        before = yaml.safe_dump(_clean(current), sort_keys=True).splitlines() if current else []
        after = yaml.safe_dump(resource, sort_keys=True).splitlines()
        name = f"{key[0]}/{key[1]}"
        chunks.extend(
            difflib.unified_diff(
                before,
                after,
                f"{name} (cluster)" if current else "/dev/null",
                f"{name} (rendered)",
                lineterm="",
            )
        )
    return "\n".join(chunks)


def read_live(api: Any, resources: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any] | None]:
    """The cluster's version of each resource (None when it does not exist yet)."""
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import NotFoundError

    dynamic = DynamicClient(api)  # type: ignore[no-untyped-call]
    found: dict[tuple[str, str], dict[str, Any] | None] = {}
    for resource in resources:
        meta = resource["metadata"]
        kind = dynamic.resources.get(api_version=resource["apiVersion"], kind=resource["kind"])
        try:
            found[(resource["kind"], meta["name"])] = kind.get(
                name=meta["name"], namespace=meta["namespace"]
            ).to_dict()
        except NotFoundError:
            found[(resource["kind"], meta["name"])] = None
    return found


def apply(api: Any, resources: list[dict[str, Any]]) -> list[str]:
    """Server-side apply every resource (idempotent); 'Kind/name' of each applied."""
    from kubernetes.dynamic import DynamicClient

    dynamic = DynamicClient(api)  # type: ignore[no-untyped-call]
    done = []
    for resource in resources:
        meta = resource["metadata"]
        kind = dynamic.resources.get(api_version=resource["apiVersion"], kind=resource["kind"])
        try:
            kind.server_side_apply(
                body=resource, name=meta["name"], namespace=meta["namespace"], field_manager=FIELD_MANAGER
            )
        except Exception as exc:  # the client raises ApiException, urllib3 and SSL errors alike
            raise MlopsError(
                f"applying {resource['kind']}/{meta['name']} failed: {type(exc).__name__}: {str(exc)[:300]}"
            ) from exc
        done.append(f"{resource['kind']}/{meta['name']}")
    return done


def write(resources_yaml: str, path: Path) -> Path:
    """Save rendered manifests for `kubectl apply -f`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(resources_yaml, encoding="utf-8")
    return path
