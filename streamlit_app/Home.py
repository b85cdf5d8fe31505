"""Rakuten MLOps control room: `streamlit run streamlit_app/Home.py`. This entry point owns the navigation.

With UI_AUTH on, a visitor who has not signed in gets the sign-in page and nothing else: every
other page, whatever its URL, runs only after a successful sign-in.
"""

from __future__ import annotations

import streamlit as st

from components.auth import sidebar_user, signed_in

st.set_page_config(page_title="Rakuten MLOps Control Room", page_icon=":material/hub:", layout="wide")

if not signed_in():
    st.navigation(
        [st.Page("views/login.py", title="Sign in", icon=":material/login:")], position="hidden"
    ).run()
    st.stop()

PAGES = {
    "Overview": [
        st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("views/infrastructure.py", title="Infrastructure", icon=":material/dns:"),
    ],
    "Model lifecycle": [
        st.Page("views/dataset.py", title="Catalogue", icon=":material/database:"),
        st.Page("views/datasets.py", title="Datasets", icon=":material/table_chart:"),
        st.Page("views/training.py", title="Training", icon=":material/model_training:"),
        st.Page("views/automl.py", title="AutoML", icon=":material/auto_awesome:"),
        st.Page("views/registry.py", title="Model registry", icon=":material/inventory_2:"),
        st.Page("views/runs.py", title="Runs", icon=":material/play_circle:"),
        st.Page("views/assistant.py", title="Assistant", icon=":material/chat:"),
    ],
    "Production": [
        st.Page("views/predictions.py", title="Predictions", icon=":material/online_prediction:"),
        st.Page("views/monitoring.py", title="Monitoring", icon=":material/monitoring:"),
    ],
    "Administration": [
        st.Page("views/settings.py", title="Settings", icon=":material/settings:"),
        st.Page("views/kubernetes.py", title="Kubernetes", icon=":material/deployed_code:"),
        st.Page("views/users.py", title="Users", icon=":material/group:"),
        st.Page("views/audit.py", title="Audit", icon=":material/history:"),
    ],
}

page = st.navigation(PAGES, expanded=True)  # every page listed: admin pages were hidden under "View 3 more"
st.sidebar.caption("Rakuten product classification · MLOps control room")
sidebar_user()
page.run()
