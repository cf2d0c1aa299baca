"""Sign-in page: local account form, or the registry's identity provider when one is configured."""

from __future__ import annotations

import streamlit as st

from dashboard.session import identity_provider_configured, principal_from_identity_provider, sign_in_local

st.title("Sign in to Oncoregistry")
st.caption("The registry holds confidential health information: every sign-in and record view is recorded.")
if identity_provider_configured():
    if principal_from_identity_provider() is not None:
        st.rerun()
    if getattr(st.user, "is_logged_in", False):
        st.error("Your account has no registry role; ask a registry administrator.")
    st.button("Sign in with your organisation", on_click=st.login, type="primary")
else:
    with st.form("sign-in"):
        user = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted and sign_in_local(user, password) is not None:
        st.rerun()
