"""Find a patient: look a person up by name, birth date, SSN or medical record number before creating a
record; the registry patients they may be, best first, with what the score suggests doing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.common import match_probability, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    FIND_PATIENT,
    LINKAGE_THRESHOLDS,
    RECORD_VIEW,
    InvalidRequest,
    PatientCandidate,
    RegistryError,
    allowed,
    find_patient,
)

LIMIT = 10
SEXES = {"": "Any", "1": "Male", "2": "Female", "3": "Other (intersex)", "4": "Transsexual, NOS",
         "5": "Transsexual, natal male", "6": "Transsexual, natal female", "9": "Unknown"}
COLUMNS = ["registry_patient_id", "match_probability", "match_weight", "name", "date_of_birth", "sex",
           "ssn_last4", "reports", "tumors", "facilities"]


def candidate_table(found: list[PatientCandidate]) -> pd.DataFrame:
    """One row per candidate registry patient, best first, as the page shows them."""
    return pd.DataFrame({
        "registry_patient_id": [c.registry_patient_id for c in found],
        "match_probability": [c.match_probability for c in found],
        "match_weight": [c.match_weight for c in found],
        "name": [c.name for c in found], "date_of_birth": [c.date_of_birth for c in found],
        "sex": [SEXES.get(c.sex or "", c.sex or "") for c in found],
        "ssn_last4": [f"…{c.ssn_last4}" if c.ssn_last4 else "" for c in found],
        "reports": [c.reports for c in found], "tumors": [c.tumors for c in found],
        "facilities": [", ".join(c.facilities) for c in found]}, columns=COLUMNS)


def advice(found: list[PatientCandidate]) -> tuple[str, str]:
    """(kind, text): what the best candidate's score suggests, by the linkage's own thresholds."""
    upper, lower = LINKAGE_THRESHOLDS["upper"], LINKAGE_THRESHOLDS["lower"]
    best = found[0] if found else None
    if best is None or best.match_weight < lower:
        text = (f"No candidate reaches a match probability of {match_probability(lower):.0%} "
                f"(match weight {lower:g}): a new patient may be created.")
        if best is not None:   # the items not given count for nothing, so a short search scores low
            text += (" First check the candidates below: they share items with the search, and a search with few "
                     "items scores lower than a full report would.")
        return "info", text
    if best.match_weight >= upper:
        return "success", (f"Likely the same person as registry patient {best.registry_patient_id} "
                           f"({best.match_probability:.1%}): add to that patient rather than create a new one.")
    return "warning", (f"Registry patient {best.registry_patient_id} may be the same person "
                       f"({best.match_probability:.1%}): compare the items before creating a new patient; the "
                       "linkage would ask a reviewer about such a pair.")


principal, db = require_principal()
st.title("Find a patient")
if not allowed(principal, FIND_PATIENT):
    st.error("Finding a patient is for registry specialists only.")
    st.stop()
st.caption("Look a person up before creating a record. Any one item finds candidates (a typo in one is caught "
           "by another); each candidate is scored by the registry's linkage model. Every search is recorded.")
with st.form("find-patient"):
    left, middle, right = st.columns(3)
    last_name = left.text_input("Last name")
    first_name = middle.text_input("First name", help="Nicknames are recognised.")
    birth_date = right.text_input("Birth date", placeholder="YYYY-MM-DD", help="YYYY-MM-DD, or YYYY for the year")
    ssn = left.text_input("Social security number", placeholder="9 digits")
    mrn = middle.text_input("Medical record number")
    sex = right.selectbox("Sex", list(SEXES), format_func=SEXES.__getitem__)
    searched = st.form_submit_button("Search", type="primary")
if not searched:
    st.stop()
try:
    found = find_patient(principal, db, operational_store(), last_name=last_name, first_name=first_name,
                         date_of_birth=birth_date, ssn=ssn, mrn=mrn, sex=sex or None, limit=LIMIT)
except InvalidRequest as exc:
    st.error(str(exc))
    st.stop()
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
kind, text = advice(found)
getattr(st, kind)(text)
if not found:
    st.stop()
st.subheader(f"Candidates ({len(found)})")
show_table(candidate_table(found), labels={
    "registry_patient_id": "Registry patient", "match_probability": "Probability", "match_weight": "Match weight",
    "name": "Name", "date_of_birth": "Born", "sex": "Sex", "ssn_last4": "SSN", "reports": "Reports",
    "tumors": "Tumors", "facilities": "Reporting facilities"},
    formats={"registry_patient_id": "{:.0f}", "match_probability": "{:.1%}", "match_weight": "{:.2f}"})
st.caption(f"Best first, at most {LIMIT}. Name and birth date are those of the patient's best-matching report; "
           "the probability is the linkage model's, from the items given.")
if allowed(principal, RECORD_VIEW):
    st.markdown("Open a record: " + " · ".join(f"[registry patient {c.registry_patient_id}]"
                                                f"(record?patient={c.registry_patient_id})" for c in found))
