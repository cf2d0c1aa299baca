"""Store overview: how much is loaded and how current it is."""

from __future__ import annotations

import streamlit as st

from dashboard.common import count_text, require_principal
from dashboard.tables import when
from registry.api import RegistryError, store_info

principal, path = require_principal()
st.title("Registry store")
try:
    facts = store_info(principal, path)
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
left, middle, right = st.columns(3)
left.metric("Registry tumors", count_text(facts.tumors), help="Each cancer once, its reports consolidated")
middle.metric("Registry patients", count_text(facts.patients), help="Each person once, their reports linked")
right.metric("Pending linkage reviews", count_text(facts.pending_reviews))
left.metric("Tumor reports", count_text(facts.tumor_reports))
middle.metric("Patient reports", count_text(facts.patient_reports))
right.metric("Rejected records", count_text(facts.rejects))
if facts.unlinked_reports:
    st.info(f"{count_text(facts.unlinked_reports)} tumor reports are not linked yet: run `registry link`.")
st.caption(f"{facts.batches_loaded} batches loaded, {facts.batches_failed} failed; diagnosis years "
           f"{facts.first_diagnosis_year}-{facts.last_diagnosis_year}; last load {when(facts.last_loaded_at)}; "
           f"schema version {facts.schema_version}.")
