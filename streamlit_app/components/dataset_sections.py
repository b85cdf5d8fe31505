"""Sections of the Datasets page: the profile, the suggestions with their toggles, a run's log, the lineage."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components import dataset_charts
from components.status import state_icon
from managers.datasets import PreprocessRun
from rakuten_mlops.tables.models import TableProfile
from rakuten_mlops.tables.records import DatasetDetail
from rakuten_mlops.tables.runlog import as_json_lines, as_text
from rakuten_mlops.tables.workbench import Suggestions

SEVERE = {"leakage", "identifier", "target_missing"}
CHECKED_FROM = 0.6  # steps at least this confident start toggled on


def profile_section(profile: TableProfile) -> None:
    """Figures, the target, warnings, charts, and one column's distribution."""
    a, b, c, d = st.columns(4)
    a.metric("Rows", f"{profile.rows:,}")
    b.metric("Columns", len(profile.columns))
    c.metric("Duplicated rows", f"{profile.duplicates:,}", help=f"{profile.duplicate_share:.1%} of the rows")
    d.metric("Warnings", len(profile.warnings))
    target = profile.target
    if target is not None:
        guess = " — **a guess**: confirm it or choose another target above" if target.guessed else ""
        st.markdown(f"Target **`{target.column}`**: {target.problem_type}{guess} ({target.reason})")
    for warning in profile.warnings:
        show = st.error if warning.kind in SEVERE else st.warning
        show(f"**{warning.kind}** · {warning.message}", icon=":material/warning:")
    left, right = st.columns(2)
    left.plotly_chart(dataset_charts.column_types(profile), key="chart-types")
    right.plotly_chart(dataset_charts.missingness(profile), key="chart-missing")
    if target is not None:
        left, right = st.columns(2)
        left.plotly_chart(dataset_charts.target_associations(profile), key="chart-associations")
        if target.classes:
            right.plotly_chart(dataset_charts.class_balance(target), key="chart-classes")
    table = pd.DataFrame(
        [
            {
                "column": col.name, "type": col.type, "missing": col.missing, "missing %": round(100 * col.missing_share, 1),
                "unique": col.unique, "median": (col.quantiles or {}).get("p50"), "skew": col.skew,
                "top values": ", ".join(v.value for v in col.top_values[:3]), "alone → target": col.predictive_score,
            }
            for col in profile.columns
        ]
    )  # fmt: skip
    st.dataframe(table, hide_index=True, key="profile-columns")
    chosen = st.selectbox("Distribution of", [col.name for col in profile.columns], key="dataset-column")
    st.plotly_chart(dataset_charts.distribution(profile.column(chosen)), key="chart-distribution")


def suggestions_section(suggestions: Suggestions) -> list[str]:
    """One toggle per step with its confidence, rationale and preview; returns the ids toggled on."""
    chosen = []
    for step in suggestions.steps:
        left, right = st.columns([1, 5])
        on = left.toggle(step.id, value=step.confidence >= CHECKED_FROM, key=f"step-{step.id}")
        with right.expander(f"{step.type} · confidence {step.confidence:.2f} · {step.rationale}"):
            if step.preview is not None:
                before, after = st.columns(2)
                before.caption("before")
                before.dataframe(pd.DataFrame(step.preview.before), hide_index=True)
                after.caption("after")
                after.dataframe(pd.DataFrame(step.preview.after), hide_index=True)
                st.code(
                    "\n".join(line["message"] for line in step.preview.log) or "(no log line)", language="log"
                )
        if on:
            chosen.append(step.id)
    return chosen


def run_section(run: PreprocessRun) -> None:
    """A preprocessing run's state, its structured log lines so far, and the log as downloads."""
    icon = state_icon(run.state)
    st.markdown(f"{icon} **{run.state}** · `{run.dataset}` · target `{run.target}` · {len(run.steps)} steps")
    if run.error:
        st.error(run.error, icon=":material/error:")
    if run.result:
        st.success(
            f"Version {run.result.get('version')} of {run.dataset} is ready ({run.result.get('rows'):,} rows, {run.result.get('columns')} columns)",
            icon=":material/check_circle:",
        )
    frame = pd.DataFrame(run.log)
    if not frame.empty:
        shown = [c for c in ("time", "level", "step", "message", "rows_affected") if c in frame.columns]
        st.dataframe(frame[shown], hide_index=True, key=f"run-log-{run.id}")
    else:
        st.caption("Waiting for the first log line…")
    a, b = st.columns(2)
    a.download_button(
        "Log as JSON lines", as_json_lines(run.log), f"preprocess-{run.id}.jsonl", key=f"run-json-{run.id}"
    )
    b.download_button("Log as text", as_text(run.log), f"preprocess-{run.id}.log", key=f"run-text-{run.id}")


def lineage_section(detail: DatasetDetail, log: list[dict[str, Any]] | None) -> None:
    """The dataset's versions and, for a preprocessed one, where it comes from."""
    st.dataframe(pd.DataFrame([v.model_dump() for v in detail.versions]), hide_index=True, key="versions")
    if detail.lineage is None:
        st.caption(
            f"Version {detail.version} is an upload of {detail.source} ({detail.format}, {detail.read_options})."
        )
        return
    steps = ", ".join(f"`{s['id']}`" for s in detail.lineage.steps)
    st.markdown(
        f"Version {detail.version} comes from version **{detail.lineage.parent_version}** by {steps}; run `{detail.lineage.run_id}`."
    )
    st.json({"parameters": detail.lineage.parameters, "pipeline": detail.lineage.pipeline}, expanded=False)
    if log:
        a, b = st.columns(2)
        a.download_button(
            "Run log (JSON lines)",
            as_json_lines(log),
            f"{detail.name}-v{detail.version}.jsonl",
            key="lineage-json",
        )
        b.download_button(
            "Run log (text)", as_text(log), f"{detail.name}-v{detail.version}.log", key="lineage-text"
        )
