"""Score a file of listings through the API, with its columns mapped as the user names them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.status import attempt
from managers.api import read_csv_bytes

DESIGNATION_GUESSES = ("designation", "title", "titre", "name", "nom", "product")
DESCRIPTION_GUESSES = ("description", "desc", "body", "details")
NONE = "(none)"


def score_file(api: Any) -> None:
    """Upload a CSV, say which columns are the designation and the description, score it, download it."""
    upload = st.file_uploader("CSV to score", type=["csv"], key="score-file")
    if upload is not None:
        frame = attempt("Reading the file", read_csv_bytes, upload.getvalue())
        if frame is not None:
            columns = list(frame.columns)
            lowered = [c.lower() for c in columns]

            def guess(names: tuple[str, ...], offset: int = 0) -> int:
                return next((i + offset for i, c in enumerate(lowered) if c in names), 0)

            a, b = st.columns(2)
            title = a.selectbox(
                "Designation column", columns, index=guess(DESIGNATION_GUESSES), key="score-title"
            )
            body = b.selectbox(
                "Description column",
                [NONE, *columns],
                index=guess(DESCRIPTION_GUESSES, 1) if any(c in DESCRIPTION_GUESSES for c in lowered) else 0,
                key="score-body",
            )
            st.caption(f"{len(frame):,} rows; the result adds code, category, confidence and version.")
            if st.button("Score the file", key="score", type="primary"):
                listings = pd.DataFrame(
                    {
                        "designation": frame[title],
                        "description": frame[body] if body != NONE else "",
                    }
                )
                with st.spinner(f"Scoring {len(frame):,} listings…"):
                    scored = attempt("Scoring the file", api.predict_frame, listings)
                if scored is not None:
                    result = frame.copy()
                    for column in ("prdtypecode", "label", "confidence", "model_version"):
                        result[column] = scored[column].to_numpy()
                    st.session_state["scored"] = (upload.name, result)
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
