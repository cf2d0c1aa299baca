"""Store overview: how much is loaded and how current it is."""

from __future__ import annotations

import streamlit as st

from dashboard.common import require_principal
from registry.batches import store_info
from registry.errors import StoreError

st.title("Registry store")
_, path = require_principal()
try:
    facts = store_info(path)
except StoreError as exc:
    st.warning(str(exc))
    st.stop()
left, middle, right = st.columns(3)
left.metric("Tumors", f"{facts.tumors:,}")
middle.metric("Patients", f"{facts.patients:,}")
right.metric("Rejected records", f"{facts.rejects:,}")
st.caption(f"{facts.batches_loaded} batches loaded, {facts.batches_failed} failed; diagnosis years "
           f"{facts.first_diagnosis_year}-{facts.last_diagnosis_year}; last load {facts.last_loaded_at}; "
           f"schema version {facts.schema_version}.")
