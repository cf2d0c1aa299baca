"""Ingest batches: every file loaded or refused, with its record accounting and reject reasons."""

from __future__ import annotations

import streamlit as st

from dashboard.common import require_principal
from dashboard.tables import show_table
from registry.api import (
    DEFAULT_THRESHOLD,
    READ_UNSUPPRESSED,
    VIEW_INGEST_BATCHES,
    RegistryError,
    allowed,
    list_batches,
    rejects_by_rule,
)

principal, path = require_principal()
st.title("Ingest batches")
if not allowed(principal, VIEW_INGEST_BATCHES):
    st.error("Ingest batches are shown to registry specialists and administrators only.")
    st.stop()
try:
    frame = list_batches(principal, path)
    rejects = rejects_by_rule(principal, path)
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
st.caption("For every batch: tumors read = tumors loaded + tumors rejected.")
if not allowed(principal, READ_UNSUPPRESSED):
    st.caption(f"A file's name carries its facility and year, so a file's counts of 1-{DEFAULT_THRESHOLD - 1} records "
               "are shown as "
               "*suppressed* (with one or more other files, so that none follows from the store's totals); "
               "registry specialists see every count.")
show_table(frame.drop(columns=["sha256"]))
st.subheader("Rejected records by rule")
show_table(rejects)
