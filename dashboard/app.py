"""Dashboard entry point: only the router; each page lives in dashboard/pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Oncoregistry", layout="wide")
navigation = st.navigation({
    "Registry": [
        st.Page(PAGES / "store.py", title="Store overview", icon=":material/database:", default=True),
        st.Page(PAGES / "batches.py", title="Ingest batches", icon=":material/upload_file:"),
    ],
})
navigation.run()
