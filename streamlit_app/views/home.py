"""Home: service health at a glance, the champion, today's traffic, open alerts, the day's runs and recent activity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import charts
from components.status import attempt, status_cards
from components.when import local
from services import managers

m = managers()
st.title("Rakuten MLOps control room")
st.caption(
    "Product-type classification of e-commerce listings: data, training, registry, serving and monitoring."
)

st.subheader("Services")
statuses = attempt("Checking the services", m.infrastructure.services)
if statuses:
    status_cards(statuses)

left, right = st.columns(2)
with left, st.container(border=True):
    st.subheader("Champion model")
    champion = attempt("Reading the registry", m.registry.champion)
    if champion is not None:
        st.markdown(
            f"**{m.registry.model_name}** version **{champion.version}** · registered "
            f"{local(pd.Timestamp(champion.created_at).to_pydatetime()) if champion.created_at else '—'}"
        )
        a, b, c = st.columns(3)
        a.metric("Weighted F1", f"{champion.metrics.get('weighted_f1', float('nan')):.4f}")
        b.metric("Macro F1", f"{champion.metrics.get('macro_f1', float('nan')):.4f}")
        c.metric("Accuracy", f"{champion.metrics.get('accuracy', float('nan')):.4f}")
    elif m.registry.status().up:
        st.info("No champion yet: train one on the Training page.", icon=":material/info:")

with right, st.container(border=True):
    st.subheader("Today's traffic")
    traffic = attempt("Reading today's predictions", m.database.traffic)
    if traffic is not None:
        a, b, c = st.columns(3)
        a.metric("Predictions today", f"{traffic.predictions:,}")
        b.metric(
            "Mean confidence", "—" if traffic.mean_confidence is None else f"{traffic.mean_confidence:.2f}"
        )
        c.metric(
            "Mean latency", "—" if traffic.mean_latency_ms is None else f"{traffic.mean_latency_ms:.1f} ms"
        )
        if traffic.predictions:
            st.plotly_chart(charts.hourly_traffic(traffic.hourly), key="home-traffic")

st.subheader("Open alerts")
alerts = attempt("Reading alerts", m.monitoring.alerts)
if alerts is not None:
    if not alerts:
        st.success("No open alert.", icon=":material/verified:")
    for alert in alerts[:5]:
        st.warning(
            f"**{alert.severity}** · {alert.kind} · {alert.created_at:%Y-%m-%d %H:%M} UTC — {alert.message}"
        )
    if len(alerts) > 5:
        st.caption(f"{len(alerts) - 5} more on the Monitoring page.")

st.subheader("Runs in the last 24 hours")
if m.runs.available:
    summary = attempt("Counting runs", m.runs.summary)
    if summary is not None:
        cols = st.columns(4)
        for col, key in zip(cols, ("running", "completed", "failed", "cancelled"), strict=True):
            col.metric(key.capitalize(), summary[key])
        st.page_link("views/runs.py", label="All runs", icon=":material/play_circle:")
else:
    st.caption("Runs are counted once a Prefect server is configured (the stack runs one).")

st.subheader("Recent activity")
events = attempt("Reading recent activity", m.database.activity) or []
history = attempt("Reading the champion history", m.registry.history) or []
events += [
    {
        "at": pd.Timestamp(e["at"]).to_pydatetime(),
        "kind": e["action"],
        "what": f"v{e['version']}: {e['reason']}",
    }
    for e in history
]
runs = attempt("Reading flow runs", m.flows.runs) or []
events += [{"at": r.created, "kind": "run", "what": f"{r.flow} {r.name}: {r.state.lower()}"} for r in runs]
if events:
    frame = pd.DataFrame(events)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    newest = frame.sort_values("at", ascending=False).head(25)
    newest["at"] = [local(t.to_pydatetime(), seconds=True) for t in newest["at"]]  # the reader's clock
    st.dataframe(newest, hide_index=True)
else:
    st.caption("Nothing yet: ingest listings on the Catalogue page, then train on the Training page.")
