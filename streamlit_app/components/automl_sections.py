"""Sections of the AutoML page: a search's state and result, and a champion with its search, SHAP and one row."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from components.auth import current_user
from components.status import attempt, state_icon
from managers.automl import AutoMLManager, AutoMLRun
from rakuten_mlops.automl.served import TableModel


def search_section(run: AutoMLRun) -> None:
    """A search's state; once it ended, the model it registered and the gate's decision."""
    icon = state_icon(run.state)
    st.markdown(f"{icon} **{run.state}** · `{run.dataset}` · target `{run.target}`")
    if run.error:
        st.error(run.error, icon=":material/error:")
    if run.result:
        r = run.result
        verdict = "promoted to champion" if r["promoted"] else "not promoted"
        st.success(
            f"**{r['model_name']}** v{r['version']}: {r['winner']['family']}, held-out {r['metric']} "
            f"{r['score']:.4f} — {verdict}. {r['decision']}",
            icon=":material/check_circle:",
        )
    lines = [line for line in run.output.splitlines() if line.strip() and not line.startswith("{")]
    if lines and not run.final:
        st.code("\n".join(lines[-15:]), language=None)
    elif not run.final:
        st.caption("Searching… (the leaderboard appears when the search ends)")


def champion_section(manager: AutoMLManager, name: str, champion: TableModel) -> None:
    """A table model's versions, the search behind its champion, its SHAP plots, one row explained, the download."""
    versions = attempt("Reading the versions", manager.versions, name) or []
    st.dataframe(
        pd.DataFrame(
            [
                {"version": v.version, "aliases": ", ".join(v.aliases), champion.metric: v.metrics.get(champion.metric),
                 "gate": v.tags.get("gate.decision", ""), "reason": v.tags.get("gate.reason", ""), "created": v.created_at}
                for v in versions
            ]
        ),
        hide_index=True,
        key="automl-versions",
    )  # fmt: skip
    board = attempt("Reading the leaderboard", manager.leaderboard, name, champion.version)
    if board is not None and not board.empty:
        scored = board.dropna(subset=["score"]).assign(score=lambda f: f["score"].abs())
        figure = px.scatter(
            scored, x="trial", y="score", color="family", hover_data=["seconds"],
            title=f"Candidates of the search behind v{champion.version} (cross-validated {champion.metric})",
        )  # fmt: skip
        st.plotly_chart(figure, key="automl-leaderboard")
    plots = attempt("Reading the SHAP plots", manager.plots, name, champion.version)
    if plots:
        left, right = st.columns(2)
        left.image(plots["bar"], caption="Mean |SHAP| per column")
        right.image(plots["beeswarm"], caption="Every explained row's contributions")
    st.subheader("Explain one row")
    reference = attempt("Reading held-out rows", manager.reference, name, champion.version)
    if reference is not None and not reference.empty:
        row = st.data_editor(reference[champion.columns].head(1), hide_index=True, key="automl-row")
        if st.button("Predict and explain", key="automl-explain", icon=":material/insights:"):
            record = row.iloc[0].where(row.iloc[0].notna(), None).to_dict()
            found = attempt("Explaining the row", manager.explain, name, record)
            if found is not None:
                answer, explained = found
                shown = answer["prediction"]
                confidence = f" (confidence {answer['confidence']:.1%})" if answer.get("confidence") else ""
                st.markdown(f"Prediction: **{shown}**{confidence}")
                parts = pd.DataFrame(
                    {"column": list(explained.contributions), "contribution": list(explained.contributions.values())}
                ).head(15)  # fmt: skip
                waterfall = px.bar(
                    parts.iloc[::-1], x="contribution", y="column", orientation="h",
                    title=f"From the base {explained.base_value:.4g} to {explained.model_output:.4g} ({explained.output})",
                )  # fmt: skip
                st.plotly_chart(waterfall, key="automl-waterfall")
    drift_section(manager, name)
    if st.button("Pack the champion for download", key="automl-pack", icon=":material/inventory:"):
        st.session_state["automl-archive"] = (
            name,
            champion.version,
            attempt("Packing the model", manager.download_zip, name, champion.version),
        )
    packed = st.session_state.get("automl-archive")
    if packed is not None and packed[:2] == (name, champion.version) and packed[2] is not None:
        st.download_button(
            f"Download v{champion.version} (MLflow model)", packed[2], f"{name}-v{champion.version}.zip",
            "application/zip", key="automl-download", icon=":material/download:",
            help="Unzip, then `mlflow models serve -m FOLDER --env-manager local` serves it as it is.",
        )  # fmt: skip


def drift_section(manager: AutoMLManager, name: str) -> None:
    """The drift of the records the API scored for this model: each check's share, the newest one's columns."""
    st.subheader("Drift of the records sent to it")
    if st.button("Check drift now", key="automl-drift-check", icon=":material/query_stats:"):
        check = attempt("Checking drift", manager.check_drift, name, actor=current_user())
        if check is not None:
            verdict = "drift detected" if check.result.drift_detected else "no drift"
            st.toast(f"{name}: {verdict} ({check.result.drift_share:.0%} of columns)")
    reports = attempt("Reading the drift checks", manager.drift_reports, name) or []
    if not reports:
        st.caption(
            "No check yet: the daily monitoring (or the button) compares the newest records the API "
            "scored for this model with its held-out reference, once it has scored 100."
        )
        return
    history = pd.DataFrame(
        [{"checked": r.created_at, "drifted share": r.drift_share, "version": r.model_version,
          "records": r.current_rows, "drift": r.drift_detected} for r in reversed(reports)]
    )  # fmt: skip
    figure = px.line(
        history, x="checked", y="drifted share", markers=True, hover_data=["version", "records"],
        title="Share of columns that drifted, per check", range_y=[0, 1],
    )  # fmt: skip
    figure.add_hline(y=reports[0].threshold, line_dash="dot", annotation_text="threshold")
    st.plotly_chart(figure, key="automl-drift-history")
    newest = reports[0]
    icon = ":material/warning:" if newest.drift_detected else ":material/check_circle:"
    moved = ", ".join(newest.drifted_features) or "none"
    st.markdown(
        f"{icon} Newest check, v{newest.model_version}: **{'drift' if newest.drift_detected else 'no drift'}** "
        f"in {newest.current_rows:,} records, {newest.drift_share:.0%} of columns (moved: {moved})"
    )
    st.caption(newest.window_description)
