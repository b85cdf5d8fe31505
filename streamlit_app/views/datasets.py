"""Datasets: bring any table, see what is in it, run the suggested preprocessing while watching its log."""

from __future__ import annotations

import streamlit as st

from components.dataset_sections import lineage_section, profile_section, run_section, suggestions_section
from components.status import attempt
from services import managers

m = managers()
st.title("Datasets")
st.caption(
    "Any table — CSV/TSV, Excel, JSON records, Parquet — profiled, with preprocessing suggestions and their reasons. "
    "The listing catalogue the product classifier trains on has its own page, **Catalogue**."
)

with st.expander("Add a table", icon=":material/upload:"):
    upload = st.file_uploader(
        f"File (up to {m.datasets.max_mb:,.0f} MB)",
        type=["csv", "tsv", "txt", "xlsx", "json", "jsonl", "parquet"],
        key="dataset-file",
    )
    name = st.text_input("Dataset name (default: the file's name)", key="dataset-name")
    if st.button("Add", key="dataset-add", type="primary", disabled=upload is None) and upload is not None:
        added = attempt("Adding the table", m.datasets.add, upload.getvalue(), upload.name, name or None)
        if added is not None:
            verb = "Added" if added.created else "Already stored:"
            st.success(
                f"{verb} {added.source} as **{added.name}** version {added.version}: {added.rows:,} rows, {added.columns} columns",
                icon=":material/check_circle:",
            )
            st.session_state["dataset-select"] = added.name

datasets = attempt("Listing datasets", m.datasets.datasets)
if datasets is not None and not datasets:
    st.info(
        "No dataset yet: add a table above (or `rakuten-mlops datasets add FILE`).", icon=":material/info:"
    )
if datasets:
    names = [d.name for d in datasets]
    if st.session_state.get("dataset-select") not in names:
        st.session_state["dataset-select"] = names[0]
    a, b = st.columns([3, 1])
    chosen = a.selectbox("Dataset", names, key="dataset-select")
    latest = next(d.latest_version for d in datasets if d.name == chosen)
    version = b.selectbox("Version", list(range(latest, 0, -1)), key="dataset-version")
    detail = attempt("Reading the dataset", m.datasets.show, chosen, version)
    if detail is not None:
        columns = [c.name for c in detail.schema_]
        guess = "(guess it)"
        picked = st.selectbox("Target column", [guess, *columns], key="dataset-target")
        profile = attempt(
            "Profiling", m.datasets.profile, chosen, None if picked == guess else picked, version
        )
        profile_tab, steps_tab, versions_tab = st.tabs(
            ["Profile", "Suggestions and run", "Versions and lineage"]
        )
        with profile_tab:
            if profile is not None:
                profile_section(profile)
            if st.button("Build skrub's table report", key="dataset-report", icon=":material/summarize:"):
                html = attempt("Building the report", m.datasets.report_html, chosen, version)
                if html is not None:
                    st.download_button(
                        "Download the report (HTML)",
                        html,
                        f"{chosen}-v{version}-report.html",
                        "text/html",
                        key="dataset-report-file",
                    )
        with steps_tab:
            target = profile.target.column if profile is not None and profile.target is not None else None
            if target is None:
                st.info("Choose the target column above to get suggestions.", icon=":material/info:")
            else:
                suggestions = attempt("Suggesting steps", m.datasets.suggest, chosen, target, version)
                if suggestions is not None and not suggestions.steps:
                    st.success(
                        "Nothing to fix: no step is suggested for this table.", icon=":material/check_circle:"
                    )
                elif suggestions is not None:
                    picked_steps = suggestions_section(suggestions)
                    label = f"Run {len(picked_steps)} step{'s' if len(picked_steps) != 1 else ''}"
                    if st.button(
                        label,
                        key="dataset-run",
                        type="primary",
                        icon=":material/play_arrow:",
                        disabled=not picked_steps,
                    ):
                        run = attempt(
                            "Starting the run",
                            m.datasets.start_preprocess,
                            chosen,
                            target,
                            picked_steps,
                            version,
                        )
                        if run is not None:
                            st.session_state["preprocess-run"] = run.id

            @st.fragment(run_every=2)
            def follow(run_id: str) -> None:
                """Poll the run's state and log until it ends, then show it once more without polling."""
                run = attempt("Reading the run", m.datasets.run, run_id)
                if run is not None:
                    run_section(run)
                    if run.final:
                        st.session_state["preprocess-finished"] = run_id
                        st.rerun()

            if run_id := st.session_state.get("preprocess-run"):
                st.subheader("Run")
                if st.session_state.get("preprocess-finished") == run_id:
                    finished = attempt("Reading the run", m.datasets.run, run_id)
                    if finished is not None:
                        run_section(finished)
                else:
                    follow(run_id)
        with versions_tab:
            log = (
                attempt("Reading the run log", m.datasets.version_log, chosen, version)
                if detail.lineage
                else None
            )
            lineage_section(detail, log)
