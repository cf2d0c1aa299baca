"""Trial candidates: a trial template (what kind of trial it mirrors, and what registry data cannot say) edited in
the cohort editor; how many candidates it finds, overall, by county and by reporting facility, as released to
the user. Registrars, as the registry's honest broker, also see who the candidates are, with the reporting
facility and the managing physician to contact, and download the list (both audited)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.cohort_editor import definition_editor, load_definition
from dashboard.common import count_text, csv_rows, download_file, page_cache, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    COHORT_COUNT,
    DEFAULT_THRESHOLD,
    SUPPRESSED,
    TRIAL_CANDIDATE_IDENTITIES,
    CohortDefinition,
    OperationalStore,
    Principal,
    RegistryError,
    Release,
    allowed,
    candidate_list,
    candidate_list_csv,
    cohort_count,
    cohort_counts_by,
    counties,
    trial_templates,
)

EDITOR = "trial"
TEMPLATE_KEY = "trial_loaded_template"
LIST_KEY = "trial_candidates"
CSV_KEY = "trial_candidates_csv"
BY_LABELS = {"county_fips": "County FIPS", "county": "County", "reporting_facility": "Reporting facility",
             "persons": "Persons", "tumors": "Tumors"}
CANDIDATE_LABELS = {"patient_id": "Registry patient", "tumor_id": "Registry tumor", "name_last": "Last name",
                    "name_first": "First name", "date_of_birth": "Born", "sex": "Sex",
                    "date_of_diagnosis": "Diagnosed", "primary_site": "Site", "histology": "Histology",
                    "behavior": "Behavior", "stage_group": "Stage group", "summary_stage": "Summary stage",
                    "reporting_facility": "Reporting facility", "npi_physician_managing": "Managing physician (NPI)",
                    "vital_status": "Vital status"}


@page_cache("Counting the candidates...")
def count_of(principal: Principal, db: Path, definition_json: str) -> Release:
    """The candidates' count as released to the user."""
    return cohort_count(principal, db, CohortDefinition.from_json(definition_json))


@page_cache("Counting the candidates...")
def counts_by(principal: Principal, db: Path, definition_json: str, by: str) -> Release:
    """The candidates by county or reporting facility as released to the user."""
    return cohort_counts_by(principal, db, CohortDefinition.from_json(definition_json), by=by)


def choose_template() -> None:
    """The template picker: a new choice replaces the editor's definition with the template's."""
    templates = {t.template_id: t for t in trial_templates()}
    chosen = str(st.selectbox("Template", list(templates), format_func=lambda i: templates[i].title,
                              key="trial_template"))
    template = templates[chosen]
    if st.session_state.get(TEMPLATE_KEY) != chosen:
        st.session_state[TEMPLATE_KEY] = chosen
        load_definition(EDITOR, template.definition)
    st.markdown(f"**Mirrors:** {template.mirrors}")
    st.caption(f"**Notes:** {template.notes} A template finds candidates for a closer look, not eligible patients.")


def show_counts(principal: Principal, db: Path, definition: CohortDefinition) -> None:
    """Overall, by county and by reporting facility."""
    try:
        overall = count_of(principal, db, definition.to_json())
        county = counts_by(principal, db, definition.to_json(), "county_fips")
        facility = counts_by(principal, db, definition.to_json(), "reporting_facility")
    except RegistryError as exc:
        st.error(str(exc))
        return
    left, right = st.columns(2)
    left.metric("Candidate persons", count_text(overall.counts.get("persons")))
    right.metric("Candidate tumors", count_text(overall.counts.get("tumors")))
    names = counties().set_index("fips")["county_name"]
    by_county = county.table.copy()
    by_county.insert(1, "county", by_county["county_fips"].map(names))
    left, right = st.columns(2)
    with left:
        st.caption("By county at diagnosis")
        show_table(by_county, columns=["county_fips", "county", "persons", "tumors"], labels=BY_LABELS)
    with right:
        st.caption("By reporting facility")
        show_table(facility.table, columns=["reporting_facility", "persons", "tumors"], labels=BY_LABELS)
    if any(SUPPRESSED in r.table.columns and r.table[SUPPRESSED].astype(bool).any() for r in (overall, county, facility)):
        st.caption(f"Counts of 1-{DEFAULT_THRESHOLD - 1}, and counts that would give one away, are withheld.")


def identified(principal: Principal, db: Path, ops: OperationalStore, definition: CohortDefinition) -> None:
    """The honest broker's list: shown and downloaded on request, each time audited."""
    st.subheader("Identified candidates (honest broker)")
    st.caption("Who the candidates are, to contact through their reporting facility and managing physician. "
               "Every list shown and every download is recorded in the audit trail with the definition.")
    key = definition.to_json()
    left, right = st.columns(2)
    if left.button("Show the identified candidates", key="trial_show"):
        try:
            st.session_state[LIST_KEY] = (key, candidate_list(principal, db, ops, definition))
        except RegistryError as exc:
            st.error(str(exc))
    if right.button("Prepare the list as CSV", key="trial_prepare_csv"):
        try:
            st.session_state[CSV_KEY] = (key, candidate_list_csv(principal, db, ops, definition))
        except RegistryError as exc:
            st.error(str(exc))
    shown = st.session_state.get(LIST_KEY)
    if shown and shown[0] == key:
        frame: pd.DataFrame = shown[1]
        st.markdown(f"**{len(frame):,}** candidate tumors of **{frame['patient_id'].nunique():,}** persons.")
        dates = {c: pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d") for c in ("date_of_birth", "date_of_diagnosis")}
        show_table(frame.assign(**dates), labels=CANDIDATE_LABELS, formats={"patient_id": "{:.0f}", "tumor_id": "{:.0f}"})
    prepared = st.session_state.get(CSV_KEY)
    if prepared and prepared[0] == key:
        download_file("Download the candidates (CSV)", prepared[1], file_name="trial-candidates.csv",
                      mime="text/csv", key="trial_download", document="trial-candidates", rows=csv_rows(prepared[1]))


principal, db = require_principal()
st.title("Trial candidates")
if not allowed(principal, COHORT_COUNT):
    st.error("Your role may not count cohorts.")
    st.stop()
choose_template()
edited = definition_editor(EDITOR)
try:
    definition = CohortDefinition.from_json(edited)
except RegistryError as exc:
    st.error(str(exc))
    st.stop()
st.subheader("Candidates")
show_counts(principal, db, definition)
if allowed(principal, TRIAL_CANDIDATE_IDENTITIES):
    identified(principal, db, operational_store(), definition)
else:
    st.caption("The identified list is for the registry's honest broker (registrars); ask the registry to contact "
               "the candidates' facilities.")
