"""Follow a flow run started from a page: its state and last log lines, refreshed until it ends."""

from __future__ import annotations

import streamlit as st

from components.status import attempt
from services import managers


def show_run(run_id: str) -> bool:
    """The run's state and its last log lines; True once the run has finished."""
    m = managers()
    run = attempt("Reading the run", m.flows.run, run_id)
    if run is None:
        return False
    st.markdown(f"**{run.flow}** · `{run.name}` · state **{run.state}**")
    if run.result:
        st.json(run.result, expanded=False)
    logs = attempt("Reading the run's logs", m.flows.logs, run_id) or []
    st.code("\n".join(logs[-60:]) or "(no output yet)", language="log")
    return run.final


@st.fragment(run_every=3)
def _poll(run_id: str, key: str) -> None:
    if show_run(run_id):
        st.session_state[f"{key}_finished"] = run_id
        st.rerun()


def follow(run_id: str, key: str) -> None:
    """Refresh the run every few seconds until it finishes, then show it once more without polling."""
    if managers().runs.available:
        st.page_link(
            "views/runs.py",
            label="Live logs, cancel and retry on the Runs page",
            icon=":material/play_circle:",
        )
    if st.session_state.get(f"{key}_finished") == run_id:
        show_run(run_id)
    else:
        _poll(run_id, key)
