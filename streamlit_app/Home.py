"""Rakuten MLOps control room: `streamlit run streamlit_app/Home.py`. This entry point owns the navigation."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Rakuten MLOps Control Room", page_icon=":material/hub:", layout="wide")

PAGES = {
    "Overview": [
        st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("views/infrastructure.py", title="Infrastructure", icon=":material/dns:"),
    ],
    "Model lifecycle": [
        st.Page("views/dataset.py", title="Dataset", icon=":material/database:"),
        st.Page("views/training.py", title="Training", icon=":material/model_training:"),
        st.Page("views/registry.py", title="Model registry", icon=":material/inventory_2:"),
        st.Page("views/runs.py", title="Runs", icon=":material/play_circle:"),
    ],
    "Production": [
        st.Page("views/predictions.py", title="Predictions", icon=":material/online_prediction:"),
        st.Page("views/monitoring.py", title="Monitoring", icon=":material/monitoring:"),
    ],
}

page = st.navigation(PAGES)
st.sidebar.caption("Rakuten product classification · MLOps control room")
page.run()
