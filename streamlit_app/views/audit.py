"""Audit: every change with who, when, what and the result, filtered by time, user and action."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import current_user
from components.status import attempt
from rakuten_mlops.auth.roles import ACTIONS
from services import managers

ALL = "(all)"

m = managers()
current_user()
st.title("Audit")
st.caption(
    "Promotions, rollbacks, runs, acknowledgements, settings, users: who did what, when, and the result."
)
a, b, c = st.columns(3)
hours = a.number_input("Last hours (0: everything)", 0.0, 24.0 * 365, 24.0, step=1.0, key="audit-hours")
who = b.text_input("User", key="audit-user")
action = c.selectbox("Action", [ALL, *sorted(ACTIONS)], key="audit-action")
entries = attempt(
    "Reading the audit log",
    m.auth.audit,
    since_hours=hours or None,
    user=who.strip() or None,
    action=None if action == ALL else action,
)
if entries is not None and not entries:
    st.info("No change recorded for these filters.", icon=":material/info:")
if entries:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "at": e.at,
                    "user": e.user,
                    "action": e.action,
                    "arguments": str(e.arguments),
                    "result": e.result,
                }
                for e in entries
            ]
        ),
        hide_index=True,
        key="audit-table",
    )
