"""Who is signed in, the sign-in form, and buttons a role may not use shown disabled with the reason."""

from __future__ import annotations

import streamlit as st

from rakuten_mlops.auth.roles import LOCAL_ADMIN, Principal, refusal
from services import managers

USER_KEY = "signed_in_user"


def current_user() -> Principal:
    """The signed-in user (re-read each run: a role change or a disabled account counts at once)."""
    auth = managers().auth
    if not auth.required:
        return LOCAL_ADMIN
    signed_in = st.session_state.get(USER_KEY)
    fresh = auth.refresh(signed_in) if isinstance(signed_in, Principal) else None
    if fresh is None:
        st.session_state.pop(USER_KEY, None)
        st.error("Sign in to use the control room.", icon=":material/lock:")
        st.stop()
    st.session_state[USER_KEY] = fresh
    return fresh


def signed_in() -> bool:
    """Whether someone is signed in (always true without UI_AUTH)."""
    return not managers().auth.required or isinstance(st.session_state.get(USER_KEY), Principal)


def sign_in(name: str, password: str) -> Principal:
    """Check the credentials and keep the user in this browser session."""
    user = managers().auth.sign_in(name, password)
    st.session_state[USER_KEY] = user
    return user


def sign_out() -> None:
    """Forget the signed-in user of this browser session."""
    st.session_state.pop(USER_KEY, None)


def permission(action: str) -> tuple[bool, str | None]:
    """(allowed, why not) for the current user: feed `disabled=not allowed, help=why` to a button."""
    user = current_user()
    return (True, None) if user.may(action) else (False, refusal(user, action))


def explain_refusal(why: str | None) -> None:
    """The reason a control is disabled, under it."""
    if why:
        st.caption(f":material/lock: {why}")


def sidebar_user() -> None:
    """The signed-in user and a sign-out button, in the sidebar."""
    if not managers().auth.required:
        st.sidebar.caption("Sign-in is off (UI_AUTH=false): everyone acts as the local admin.")
        return
    user = current_user()
    st.sidebar.markdown(f":material/person: **{user.name}** · {user.role}")
    if st.sidebar.button("Sign out", key="sign-out", icon=":material/logout:"):
        sign_out()
        st.rerun()
