"""AutoML: say what to predict in a table, confirm the task, watch the search, then use its explained champion."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import current_user, explain_refusal, permission
from components.automl_sections import champion_section, search_section
from components.status import attempt
from managers.automl import AutoMLRun
from rakuten_mlops.automl.spec import CLASSIFICATION_METRICS, REGRESSION_METRICS
from services import managers

m = managers()
user = current_user()
can_run, why_not = permission("automl")
st.title("AutoML")
st.caption(
    "Any table of the **Datasets** page: say what to predict, in English or French, check the task, and the "
    "search tries every model family within the budget. Each task gets its own registered model, gated "
    "against its champion on the same held-out rows, explained with SHAP and served by the API at "
    "`POST /models/{name}/predict`."
)

new_tab, models_tab = st.tabs(["New task", "Models"])

with new_tab:
    names = attempt("Listing datasets", m.automl.datasets)
    if names is not None and not names:
        st.info("No dataset yet: add a table on the **Datasets** page first.", icon=":material/info:")
    if names:
        dataset = st.selectbox("Dataset", names, key="automl-dataset")
        prompt = st.text_input(
            "What to predict",
            placeholder="predict whether a customer churns, without the signup date",
            key="automl-prompt",
            help="A sentence in English or French naming the column to predict; or pick the column below.",
        )
        detail = attempt("Reading the dataset", m.datasets.show, dataset)
        columns = [c.name for c in detail.schema_] if detail is not None else []
        target = st.selectbox("…or the target column", ["(from the sentence)", *columns], key="automl-target")
        if st.button("Read the task", key="automl-plan", icon=":material/psychology:"):
            chosen = None if target == "(from the sentence)" else target
            planned = attempt(
                "Reading the task", m.automl.plan, dataset, target=chosen, prompt=prompt or None
            )
            st.session_state["automl-planned"] = planned
        planned = st.session_state.get("automl-planned")
        if planned is not None and planned.dataset == dataset:
            spec = planned.spec
            with st.container(border=True):
                st.markdown(
                    f"Predict **`{spec.target}`** ({spec.problem_type}; {spec.target_reason}) "
                    f"→ model **`{planned.model_name}`**"
                )
                metrics = (
                    CLASSIFICATION_METRICS if spec.problem_type == "classification" else REGRESSION_METRICS
                )
                metric = st.selectbox(
                    "Metric", list(metrics), index=list(metrics).index(spec.metric), key="automl-metric"
                )
                excluded = {e.column: e.reason for e in spec.excluded}
                if excluded:
                    st.dataframe(
                        pd.DataFrame(
                            {"column": list(excluded), "why it is left out": list(excluded.values())}
                        ),
                        hide_index=True,
                        key="automl-excluded",
                    )
                kept_out = st.multiselect(
                    "Leave out",
                    spec.features,
                    key="automl-leave-out",
                    help="Columns the search should not use.",
                )
                back = st.multiselect(
                    "Bring back",
                    list(excluded),
                    key="automl-bring-back",
                    help="Excluded columns to use after all.",
                )
                budget = st.slider("Budget (minutes)", 0.25, 30.0, 2.0, 0.25, key="automl-budget")
                edited = attempt(
                    "Checking the task", m.automl.edit, planned, metric=metric, exclude=kept_out, include=back
                )
                if edited is not None:
                    st.caption(
                        f"{len(edited.spec.features)} features: "
                        + ", ".join(f"`{f}`" for f in edited.spec.features)
                    )
                start = st.button(
                    "Confirm and start the search", key="automl-start", type="primary", icon=":material/play_arrow:",
                    disabled=edited is None or not can_run, help=why_not,
                )  # fmt: skip
                explain_refusal(why_not)
                if start and edited is not None:
                    run = attempt("Starting the search", m.automl.start, edited, budget, actor=user)
                    if run is not None:
                        st.session_state["automl-run"] = run.id

        def show_run(run_id: str) -> AutoMLRun | None:
            run = attempt("Reading the search", m.automl.run, run_id)
            if run is not None:
                search_section(run)
            return run

        @st.fragment(run_every=2)
        def follow(run_id: str) -> None:
            run = show_run(run_id)
            if run is not None and run.final:
                st.session_state["automl-finished"] = run_id
                st.rerun()

        if run_id := st.session_state.get("automl-run"):
            st.subheader("Search")
            if st.session_state.get("automl-finished") == run_id:
                show_run(run_id)
            else:
                follow(run_id)

with models_tab:
    models = attempt("Listing the table models", m.automl.model_names)
    if models is not None and not models:
        st.info("No table model yet: start a task in **New task**.", icon=":material/info:")
    if models:
        name = st.selectbox("Model", models, key="automl-model")
        champion = attempt("Loading the champion", m.automl.champion, name)
        if champion is not None:
            a, b, c = st.columns(3)
            a.metric("Champion version", champion.version)
            b.metric("Predicts", champion.target)
            c.metric("Problem", champion.problem_type)
            champion_section(m.automl, name, champion)
