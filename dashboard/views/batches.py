"""Ingest batches: every file loaded or refused, with its record accounting and reject reasons."""

from __future__ import annotations

import streamlit as st

from dashboard.session import current_principal
from registry.batches import list_batches, rejects_by_rule
from registry.errors import StoreError
from registry.store import default_db_path

st.title("Ingest batches")
principal = current_principal()
if principal is None or principal.role not in ("registrar", "administrator"):
    st.error("Ingest batches are shown to registry specialists and administrators only.")
    st.stop()
path = default_db_path()
try:
    frame = list_batches(path)
except StoreError as exc:
    st.warning(str(exc))
    st.stop()
st.caption("For every batch: tumors read = tumors loaded + tumors rejected.")
st.dataframe(frame.drop(columns=["sha256"]), hide_index=True, use_container_width=True)
st.subheader("Rejected records by rule")
st.dataframe(rejects_by_rule(path), hide_index=True, use_container_width=True)
