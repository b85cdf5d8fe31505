"""Training: start the training-pipeline, follow its state and logs, compare MLflow runs, inspect one run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import charts
from components.auth import current_user, explain_refusal, permission
from components.follow import follow
from components.status import attempt
from managers.flows import TRAINING
from rakuten_mlops.training.families import torch_available
from services import managers

m = managers()
user = current_user()
can_train, why_not = permission("train")
st.title("Training")

where = (
    "the Prefect server" if m.flows.mode == "prefect" else "a local process (no Prefect server configured)"
)
st.subheader("Start the training pipeline")
st.caption(f"Runs `{TRAINING}` on {where}.")
# Only what can run: torch (and with it CUDA) only where the torch extra is installed.
has_torch = torch_available()
with st.form("train"):
    a, b, c, d = st.columns(4)
    trainer = a.selectbox("Trainer", ["sklearn", "torch"] if has_torch else ["sklearn"])
    device = b.selectbox("Device", ["auto", "cpu", "cuda"] if has_torch else ["cpu"])
    search = c.selectbox(
        "Model search",
        ["quick", "full", "off"],
        help="quick: a search sized for minutes; full: a wider one; off: the fixed trainer",
    )
    promote = d.checkbox("Promote if it beats the champion", value=True)
    if not has_torch:
        st.caption(
            "torch is not installed here (`pip install '.[torch]'`), so the scikit-learn trainer on CPU is "
            "what can run."
        )
    started = st.form_submit_button(
        "Start training", type="primary", icon=":material/play_arrow:", disabled=not can_train, help=why_not
    )
    explain_refusal(why_not)
    if started:
        run = attempt(
            "Starting training",
            m.flows.trigger,
            TRAINING,
            {"trainer": trainer, "device": device, "search": search, "promote": promote},
            actor=user,
        )
        if run is not None:
            st.session_state["training_run"] = run.id
            st.success(f"Started run {run.name}")
            if run.where == "prefect":
                st.session_state["runs_selected"] = st.session_state["runs_jump"] = run.id


if run_id := st.session_state.get("training_run"):
    st.subheader("Current run")
    follow(run_id, "training_run")

runs = attempt("Listing flow runs", m.flows.runs)
if runs:
    st.subheader("Recent flow runs")
    st.dataframe(
        pd.DataFrame(
            [
                {"flow": r.flow, "name": r.name, "state": r.state, "created": r.created, "where": r.where}
                for r in runs
            ]
        ),
        hide_index=True,
    )

st.subheader("Experiments and runs (MLflow)")
experiment = attempt("Reading the training experiment", m.registry.training_experiment)
if experiment is not None:
    st.caption(f"Training runs of experiment `{experiment.name}`; drift checks are on the Monitoring page.")
    frame = attempt("Listing runs", m.registry.runs, [experiment.experiment_id])
    if frame is not None and not frame.empty:
        metrics = [c for c in ("weighted_f1", "macro_f1", "accuracy") if c in frame.columns]
        shown = ["run_name", "started", "trainer", "device", *metrics, "train_seconds", "run_id"]
        st.dataframe(frame[[c for c in shown if c in frame.columns]], hide_index=True)
        if metrics:
            st.plotly_chart(charts.metric_comparison(frame.head(15), metrics), key="runs-compared")
        run_name = st.selectbox("Inspect run", frame["run_name"].tolist())
        run_id = frame.loc[frame["run_name"] == run_name, "run_id"].iloc[0]
        left, right = st.columns([3, 2])
        confusion = attempt("Reading the confusion matrix", m.registry.confusion, run_id)
        if confusion is not None:
            left.plotly_chart(charts.confusion_heatmap(confusion), key="confusion")
        report = attempt("Reading the per-class report", m.registry.per_class, run_id)
        if report is not None:
            right.plotly_chart(charts.per_class_f1(report), key="per-class")
        board = attempt("Reading the model search", m.registry.leaderboard, run_id)
        if board is not None and not board.empty:
            st.markdown(
                f"**Model search leaderboard** · {len(board)} candidates, scored on the validation split"
            )
            st.caption(
                "The winner (rank 1) was refitted on train + validation; the test split judged it alone."
            )
            st.scatter_chart(board, x="fit_seconds", y="validation_f1", color="family")
            shown = [
                "rank",
                "family",
                "state",
                "validation_f1",
                "fraction",
                "fit_seconds",
                "n_features",
                "trial",
            ]
            st.dataframe(board[[c for c in shown if c in board.columns]], hide_index=True)
    elif frame is not None:
        st.info("No run yet: start the training pipeline above.", icon=":material/info:")
else:
    st.info("No training run yet: start the training pipeline above.", icon=":material/info:")
