"""Change password: any signed-in user's own, and required first when the account must change it."""

from __future__ import annotations

import streamlit as st

from dashboard.session import account_controls, change_password_page, current_session, routed, sign_in_page

active = current_session()
if not routed():
    account_controls(active)
if active is None:
    st.error("Please sign in.")
    sign_in_page()
    st.stop()
change_password_page(active)
