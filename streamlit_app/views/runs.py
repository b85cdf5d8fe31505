"""Runs: every flow run with filters; start, follow the logs live, cancel, retry; schedules and events."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from components import schedules
from components.auth import current_user, explain_refusal, permission
from components.status import attempt
from managers.run_control import LEVELS, jsonl, markdown, text
from services import managers

m = managers()
user = current_user()
can_run, why_not = permission("run_start")
st.title("Runs")
if not m.runs.available:
    st.info(
        "Runs need a Prefect server: start the stack (`rakuten-mlops up`) or set PREFECT_API_URL.",
        icon=":material/info:",
    )
    st.stop()

deployments = attempt("Listing deployments", m.runs.deployments) or []
with st.expander("Start a run", icon=":material/play_arrow:"):
    names = [d.name for d in deployments]
    if names:
        chosen = st.selectbox("Deployment", names, key="start-deployment")
        defaults = next(d.parameters for d in deployments if d.name == chosen)
        raw = st.text_area("Parameters (JSON)", json.dumps(defaults, indent=1), key=f"params-{chosen}")
        clicked = st.button("Start", type="primary", key="start-run", disabled=not can_run, help=why_not)
        explain_refusal(why_not)
        if clicked:
            try:
                parameters = json.loads(raw or "{}")
            except ValueError as exc:
                st.error(f"The parameters are not JSON: {exc}")
            else:
                started = attempt("Starting the run", m.runs.start, chosen, parameters, actor=user)
                if started is not None:
                    st.session_state["runs_selected"] = st.session_state["runs_jump"] = started.id
                    st.success(f"Started run {started.name} ({started.id})")
    else:
        st.caption("No deployment is registered: the stack's deployments process serves them.")

a, b, c = st.columns(3)
state = a.selectbox(
    "State",
    ["", "Running", "Completed", "Failed", "Cancelled", "Crashed", "Scheduled", "Late"],
    key="runs-state",
)
flow = b.selectbox("Flow", ["", *sorted({d.flow for d in deployments})], key="runs-flow")
hours = c.number_input("Last hours", min_value=1, max_value=24 * 30, value=24, key="runs-hours")
found = attempt("Listing runs", m.runs.runs, state, flow, float(hours)) or []
if found:
    frame = pd.DataFrame(
        [
            {"id": r.id, "flow": r.flow, "deployment": r.deployment, "state": r.state, "started": r.started,
             "ended": r.ended, "duration s": r.duration_s, "started by": r.started_by, "retry of": r.retry_of}
            for r in found
        ]
    )  # fmt: skip
    st.dataframe(frame, hide_index=True, key="runs-table")
    ids = [r.id for r in found]
    current = st.session_state.get("runs_selected")
    # A run started or retried here (or on Training) is shown at once, whatever was picked before.
    if (jump := st.session_state.pop("runs_jump", None)) in ids:
        st.session_state["runs-pick"] = current = jump
    index = ids.index(current) if current in ids else 0
    labels = {r.id: f"{r.flow} · {r.name} · {r.state}" for r in found}

    def label(run_id: str) -> str:
        return labels.get(run_id, run_id)

    st.session_state["runs_selected"] = st.selectbox(
        "Run", ids, index=index, format_func=label, key="runs-pick"
    )
else:
    st.caption("No run matches.")


@st.fragment(run_every=1)
def live_logs(run_id: str) -> None:
    """The run's state and its log lines as they arrive (from the API's event stream)."""
    run = attempt("Reading the run", m.runs.run, run_id)
    if run is None:
        return
    st.markdown(f"**{run.flow}** · `{run.name}` · state **{run.state}** · started by {run.started_by}")
    if run.message:
        st.caption(run.message)
    left, right = st.columns(2)
    if not run.final:
        sure = left.checkbox("Yes, stop this run", key=f"sure-{run_id}")
        if left.button(
            "Cancel run",
            disabled=not (sure and can_run),
            icon=":material/stop_circle:",
            key=f"cancel-{run_id}",
        ):
            stopped = attempt("Cancelling", m.runs.cancel, run_id, actor=user)
            if stopped is not None:
                st.success(f"Run {stopped.name} is {stopped.state}.")
    elif run.state_type in {"FAILED", "CANCELLED", "CRASHED"} and right.button(
        "Retry", icon=":material/replay:", key=f"retry-{run_id}", disabled=not can_run, help=why_not
    ):
        again = attempt("Retrying", m.runs.retry, run_id, actor=user)
        if again is not None:
            # The whole page reruns so that the list and this card show the new run; the message is
            # kept for that run (said here, it would vanish with the fragment's next refresh).
            st.session_state["runs_selected"] = st.session_state["runs_jump"] = again.id
            st.session_state["runs_flash"] = f"Started run {again.name}, a retry of {run.name}."
            st.rerun()
    follower = m.runs.follow(run_id)
    levels = st.multiselect("Levels", LEVELS, default=list(LEVELS[1:]), key=f"levels-{run_id}")
    needle = st.text_input("Filter", key=f"filter-{run_id}")
    lines = [x for x in follower.snapshot() if x.level in levels and needle.lower() in x.message.lower()]
    with st.container(height=360, border=True):
        st.markdown("  \n".join(markdown(x) for x in lines[-300:]) or "(no log line yet)")
    st.caption(
        f"{len(lines)} lines"
        + (" · live" if not follower.done else "")
        + (f" · {follower.error}" if follower.error else "")
    )
    d1, d2 = st.columns(2)
    d1.download_button("Download JSON lines", jsonl(lines), f"run-{run_id}.jsonl", "application/x-ndjson", key=f"dl-json-{run_id}")  # fmt: skip
    d2.download_button("Download text", text(lines), f"run-{run_id}.log", "text/plain", key=f"dl-text-{run_id}")  # fmt: skip


if selected := st.session_state.get("runs_selected"):
    st.subheader("Run")
    if flash := st.session_state.pop("runs_flash", None):
        st.success(flash)
    live_logs(selected)

st.subheader("Schedules")
schedules.editor(m.runs, [d.name for d in deployments])

st.subheader("Events")
events = attempt("Reading events", m.runs.events) or []
if events:
    st.dataframe(
        pd.DataFrame([{"received": e.received_at, "event": e.event, "deployment": e.deployment, "run": e.flow_run_id, "parameters": json.dumps(e.parameters)} for e in events]),
        hide_index=True,
    )  # fmt: skip
else:
    st.caption(
        'No event yet: `POST /events` with {"event": "dataset.uploaded", "payload": {...}} starts one.'
    )
