"""The schedule editor of the Runs page: list, pause, resume, delete; set a cron or an interval after a preview."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.auth import current_user, explain_refusal, permission
from components.status import attempt


def editor(runs: Any, deployments: list[str]) -> None:
    """Schedules of one deployment, with the next five run times shown before saving."""
    if not deployments:
        st.caption("No deployment is registered.")
        return
    user = current_user()
    may, why_not = permission("schedule")
    explain_refusal(why_not)
    chosen = st.selectbox("Deployment", deployments, key="schedule-deployment")
    found = attempt("Reading schedules", runs.schedules, chosen)
    if found is None:
        return
    for s in found.schedules:
        what = f"cron `{s.cron}` ({s.timezone})" if s.cron else f"every {s.interval:g} s"
        a, b, c = st.columns([4, 1, 1])
        nxt = ", ".join(f"{t:%Y-%m-%d %H:%M %Z}" for t in s.next[:3])
        a.markdown(f"{what} · {'active' if s.active else '**paused**'}" + (f" · next: {nxt}" if nxt else ""))
        if b.button("Resume" if not s.active else "Pause", key=f"toggle-{s.id}", disabled=not may):
            attempt("Changing the schedule", runs.set_active, chosen, s.id, not s.active, actor=user)
            st.rerun()
        if c.button("Delete", key=f"delete-{s.id}", disabled=not may):
            attempt("Deleting the schedule", runs.delete_schedule, chosen, s.id, actor=user)
            st.rerun()
    if not found.schedules:
        st.caption("No schedule: it runs only when started.")
    kind = st.radio("New schedule", ["cron", "interval"], horizontal=True, key="schedule-kind")
    cron = interval = None
    timezone = "UTC"
    if kind == "cron":
        left, right = st.columns(2)
        cron = left.text_input("Cron (minute hour day month weekday)", "0 9 * * *", key="schedule-cron")
        timezone = right.text_input("Timezone", "UTC", key="schedule-timezone")
    else:
        interval = float(
            st.number_input("Every (seconds)", min_value=10, value=3600, key="schedule-interval")
        )
    times = attempt("Checking the schedule", runs.preview, cron, timezone, interval)
    if times is not None:
        st.caption("Next runs: " + ", ".join(f"{t:%Y-%m-%d %H:%M %Z}" for t in times))
        target = found.schedules[0].id if len(found.schedules) == 1 else None
        label = "Replace the schedule" if target else "Add the schedule"
        if st.button(label, type="primary", key="schedule-save", disabled=not may):
            saved = attempt(
                "Saving the schedule", runs.set_schedule, chosen, cron, timezone, interval, target, actor=user
            )
            if saved is not None:
                st.success(f"{chosen}: schedule saved.")
                st.rerun()
