"""Predictions: classify one listing with its explanation, score a CSV file, see the latest predictions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import charts
from components.status import attempt
from managers.api import read_csv_bytes
from services import managers

m = managers()
st.title("Predictions")
st.caption(f"Prediction API: `{m.api.url}`")

with st.form("predict"):
    designation = st.text_input("Designation (title)", "Piscine tubulaire hors sol")
    description = st.text_area("Description", "Bâche renforcée et pompe de filtration incluses")
    submitted = st.form_submit_button("Classify", type="primary", icon=":material/category:")
if submitted:
    if not designation.strip():
        st.warning("A listing needs a designation.")
    else:
        st.session_state["explained"] = attempt(
            "Classifying the listing", m.api.explain, designation, description
        )

if explained := st.session_state.get("explained"):
    a, b, c, d = st.columns([1, 3, 1, 1])
    a.metric("Product type code", str(explained.prdtypecode))
    b.metric("Category", explained.label or "—")
    c.metric("Confidence", f"{explained.confidence:.1%}")
    d.metric("Model version", explained.model_version)
    left, right = st.columns(2)
    candidates = pd.DataFrame(
        [
            {"class": f"{k.prdtypecode} {k.label or ''}".strip(), "probability": k.probability}
            for k in explained.top_k
        ]
    )
    left.plotly_chart(charts.top_k(candidates), key="top-k")
    tokens = pd.DataFrame(
        [{"token": f"{t.term} ({t.field})", "weight": t.weight} for t in explained.contributions]
    )
    if tokens.empty:
        right.caption("No single word explains this prediction.")
    else:
        right.plotly_chart(charts.contributions(tokens), key="tokens")

st.subheader("Score a CSV file")
st.caption(
    "Columns `designation` (required) and `description`; the result adds code, category, confidence and version."
)
upload = st.file_uploader("CSV to score", type=["csv"], key="score-file")
if upload is not None and st.button("Score the file", key="score", type="primary"):
    frame = attempt("Reading the file", read_csv_bytes, upload.getvalue())
    if frame is not None:
        with st.spinner(f"Scoring {len(frame):,} listings…"):
            scored = attempt("Scoring the file", m.api.predict_frame, frame)
        if scored is not None:
            st.session_state["scored"] = (upload.name, scored)
if scored_file := st.session_state.get("scored"):
    name, scored = scored_file
    st.success(f"Scored {len(scored):,} listings from {name}")
    st.dataframe(scored.head(200), hide_index=True)
    st.download_button(
        "Download the scored file",
        scored.to_csv(index=False).encode(),
        file_name=f"scored-{name}",
        mime="text/csv",
    )

st.subheader("Recent predictions")
recent = attempt("Reading the prediction log", m.database.recent_predictions)
if recent is not None:
    if recent.empty:
        st.caption("No prediction logged yet.")
    else:
        st.dataframe(recent, hide_index=True)
