"""Predictions: classify one listing, correct it, score a file with its columns mapped, search the log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import charts, scoring
from components.auth import current_user, explain_refusal, permission
from components.status import attempt
from components.when import reader_zone
from rakuten_mlops.data.categories import rakuten_categories
from services import managers

m = managers()
user = current_user()
can_correct, why_not_correct = permission("feedback")
st.title("Predictions")
st.caption(f"Prediction API: `{m.api.url}`")
CODES = {c.code: f"{c.code} · {c.label}" for c in rakuten_categories()}

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
        st.session_state.pop("corrected", None)

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
    with st.container(border=True):
        st.markdown("**Wrong class?** Give the right one: it counts in the model's live accuracy.")
        others = [code for code in CODES if code != explained.prdtypecode]
        pick, send = st.columns([4, 1])
        right_code = pick.selectbox(
            "The right class", others, format_func=CODES.__getitem__, key="right-class"
        )
        if send.button(
            "Wrong class",
            key="wrong-class",
            icon=":material/report:",
            disabled=not can_correct,
            help=why_not_correct,
        ):
            sent = attempt(
                "Sending the feedback", m.api.feedback, explained.request_id, int(right_code), actor=user
            )
            if sent is not None:
                st.session_state["corrected"] = sent
        explain_refusal(why_not_correct)
        if corrected := st.session_state.get("corrected"):
            accuracy = "—" if corrected.live_accuracy is None else f"{corrected.live_accuracy:.1%}"
            st.success(
                f"Recorded: the right class is {CODES.get(int(right_code))}. Live accuracy {accuracy}."
            )

st.subheader("Score a file")
scoring.score_file(m.api)

st.subheader("Recent predictions")
words, code, count = st.columns([3, 2, 1])
contains = words.text_input("Designation contains", key="recent-contains")
chosen = code.selectbox(
    "Predicted class",
    [None, *CODES],
    format_func=lambda c: "any" if c is None else CODES[c],
    key="recent-code",
)
limit = int(count.number_input("Rows", 10, 1000, 50, step=10, key="recent-limit"))
recent = attempt(
    "Reading the prediction log",
    m.database.recent_predictions,
    limit,
    contains=contains.strip() or None,
    code=None if chosen is None else str(chosen),
)
if recent is not None:
    if recent.empty:
        st.caption("No logged prediction matches." if contains or chosen else "No prediction logged yet.")
    else:
        shown = recent.copy()
        zone = reader_zone()
        shown["created_at"] = pd.to_datetime(shown["created_at"], utc=True).dt.tz_convert(zone)
        shown.insert(
            3, "class", [CODES.get(int(c), "") if str(c).isdigit() else "" for c in shown["prdtypecode"]]
        )
        st.caption(f"Times in {zone.key}.")
        st.dataframe(
            shown,
            hide_index=True,
            column_config={
                "created_at": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss"),
                "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0),
                "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%.1f"),
            },
        )
