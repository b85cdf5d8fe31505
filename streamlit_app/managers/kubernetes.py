"""The monitoring stack on Kubernetes: rendered for the configured namespace, validated, diffed, applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from managers.base import short_database_error
from managers.guard import Guard
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.auth.settings_store import SettingsStore
from rakuten_mlops.errors import DatabaseError, DataError
from rakuten_mlops.kube import cluster
from rakuten_mlops.kube.manifests import render_monitoring, to_yaml, validate

# monitoring/ and grafana/ sit beside streamlit_app/ in the repository and in the control room's image.
CONFIG_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_NAMESPACE = "rakuten-mlops"


@dataclass(frozen=True)
class Rendered:
    """The manifests for one namespace, as YAML, with every schema problem found."""

    namespace: str
    resources: list[dict[str, Any]]
    yaml: str
    problems: list[str]


class KubernetesManager:
    """Renders with the repository's monitoring files; reaches the cluster of the settings store when configured."""

    def __init__(
        self,
        store: SettingsStore,
        guard: Guard | None = None,
        config_root: Path = CONFIG_ROOT,
        api_factory: Callable[[cluster.ClusterSettings], Any] = cluster.api_client,
    ) -> None:
        self._store = store
        self._guard = guard or Guard()
        self._root = config_root
        self._api_factory = api_factory

    def _get(self, key: str) -> str | None:
        try:
            return self._store.get(key)
        except DatabaseError as exc:
            raise short_database_error("reading the settings", self._store.database_url, exc) from exc

    def namespace(self) -> str:
        """The configured namespace, or the project's default."""
        return self._get("kubernetes.namespace") or DEFAULT_NAMESPACE

    def cluster(self) -> cluster.ClusterSettings:
        """How to reach the cluster, read from the settings store now (a change needs no restart)."""
        get = self._get
        return cluster.ClusterSettings(
            get("kubernetes.api_url"),
            get("kubernetes.token"),
            get("kubernetes.ca_cert"),
            get("kubernetes.kubeconfig"),
        )

    def render(self, namespace: str | None = None) -> Rendered:
        """The Prometheus and Grafana manifests for `namespace` (default: the configured one), validated."""
        chosen = namespace or self.namespace()
        resources = render_monitoring(chosen, self._root)
        return Rendered(chosen, resources, to_yaml(resources), validate(resources))

    def diff(self, rendered: Rendered) -> str:
        """What applying would change: against the cluster when configured, else everything is new."""
        settings = self.cluster()
        live = (
            cluster.read_live(self._api_factory(settings), rendered.resources) if settings.configured else {}
        )
        return cluster.diff(rendered.resources, live)

    def apply(self, rendered: Rendered, *, actor: Principal) -> list[str]:
        """Server-side apply the manifests to the configured cluster (admin); refused while one is invalid."""

        def work() -> list[str]:
            if rendered.problems:
                raise DataError(f"the manifests are not valid: {rendered.problems[0]}")
            return cluster.apply(self._api_factory(self.cluster()), rendered.resources)

        arguments = {"namespace": rendered.namespace, "resources": len(rendered.resources)}
        return self._guard.run(actor, "deploy", arguments, work)
