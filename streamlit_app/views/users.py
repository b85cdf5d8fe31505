"""Users: who may sign in, with which role; personal API tokens shown once."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import current_user, explain_refusal, permission
from components.status import attempt
from rakuten_mlops.auth.roles import Role
from services import managers

m = managers()
user = current_user()
can_manage, why_not = permission("users")
st.title("Users")
st.caption(
    "viewer: read everything and predict · operator: also run, check, acknowledge, ingest · admin: everything"
)
if message := st.session_state.pop("users_message", None):
    st.success(message, icon=":material/check_circle:")

found = attempt("Listing users", m.auth.users)
if found == []:
    st.caption(
        "No user yet: create one below. Until then the API's key and this control room's local admin act."
    )
elif found is not None:
    st.dataframe(
        pd.DataFrame(
            [
                {"name": u.name, "role": str(u.role), "disabled": u.disabled, "last sign-in": u.last_login_at}
                for u in found
            ]
        ),
        hide_index=True,
    )
explain_refusal(why_not)

with st.form("create-user", clear_on_submit=True):
    st.markdown("**Create a user**")
    a, b, c = st.columns(3)
    name = a.text_input("Name", key="new-user-name")
    role = b.selectbox("Role", list(Role), format_func=str, key="new-user-role")
    password = c.text_input("Password (empty: tokens only)", type="password", key="new-user-password")
    if st.form_submit_button("Create", disabled=not can_manage, help=why_not):
        created = attempt(
            f"Creating {name}", m.auth.create_user, name, Role(role or "viewer"), password, actor=user
        )
        if created is not None:
            st.session_state["users_message"] = f"{created.name} created ({created.role})"
            st.rerun()

names = [u.name for u in found or []]
if names:
    chosen = st.selectbox("User", names, key="user-chosen")
    disable, enable, token = st.columns(3)
    for column, disabled, label in ((disable, True, "Disable"), (enable, False, "Enable")):
        pressed = column.button(label, key=f"user-{label.lower()}", disabled=not can_manage, help=why_not)
        changed = (
            attempt(f"{label} {chosen}", m.auth.set_disabled, chosen, disabled, actor=user)
            if pressed
            else None
        )
        if changed is not None:
            state = "disabled; their tokens stop working now" if disabled else "enabled"
            st.session_state["users_message"] = f"{chosen} is {state}"
            st.rerun()
    if token.button("Issue an API token", key="user-token", disabled=not can_manage, help=why_not):
        issued = attempt(f"Issuing a token for {chosen}", m.auth.issue_token, chosen, actor=user)
        if issued is not None:
            st.warning("Copy it now: it is shown only once and stored only as a hash.", icon=":material/key:")
            st.code(issued.token, language=None)
