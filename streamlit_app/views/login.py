"""Sign in: the only page while UI_AUTH is on and nobody is signed in."""

from __future__ import annotations

import streamlit as st

from components.auth import sign_in
from components.status import attempt

st.title("Sign in")
st.caption("Rakuten MLOps control room. Ask an admin for an account (rakuten-mlops users create).")
with st.form("sign-in"):
    name = st.text_input("Username", key="login-username", autocomplete="username")
    password = st.text_input(
        "Password", type="password", key="login-password", autocomplete="current-password"
    )
    if st.form_submit_button("Sign in", type="primary", icon=":material/login:"):
        user = attempt("Signing in", sign_in, name, password)
        if user is not None:
            st.rerun()
