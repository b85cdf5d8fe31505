"""Model registry: versions with aliases and metrics, promote and roll back with a confirmation, history, download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import charts
from components.auth import current_user, explain_refusal, permission
from components.status import attempt
from services import managers

m = managers()
user = current_user()
can_promote, why_not_promote = permission("promote")
can_rollback, why_not_rollback = permission("rollback")
st.title("Model registry")
st.caption(f"Registered model `{m.registry.model_name}` in `{m.registry.tracking_uri}`")


def reload_api() -> str:
    """Ask the API to load the new champion now; it picks it up on its next poll otherwise."""
    try:
        result = m.api.reload_model(actor=user)
    except Exception as exc:  # the API may be down or keyless: the promotion itself succeeded
        return f"The API will load it on its next poll ({exc})."
    return f"The API now serves version {result.version}."


# Each action bumps this: the confirmation boxes are new widgets, unticked, after every promote or rollback.
actions = st.session_state.setdefault("registry_actions", 0)
if message := st.session_state.pop("registry_message", None):
    st.success(message, icon=":material/check_circle:")

versions = attempt("Reading the registry", m.registry.versions)
if versions is not None and not versions:
    st.info("No registered version yet: train one on the Training page.", icon=":material/info:")
if versions:
    gates = m.registry.gate_table(versions)
    st.caption(
        "The gate lets the challenger and the champion of the day predict the same test rows and promotes "
        "only a real improvement (paired bootstrap: the interval's lower bound above the margin). "
        "“Own test F1” is the score of each version's own training, on its own split."
    )
    st.dataframe(
        gates,
        hide_index=True,
        column_config={
            "run": st.column_config.LinkColumn("MLflow run", display_text="open")
            if m.registry.remote
            else st.column_config.TextColumn("MLflow run"),
            "own test F1": st.column_config.NumberColumn(format="%.4f"),
            "challenger F1 (gate)": st.column_config.NumberColumn(format="%.4f"),
            "champion F1 (gate)": st.column_config.NumberColumn(format="%.4f"),
            "difference": st.column_config.NumberColumn(format="%+.4f"),
            "p-value": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    table = pd.DataFrame(
        [
            {
                "version": v.version,
                "weighted_f1": v.metrics.get("weighted_f1"),
                "macro_f1": v.metrics.get("macro_f1"),
                "accuracy": v.metrics.get("accuracy"),
            }
            for v in versions
        ]
    )
    st.plotly_chart(charts.version_metrics(table.fillna(0)), key="version-metrics")
    champion = next((v.version for v in versions if "champion" in v.aliases), None)

    promote_col, rollback_col = st.columns(2)
    with promote_col.container(border=True):
        st.markdown("**Promote a version**")
        others = [v.version for v in versions if v.version != champion]
        target = st.selectbox("Version", others, key="promote-version") if others else None
        reason = st.text_input("Reason", "manual promotion from the control room", key="promote-reason")
        sure = st.checkbox(
            "I confirm: this version will serve every prediction", key=f"promote-confirm-{actions}"
        )
        clicked = st.button(
            "Promote",
            type="primary",
            disabled=target is None or not sure or not can_promote,
            help=why_not_promote,
            key="promote",
        )
        explain_refusal(why_not_promote)
        promoted = (
            attempt(f"Promoting v{target}", m.registry.promote, str(target), reason, actor=user)
            if clicked
            else None
        )
        if promoted is not None:
            st.session_state["registry_message"] = f"v{target} is now the champion. {reload_api()}"
            st.session_state["registry_actions"] = actions + 1
            st.rerun()
    with rollback_col.container(border=True):
        st.markdown("**Roll back**")
        back_to = attempt("Reading the champion history", m.registry.rollback_target)
        if back_to is None:
            st.caption("Nothing to roll back to: no earlier champion in the history.")
        else:
            st.caption(f"Gives the champion alias back to v{back_to}, the champion before v{champion}.")
        why = st.text_input("Reason", "rollback from the control room", key="rollback-reason")
        sure_back = st.checkbox(
            "I confirm the rollback", key=f"rollback-confirm-{actions}", disabled=back_to is None
        )
        rollback_clicked = st.button(
            "Roll back",
            disabled=not sure_back or back_to is None or not can_rollback,
            help=why_not_rollback,
            key="rollback",
        )
        explain_refusal(why_not_rollback)
        if rollback_clicked:
            back = attempt("Rolling back", m.registry.rollback, why, actor=user)
            if back is not None:
                st.session_state["registry_message"] = (
                    f"Rolled back: v{back} is the champion again. {reload_api()}"
                )
                st.session_state["registry_actions"] = actions + 1
                st.rerun()

    st.subheader("Champion history")
    history = attempt("Reading the champion history", m.registry.history)
    if history:
        st.plotly_chart(charts.champion_timeline(history), key="champion-history")
        st.dataframe(pd.DataFrame(history).iloc[::-1], hide_index=True)

    st.subheader("Download a model")
    chosen = st.selectbox("Version to download", [v.version for v in versions], key="download-version")
    if st.button("Prepare the download", key="prepare-download"):
        data = attempt(f"Downloading v{chosen}", m.registry.download_zip, str(chosen))
        if data is not None:
            st.session_state["download"] = (chosen, data)
    if prepared := st.session_state.get("download"):
        name = f"{m.registry.model_name}-v{prepared[0]}.zip"
        st.download_button(f"Save {name}", prepared[1], file_name=name, mime="application/zip")
