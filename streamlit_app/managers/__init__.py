"""UI-free managers: every call the control room makes to a service goes through one of these classes.

They never import streamlit; clients are injected so tests drive them against real services.
"""
