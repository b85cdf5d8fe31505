"""Kubernetes: the monitoring stack (Prometheus, Grafana) rendered for the namespace, validated, diffed, applied."""

from __future__ import annotations

import streamlit as st

from components.auth import current_user, explain_refusal, permission
from components.status import attempt
from managers.kubernetes import DEFAULT_NAMESPACE
from rakuten_mlops.kube.cluster import ClusterSettings
from services import managers

m = managers()
user = current_user()
can_deploy, why_not = permission("deploy")
st.title("Kubernetes")
st.caption(
    "Prometheus and Grafana with the project's own configuration: Prometheus finds every API pod of the "
    "namespace by its prometheus.io annotations. Cluster and namespace come from the Settings page."
)
target = attempt("Reading the cluster settings", m.kubernetes.cluster) or ClusterSettings()
configured = attempt("Reading the namespace", m.kubernetes.namespace) or DEFAULT_NAMESPACE
namespace = st.text_input("Namespace", configured, key="k8s-namespace")
rendered = attempt("Rendering the manifests", m.kubernetes.render, namespace.strip() or None)
if rendered is not None:
    if rendered.problems:
        st.error(
            "Not valid against the Kubernetes schemas:\n\n" + "\n".join(f"- {p}" for p in rendered.problems)
        )
    else:
        st.success(
            f"{len(rendered.resources)} resources for namespace `{rendered.namespace}`, valid against the "
            "Kubernetes 1.29 and 1.37 schemas.",
            icon=":material/verified:",
        )
    st.download_button(
        "Download the manifests", rendered.yaml, file_name=f"monitoring-{rendered.namespace}.yaml"
    )
    st.caption(
        f"Grafana's admin password comes from the Secret `rakuten-grafana` (key `admin-password`): "
        f"`kubectl -n {rendered.namespace} create secret generic rakuten-grafana --from-literal=admin-password=...`"
    )
    st.subheader("What applying changes")
    if not target.configured:
        st.info("No cluster configured: the diff is against an empty namespace.", icon=":material/info:")
    changes = attempt("Comparing with the cluster", m.kubernetes.diff, rendered)
    if changes is not None:
        st.code(changes or "(nothing changes)", language="diff")
    no_cluster = None if target.configured else "configure a cluster on the Settings page first"
    reason = why_not or no_cluster
    explain_refusal(reason)
    pressed = st.button(
        "Apply to the cluster",
        type="primary",
        key="k8s-apply",
        disabled=reason is not None or bool(rendered.problems),
        help=reason,
    )
    if pressed:
        applied = attempt("Applying", m.kubernetes.apply, rendered, actor=user)
        if applied is not None:
            st.success(f"Applied: {', '.join(applied)}", icon=":material/check_circle:")
