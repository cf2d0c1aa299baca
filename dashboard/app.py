"""Dashboard entry point: sign-in, then the pages the signed-in role may use (each in dashboard/views/)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.session import current_principal, sign_out

PAGES = Path(__file__).parent / "views"

st.set_page_config(page_title="Oncoregistry", layout="wide")
principal = current_principal()
if principal is None:
    navigation = st.navigation([st.Page(PAGES / "sign_in.py", title="Sign in")])
else:
    explore = [
        st.Page(PAGES / "overview.py", title="Overview", default=True),
        st.Page(PAGES / "incidence_map.py", title="Incidence map"),
    ]
    explore += [st.Page(PAGES / f"{name}.py", title=title) for name, title in (
        ("trends", "Trends"), ("survival", "Survival"),
        ("recurrence", "Recurrence")) if (PAGES / f"{name}.py").exists()]
    registry_pages = [st.Page(PAGES / "store.py", title="Store overview")]
    if principal.role in ("registrar", "administrator"):
        registry_pages.append(st.Page(PAGES / "batches.py", title="Ingest batches"))
    navigation = st.navigation({"Explore": explore, "Registry": registry_pages})
    with st.sidebar:
        st.caption(f"Signed in as **{principal.user}** ({principal.role})")
        st.button("Sign out", on_click=sign_out)
navigation.run()
