"""Catalogue: the listings the classifier trains on (statistics, classes, missing values, lengths, sample, ingestion)."""

from __future__ import annotations

import streamlit as st

from components import charts
from components.ingest import ingest_form
from components.status import attempt
from services import managers

m = managers()
st.title("Catalogue")
st.caption(f"Catalogue database: `{m.database.url}`")

profile = attempt("Profiling the catalogue", m.database.profile)
if profile is not None:
    a, b, c, d, e = st.columns(5)
    a.metric("Listings", f"{profile.rows:,}")
    b.metric("Labelled", f"{profile.labelled:,}")
    c.metric("Classes", len(profile.classes))
    d.metric(
        "Missing descriptions",
        f"{profile.missing_description_share:.1%}",
        help=f"{profile.missing_descriptions:,} listings",
    )
    e.metric(
        "Duplicate texts",
        f"{profile.duplicate_texts:,}",
        help=f"{profile.conflicting_labels} with conflicting labels",
    )
    if profile.rows == 0:
        st.info("The catalogue is empty: ingest listings below.", icon=":material/info:")
    else:
        left, right = st.columns([3, 2])
        with left:
            if profile.classes:
                st.plotly_chart(charts.class_distribution(profile), key="classes")
        with right:
            lengths = attempt("Reading text lengths", m.database.text_lengths)
            if lengths is not None:
                st.plotly_chart(charts.length_histogram(lengths, "designation"), key="len-designation")
                st.plotly_chart(charts.length_histogram(lengths, "description"), key="len-description")
            st.markdown("**Missing values**")
            st.dataframe(
                {
                    "field": ["designation", "description", "label"],
                    "missing": [0, profile.missing_descriptions, profile.unlabelled],
                },
                hide_index=True,
            )

        st.subheader("Sample viewer")
        a, b, c = st.columns([2, 3, 1])
        labels = ["(all)", *[f"{k.label} {k.name or ''}".strip() for k in profile.classes]]
        chosen = a.selectbox("Class", labels, key="sample-class")
        contains = b.text_input("Designation contains", key="sample-contains")
        limit = c.number_input("Rows", 10, 1_000, 50, step=10, key="sample-limit")
        label = None if chosen == "(all)" else chosen.split()[0]
        listings = attempt(
            "Reading listings", m.database.sample, label=label, contains=contains or None, limit=int(limit)
        )
        if listings is not None:
            st.dataframe(listings, hide_index=True)

st.subheader("Ingest listings")
ingest_form(m)

st.subheader("Ingestion history")
batches = attempt("Reading ingestion batches", m.database.batches)
if batches is not None:
    st.dataframe(batches, hide_index=True)
