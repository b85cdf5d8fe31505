"""Infrastructure: health of every service, Docker containers when an engine answers, the native stack otherwise."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import current_user, explain_refusal, permission
from components.status import attempt, link_buttons, status_cards
from managers.infrastructure import ACTIONS
from services import managers

m = managers()
user = current_user()
can_act, why_not = permission("containers")
st.title("Infrastructure")

st.subheader("Services")
statuses = attempt("Checking the services", m.infrastructure.services) or []
if statuses:
    status_cards(statuses)
    table = pd.DataFrame(
        [
            {
                "service": s.name,
                "state": s.state,
                "detail": s.detail,
                "url": s.url or "",
                "latency (ms)": s.latency_ms,
            }
            for s in statuses
        ]
    )
    st.dataframe(table, hide_index=True)
if st.button("Check again", icon=":material/refresh:"):
    st.rerun()

st.subheader("Open a service's UI")
link_buttons(m.links)

docker = m.infrastructure.docker_status()
if docker.up:
    st.subheader("Docker containers")
    st.caption(docker.detail)
    containers = attempt("Listing containers", m.infrastructure.containers) or []
    st.dataframe(pd.DataFrame([c.__dict__ for c in containers]), hide_index=True)
    if containers:
        name = st.selectbox("Container", [c.name for c in containers])
        columns = st.columns(len(ACTIONS) + 1)
        for column, action in zip(columns, ACTIONS, strict=False):
            pressed = column.button(
                action.capitalize(),
                key=f"container-{action}",
                width="stretch",
                disabled=not can_act,
                help=why_not,
            )
            if pressed:
                changed = attempt(
                    f"{action.capitalize()} {name}", m.infrastructure.act, name, action, actor=user
                )
                if changed is not None:
                    st.success(f"{changed.name} is {changed.status}")
        explain_refusal(why_not)
        tail = columns[-1].number_input("Log lines", 10, 2_000, 200, step=50)
        logs = attempt(f"Reading the logs of {name}", m.infrastructure.logs, name, int(tail))
        if logs is not None:
            st.code(logs or "(no output)", language="log")
else:
    st.subheader("Native processes")
    st.info(
        f"Docker: {docker.detail}. Showing the stack that `rakuten-mlops up` runs from this MLOPS_HOME.",
        icon=":material/info:",
    )
    stack = attempt("Reading the stack's processes", m.infrastructure.native_stack)
    if stack is not None and not stack.running:
        st.caption(
            f"No stack started by `rakuten-mlops up` runs from {stack.home}; start one with `make up`."
        )
    elif stack is not None:
        st.caption(
            f"supervisord (pid {stack.manager_pid}) restarts a service that exits; one that keeps failing "
            "to start stays down (FATAL) while the others run."
        )
        st.dataframe(pd.DataFrame([p.__dict__ for p in stack.processes]), hide_index=True)
        names = [p.service for p in stack.processes]
        if names:
            name = st.selectbox("Service log", names, key="stack-log-service")
            log = attempt(f"Reading the log of {name}", m.infrastructure.stack_log, name)
            if log is not None:
                st.code(log or "(no output yet)", language="log")
