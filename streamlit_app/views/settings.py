"""Settings: the LLM backend, Kubernetes, the container registry and the alert webhooks; secrets shown masked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import current_user, explain_refusal, permission
from components.status import attempt
from rakuten_mlops.auth.settings_store import SPECS
from services import managers

WEBHOOKS_EXAMPLE = '[{"name": "ops", "url": "https://hooks.slack.com/services/...", "format": "slack"}]'

m = managers()
user = current_user()
can_change, why_not = permission("settings")
can_notify, why_not_notify = permission("notify")
st.title("Settings")
st.caption(
    "Stored in the database; secrets are encrypted with SECRET_KEY and only ever shown masked. "
    "Each value is read where it is used, so a change counts from the next alert, question or deployment, "
    "without a restart."
)
if message := st.session_state.pop("settings_message", None):
    st.success(message, icon=":material/check_circle:")
    st.session_state["setting-value"] = ""  # a saved secret does not stay in the field

views = attempt("Reading the settings", m.auth.settings)
if views is not None:
    frame = pd.DataFrame(
        [
            {"section": v.section, "setting": v.label, "key": v.key, "value": v.shown, "from": v.source}
            for v in views
        ]
    )
    st.dataframe(frame, hide_index=True, key="settings-table")

st.subheader("Change a setting")
explain_refusal(why_not)
key = st.selectbox(
    "Setting",
    list(SPECS),
    format_func=lambda k: f"{SPECS[k].section} · {SPECS[k].label}",
    key="setting-key",
    disabled=not can_change,
)
spec = SPECS[key]
if spec.kind in ("webhooks", "pem"):
    placeholder = WEBHOOKS_EXAMPLE if spec.kind == "webhooks" else "-----BEGIN CERTIFICATE-----"
    value = st.text_area("New value", key="setting-value", placeholder=placeholder, disabled=not can_change)
else:
    value = st.text_input(
        "New value",
        key="setting-value",
        type="password" if spec.secret else "default",
        disabled=not can_change,
    )
if spec.secret:
    st.caption("A secret: stored encrypted, shown back masked, never logged.")
save, remove = st.columns(2)
if save.button(
    "Save", type="primary", key="setting-save", disabled=not can_change or not value, help=why_not
):
    stored = attempt(f"Saving {key}", m.auth.set_setting, key, value, actor=user)
    if stored is not None:
        st.session_state["settings_message"] = f"{stored.label} saved: {stored.shown}"
        st.rerun()
removed = remove.button("Remove from the store", key="setting-unset", disabled=not can_change, help=why_not)
if removed and attempt(f"Removing {key}", m.auth.unset_setting, key, actor=user) is not None:
    st.session_state["settings_message"] = f"{spec.label} removed"
    st.rerun()

st.subheader("Alert delivery")
st.caption(
    "New alerts are posted to the webhooks by the monitoring flow and when a flow fails; "
    "failed deliveries are retried then. Send what is pending now:"
)
explain_refusal(why_not_notify)
if st.button("Deliver pending alerts", key="deliver-alerts", disabled=not can_notify, help=why_not_notify):
    done = attempt("Delivering alerts", m.auth.deliver_alerts, actor=user)
    if done is not None:
        if not done:
            st.info("Nothing to deliver: no webhook configured, or every open alert already delivered.")
        for d in done:
            st.write(f"alert {d.alert_id} → {d.webhook}: **{d.status}** after {d.attempts} attempt(s)")
