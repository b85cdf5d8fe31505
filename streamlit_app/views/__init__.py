"""One file per page of the control room; only st.* calls and manager calls."""
