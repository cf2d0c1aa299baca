"""Cohort builder: a cohort definition started from a trial template, a saved definition (mine, or one shared
by id: `?definition=ID`) or an uploaded JSON file, edited group by group, saved; its attrition in persons and
tumors as released to the user (table and funnel); its JSON; and the governed export of its records (ZIP
with data dictionary and manifest; a limited data set or a large export by an administrator's approval)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.charts import attrition_funnel
from dashboard.cohort_editor import current_definition, definition_editor, load_definition
from dashboard.common import download_file, page_cache, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    COHORT_COUNT,
    COHORT_EXPORT_DEIDENTIFIED,
    COHORT_EXPORT_LIMITED_DATA_SET,
    DEFAULT_THRESHOLD,
    LIMITED_DATA_SET,
    SAFE_HARBOR,
    SUPPRESSED,
    CohortDefinition,
    OperationalStore,
    Principal,
    RegistryError,
    Release,
    allowed,
    cohort_attrition,
    cohort_definitions,
    definition_by_id,
    export_definition,
    export_variables,
    own_requests,
    save_cohort,
    trial_templates,
)

EDITOR = "builder"
NOTICE_KEY = "builder_notice"
EXPORT_KEY = "builder_export"
UPLOADED_KEY = "builder_uploaded"
OPENED_KEY = "builder_opened"
DEFAULT_VARIABLES = ["primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3", "dateOfDiagnosis", "ageAtDiagnosis",
                     "sex"]
FORMATS = {"csv": "CSV", "parquet": "Parquet", "xlsx": "Excel"}
ATTRITION_LABELS = {"step": "Step", "label": "After", "persons": "Persons (registry patients)",
                    "tumors": "Tumors (registry tumors)"}
REQUEST_LABELS = {"id": "Request", "status": "Status", "kind": "Kind", "definition": "Definition",
                  "variables": "Variables", "format": "Format", "row_count": "Tumors", "created_at": "Asked",
                  "decided_by": "Decided by", "reason": "Reason", "dua_reference": "DUA reference"}


@page_cache("Counting the attrition...")
def attrition_of(principal: Principal, db: Path, definition_json: str) -> Release:
    """The definition's attrition as released to the user (cached per principal, store and vintage)."""
    return cohort_attrition(principal, db, CohortDefinition.from_json(definition_json))


def done(message: str) -> None:
    st.session_state[NOTICE_KEY] = message
    st.rerun()


def open_shared(principal: Principal, ops: OperationalStore, definition_id: int) -> None:
    """Load a saved definition by id (another user's is audited by the registry)."""
    try:
        saved, definition = definition_by_id(principal, ops, definition_id)
    except RegistryError as exc:
        st.error(str(exc))
        return
    load_definition(EDITOR, definition.to_dict())
    st.session_state[OPENED_KEY] = definition_id
    st.session_state[NOTICE_KEY] = f"Opened definition {saved.definition_id} \"{saved.name}\" of {saved.owner}."


def start_from(principal: Principal, ops: OperationalStore) -> None:
    """Choose what to start from: a template, one of my saved definitions, a shared id, or a JSON file."""
    wanted = st.query_params.get("definition", "")
    if wanted.isdigit() and st.session_state.get(OPENED_KEY) != int(wanted):
        open_shared(principal, ops, int(wanted))
    if current_definition(EDITOR) is None:     # a first visit starts from the first template
        load_definition(EDITOR, trial_templates()[0].definition)
    with st.expander("Start from a template, a saved definition or a file"):
        templates = {f"template:{t.template_id}": (f"Template: {t.title}", t.definition) for t in trial_templates()}
        mine = {f"saved:{s.definition_id}": (f"Saved: {s.name} (id {s.definition_id})", s.body)
                for s in cohort_definitions(principal, ops)}
        choices = {**templates, **mine}
        left, right = st.columns([4, 1])
        chosen = left.selectbox("Template or saved definition", list(choices), key="builder_start",
                                format_func=lambda c: choices[c][0])
        if right.button("Load", key="builder_load"):
            load_definition(EDITOR, choices[chosen][1])
            label = choices[chosen][0]
            done(f"Loaded {label[0].lower()}{label[1:]}.")
        left, right = st.columns([4, 1])
        shared = left.number_input("Definition shared by id", min_value=1, step=1, value=None, key="builder_shared")
        if right.button("Open", key="builder_open") and shared:
            open_shared(principal, ops, int(shared))
            st.query_params["definition"] = str(int(shared))
            st.rerun()
        uploaded = st.file_uploader("Upload a definition (.json)", type=["json"], key="builder_upload")
        if uploaded is not None and st.session_state.get(UPLOADED_KEY) != uploaded.file_id:
            st.session_state[UPLOADED_KEY] = uploaded.file_id
            try:
                definition = CohortDefinition.from_json(uploaded.getvalue())
            except RegistryError as exc:
                st.error(f"{uploaded.name}: {exc}")
            else:
                load_definition(EDITOR, definition.to_dict())
                done(f"Loaded {uploaded.name}.")


def show_attrition(principal: Principal, db: Path, definition: CohortDefinition) -> None:
    """The attrition table and funnel: persons and tumors after each group, withheld steps as words."""
    st.subheader("Attrition")
    try:
        released = attrition_of(principal, db, definition.to_json())
    except RegistryError as exc:
        st.error(str(exc))
        return
    steps = released.table
    if SUPPRESSED not in steps.columns:
        steps = steps.assign(**{SUPPRESSED: False})
    show_table(steps, columns=["step", "label", "persons", "tumors"], labels=ATTRITION_LABELS,
               formats={"step": "{:.0f}"})
    if steps[SUPPRESSED].astype(bool).any():
        st.caption(f"A step is withheld when its count is 1-{DEFAULT_THRESHOLD - 1}, when it differs from the last "
                   f"shown step by 1-{DEFAULT_THRESHOLD - 1}, or when it would give away a count you saw before.")
    st.plotly_chart(attrition_funnel(steps), width="stretch", key="builder_funnel")
    st.caption("Each step counts what is left after the groups above it: persons are registry patients, tumors "
               "registry tumors (a person can have more than one).")


def export_section(principal: Principal, db: Path, ops: OperationalStore, definition: CohortDefinition) -> None:
    """Variables, format and kind; export (or the request it becomes); the ZIP to download; my requests."""
    st.subheader("Export the cohort's records")
    catalogue = export_variables()
    variables = st.multiselect("Variables (NAACCR items)", list(catalogue), default=DEFAULT_VARIABLES,
                               key="builder_variables", format_func=lambda n: f"{catalogue[n].name} ({n})")
    left, right = st.columns(2)
    file_format = left.selectbox("Format", list(FORMATS), format_func=FORMATS.__getitem__, key="builder_format")
    kinds = {SAFE_HARBOR: "De-identified (HIPAA Safe Harbor)"}
    if allowed(principal, COHORT_EXPORT_LIMITED_DATA_SET):
        kinds[LIMITED_DATA_SET] = "Limited data set (an administrator approves it under a data use agreement)"
    kind = right.radio("De-identification", list(kinds), format_func=kinds.__getitem__, key="builder_kind")
    if st.button("Export", key="builder_export_button"):
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "cohort.zip"
            try:
                with st.spinner("Exporting..."):
                    result = export_definition(principal, db, ops, definition, variables=variables,
                                               file_format=str(file_format), destination=target, kind=str(kind))
            except RegistryError as exc:
                st.error(str(exc))
                result = None
            if result is not None and result.status == "pending" and result.request is not None:
                st.session_state.pop(EXPORT_KEY, None)
                st.info(f"Export request {result.request.id} is waiting for an administrator's decision. Once "
                        "approved, press Export again with the same definition and variables.")
            elif result is not None and result.path is not None:
                st.session_state[EXPORT_KEY] = (definition.to_json(), result.path.read_bytes(), result.rows)
    prepared = st.session_state.get(EXPORT_KEY)
    if prepared and prepared[0] == definition.to_json():
        st.success(f"Exported {prepared[2]:,} rows with their data dictionary and manifest.")
        name = "".join(c if c.isalnum() else "-" for c in definition.name.lower()).strip("-") or "cohort"
        download_file("Download the cohort (ZIP)", prepared[1], file_name=f"{name}.zip", mime="application/zip",
                      key="builder_download", document="cohort-export", rows=prepared[2])
    requests = own_requests(principal, ops)
    if requests:
        st.caption("Your export requests")
        table = pd.DataFrame([{**vars(r), "definition": str(r.definition.get("name", "")),
                               "variables": ", ".join(r.variables)} for r in requests])
        show_table(table, columns=list(REQUEST_LABELS), labels=REQUEST_LABELS, formats={"id": "{:.0f}"})


principal, db = require_principal()
st.title("Cohort builder")
if not allowed(principal, COHORT_COUNT):
    st.error("Your role may not count cohorts.")
    st.stop()
ops = operational_store()
start_from(principal, ops)
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.success(notice)
st.caption("Criteria inside a group are OR-ed, groups are AND-ed; an excluding group removes what it selects.")
edited = definition_editor(EDITOR)
try:
    definition = CohortDefinition.from_json(edited)
except RegistryError as exc:
    st.error(str(exc))
    st.stop()
if st.button("Save definition", key="builder_save"):
    try:
        saved = save_cohort(principal, ops, definition)
    except RegistryError as exc:
        st.error(str(exc))
    else:
        done(f"Saved as definition {saved.definition_id}: others open it with `?definition={saved.definition_id}`.")
show_attrition(principal, db, definition)
with st.expander("Definition JSON"):
    st.code(definition.to_json(), language="json")
    download_file("Download the definition (.json)", definition.to_json(), key="builder_json",
                  file_name="cohort-definition.json", mime="application/json", document="cohort-definition",
                  rows=None)
if allowed(principal, COHORT_EXPORT_DEIDENTIFIED):
    export_section(principal, db, ops, definition)
