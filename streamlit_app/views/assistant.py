"""Assistant: ask in English or French; reading actions run at once, a change waits for Confirm."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pandas as pd
import streamlit as st

from components.auth import current_user
from components.status import attempt
from rakuten_mlops.assistant.chat import Action, Reply
from services import managers

HISTORY = "assistant-history"
CONFIRMED = "assistant-confirmed"  # ids of the planned changes confirmed here (their result is shown once)
LOG_LINES = 40  # the newest lines of a running build shown (the whole log follows with the result)
_NO = SimpleNamespace(columns=[])  # a profile that could not be read: no column to match
PAGES = {  # where a tool's result is shown in full
    "list_models": "views/registry.py", "model_details": "views/registry.py", "promote_model": "views/registry.py",
    "rollback_model": "views/registry.py", "train_model": "views/runs.py", "run_drift_check": "views/runs.py",
    "drift_status": "views/monitoring.py", "list_alerts": "views/monitoring.py", "list_runs": "views/runs.py",
    "run_logs": "views/runs.py", "cancel_run": "views/runs.py", "retry_run": "views/runs.py",
    "schedule_workflow": "views/runs.py", "pause_schedule": "views/runs.py", "list_datasets": "views/datasets.py",
    "profile_dataset": "views/datasets.py", "suggest_preprocessing": "views/datasets.py", "audit_log": "views/audit.py",
    "predict": "views/predictions.py", "explain_prediction": "views/predictions.py",
}  # fmt: skip

m = managers()
user = current_user()
st.title("Assistant")
st.caption(
    "Ask for what you would do on the other pages: “promote version 3”, “retrain every Monday at 2am”, "
    '“why is "Jeu PS4" a video game?”, « montre les alertes ». Reading actions run at once; a change '
    "shows what it will do and runs only when you confirm it, with your rights, and is audited."
)
history: list[tuple[str, str, list[Action]]] = st.session_state.setdefault(HISTORY, [])
api = m.api.status()
if not api.up:  # the tools that classify or explain a listing go through it; the others do not
    st.info(
        f"The prediction API at {m.api.url} is not reachable ({api.detail}): classifying and explaining a "
        "listing will fail until it is up; the other actions work.",
        icon=":material/cloud_off:",
    )


def build_form(action: Action, profile: dict[str, Any]) -> None:
    """The designed profile, editable, and what to build it on; Build plans `build_app` for confirmation."""
    from rakuten_mlops.apps.profile import AppProfile
    from rakuten_mlops.assistant.build import match_target

    with st.form(f"build-{action.id}", border=False):
        edited = st.text_area("Profile (JSON, editable)", json.dumps(profile, indent=2), height=260)
        names = [d.name for d in attempt("Reading the datasets", m.datasets.datasets) or []]
        if not names:
            st.info("Add the app's data on the Datasets page first: Build needs a dataset to learn from.")
        dataset = st.selectbox("Dataset", names, key=f"build-dataset-{action.id}")
        target = st.text_input("Column to predict (blank: the one the profile's target names)")
        budget = st.number_input("Search budget per training (minutes)", 1, 240, 5)
        if st.form_submit_button("Build", icon=":material/construction:", disabled=not names):
            try:
                chosen = AppProfile.model_validate_json(edited)
            except ValueError as exc:
                st.error(f"The profile is not valid: {exc}", icon=":material/error:")
                return
            columns = [
                c.name for c in (attempt("Reading the columns", m.datasets.profile, dataset) or _NO).columns
            ]
            column = target.strip() or match_target(chosen, columns)
            arguments = {"profile": chosen.model_dump(mode="json"), "dataset": dataset, "target": column,
                         "budget_minutes": int(budget)}  # fmt: skip
            planned = attempt("Planning the build", m.assistant.propose, "build_app", arguments, actor=user)
            if planned is not None:
                history.append(("assistant", planned.reply, planned.actions))
                st.rerun()


def show_build(result: dict[str, Any]) -> None:
    """What `build_app` made: each step, the native command where one was skipped, and the build's log."""
    st.markdown(
        f"App **{result['profile']['name']}** → model `{result['model']}`, files in `{result['directory']}`"
    )
    steps = pd.DataFrame(result["steps"])
    st.dataframe(steps, hide_index=True)
    if result.get("log"):
        st.code("\n".join(result["log"]), language="text")
    st.page_link("views/runs.py", label="Its trainings on the Runs page", icon=":material/open_in_new:")


def show_result(action: Action) -> None:
    result = action.result or {}
    if action.tool == "design_app":
        st.graphviz_chart(result["graph"])
        build_form(action, result["profile"])
        return
    if action.tool == "build_app":
        show_build(result)
        return
    rows = next((v for v in result.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None)
    if rows is not None:
        st.dataframe(pd.json_normalize(rows, max_level=0), hide_index=True)
    else:
        st.json(result, expanded=False)
    if action.tool in PAGES:
        st.page_link(PAGES[action.tool], label="Open the page that shows more", icon=":material/open_in_new:")


def run_confirmed(action: Action) -> Reply | None:
    """Run a confirmed change, its log shown line by line while it runs (an app's build, its image's)."""
    with st.status(f"Running `{action.tool}`…", expanded=action.tool == "build_app") as running:
        box = st.empty()
        lines: list[str] = []

        def said(line: str) -> None:
            lines.append(line)
            box.code("\n".join(lines[-LOG_LINES:]), language="text")

        done = attempt("Running it", m.assistant.confirm, action.id, actor=user, on_log=said)
        failed = done is None or any(a.status == "failed" for a in done.actions)
        running.update(label=f"`{action.tool}` {'failed' if failed else 'done'}",
                       state="error" if failed else "complete")  # fmt: skip
    return done


def show_action(action: Action) -> None:
    confirmed: set[str] = st.session_state.setdefault(CONFIRMED, set())
    waiting = action.status == "needs_confirmation"
    with st.container(border=True):
        shown = "confirmed" if waiting and action.id in confirmed else action.status.replace("_", " ")
        st.markdown(f"`{action.tool}` · {shown}")
        if action.arguments:
            st.caption(
                ", ".join(
                    f"{k} = {v}"
                    for k, v in action.arguments.items()
                    if k not in {"prompt", "intent", "profile"}
                )
            )
        if waiting and action.id in confirmed:
            st.caption("Confirmed: what it did follows.")
        elif waiting:
            left, right = st.columns(2)
            if left.button("Confirm", key=f"confirm-{action.id}", type="primary", icon=":material/check:"):
                done = run_confirmed(action)
                if done is not None:
                    confirmed.add(action.id)
                    history.append(("assistant", done.reply, done.actions))
                    st.rerun()
            if right.button("Cancel", key=f"cancel-{action.id}", icon=":material/close:"):
                action.status = "failed"
                action.error = "cancelled: nothing was changed"
                st.rerun()
        elif action.status == "failed" and action.error:
            st.error(action.error, icon=":material/error:")
        elif action.status == "done":
            show_result(action)


for role, text, actions in history:
    with st.chat_message(role):
        st.markdown(text)
        for action in actions:
            show_action(action)

if message := st.chat_input("Ask the platform…", key="assistant-input"):
    history.append(("user", message, []))
    reply: Reply | None = attempt("Planning", m.assistant.ask, message, actor=user)
    if reply is not None:
        history.append(("assistant", reply.reply, reply.actions))
    st.rerun()
