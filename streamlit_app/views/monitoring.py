"""Monitoring: drift history, every report on demand, a check followed here, live traffic, alerts, links."""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as html_component

from components import charts
from components.auth import current_user, explain_refusal, permission
from components.follow import follow
from components.status import attempt, link_buttons
from components.when import local
from managers.flows import MONITORING
from services import managers

m = managers()
user = current_user()
can_check, why_not_check = permission("drift_check")
can_ack, why_not_ack = permission("acknowledge")
st.set_page_config(layout="wide")  # the reports and charts use the whole width
st.title("Monitoring")
link_buttons(m.links)

st.subheader("Data drift")
reports = attempt("Reading drift reports", m.monitoring.drift_history)
if reports is not None and not reports:
    st.info("No drift check yet: run one below once the API has served predictions.", icon=":material/info:")
if reports:
    latest = reports[0]
    a, b, c = st.columns(3)
    a.metric(
        "Latest check",
        "drift" if latest.drift_detected else "no drift",
        f"share {latest.drift_share:.2f}",
        "off",
    )
    b.metric("Threshold", f"{latest.threshold:.2f}")
    c.metric("Rows compared", f"{latest.current_rows:,} vs {latest.reference_rows:,}")
    st.caption(f"{latest.window_description} · model v{latest.model_version} · {local(latest.created_at)}")
    frame = attempt("Charting drift", m.monitoring.drift_frame)
    if frame is not None:
        st.plotly_chart(charts.drift_history(frame), key="drift-history")
    # A report is several MB of HTML: it is read and sent only when asked for, one at a time.
    labels = {
        f"#{r.id} · {local(r.created_at)} · v{r.model_version} · "
        f"{'drift' if r.drift_detected else 'no drift'} ({r.drift_share:.2f})": r
        for r in reports
    }
    pick, show = st.columns([4, 1])
    chosen = labels[pick.selectbox("Evidently report", list(labels), key="report-choice")]
    if show.toggle("Show", key="report-shown", help="Load the report (several MB) into the page"):
        page = m.monitoring.report_html(chosen)
        if page:
            html_component.html(page, height=1000, scrolling=True)
            st.download_button(
                "Download this report", page, file_name=f"drift-report-{chosen.id}.html", mime="text/html"
            )
        else:
            st.caption("The report file of this check was not kept.")

with st.form("check"):
    st.markdown(f"**Run a check now** (`{MONITORING}`)")
    if m.flows.mode == "local":
        st.caption("No Prefect server: runs the check in a process of the control room; followed below.")
    window = st.number_input("Predictions to compare", 100, 100_000, 5_000, step=500)
    checked = st.form_submit_button(
        "Run a drift check", icon=":material/play_arrow:", disabled=not can_check, help=why_not_check
    )
    explain_refusal(why_not_check)
    if checked:
        run = attempt(
            "Starting the check",
            m.flows.trigger,
            MONITORING,
            {"window": int(window), "retrain": False},
            actor=user,
        )
        if run is not None:
            st.session_state["monitoring_run"] = run.id
            st.success(f"Started {run.name}.")
if run_id := st.session_state.get("monitoring_run"):
    st.markdown("**The check started here**")
    follow(run_id, "monitoring_run")

st.subheader("Live traffic")
live = attempt("Reading live metrics", m.monitoring.live)
if live is not None:
    if live.source == "api":
        st.caption("Prometheus does not answer: totals since the API started, read from its /metrics.")
    for column, (name, value) in zip(st.columns(len(live.values)), live.values.items(), strict=True):
        column.metric(name, "—" if value is None else f"{value:.3g}")
    if not live.history.empty:
        st.plotly_chart(charts.live_history(live.history), key="live")

st.subheader("Alerts")
firing = (
    attempt("Reading Prometheus alerts", m.monitoring.firing_alerts)
    if m.monitoring.prometheus_status().up
    else None
)
if firing:
    st.markdown("**Firing in Prometheus** (its alerting rules, evaluated on the API's metrics)")
    for f in firing:
        icon = ":material/notifications_active:" if f.state == "firing" else ":material/schedule:"
        since = f" since {local(f.since)}" if f.since else ""
        st.warning(f"**{f.name}** · {f.state}{since} · {f.severity} — {f.summary}", icon=icon)
elif firing is not None:
    st.caption("Prometheus: no alerting rule is firing.")
st.markdown("**Stored alerts** (drift, accuracy drop, failed flows)")
show_all = st.toggle("Show acknowledged alerts", key="alerts-all")
# Signed in, an acknowledgement is the user's; without sign-in a name can be given.
who = user.name if m.auth.required else st.text_input("Acknowledge as", "operator", key="alerts-by")
explain_refusal(why_not_ack)
alerts = attempt("Reading alerts", m.monitoring.alerts, include_acknowledged=show_all)
if alerts is not None and not alerts:
    st.success("No open alert.", icon=":material/verified:")
sent = attempt("Reading deliveries", m.monitoring.deliveries, [a.id for a in alerts or []]) or {}
for alert in alerts or []:
    with st.container(border=True):
        text, action = st.columns([5, 1])
        text.markdown(f"**{alert.severity.upper()}** · {alert.kind} · {local(alert.created_at)}")
        text.write(alert.message)
        for d in sent.get(alert.id, []):
            note = f" ({d.last_error})" if d.last_error else ""
            text.caption(f"webhook {d.webhook}: {d.status} after {d.attempts} attempt(s){note}")
        if alert.acknowledged:
            action.caption(f"acknowledged by {alert.acknowledged_by}")
        elif (
            action.button("Acknowledge", key=f"ack-{alert.id}", disabled=not can_ack, help=why_not_ack)
            and attempt("Acknowledging", m.monitoring.acknowledge, alert.id, who, actor=user) is not None
        ):
            st.rerun()
