"""Patient record: a registry patient with all its tumors, every consolidated value with the report and rule (or
correction) behind it, every report as received side by side, treatment, follow-up, edit failures, linkage and
reviews, corrections and work items; and the form that corrects a value. Opened by `?patient=<id>` or
`?tumor=<id>` (so any page can link to it) or by typing an id; registrars only, every view audited."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.common import data_changed, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    IDENTITY_ITEMS,
    RECORD_VIEW,
    TUMOR_ITEMS,
    AccessDenied,
    ConsolidatedValue,
    PatientRecord,
    Principal,
    RegistryError,
    TumorRecord,
    apply_correction,
    correctable_items,
    patient_record,
    require_audited,
)

NOTICE_KEY = "record_notice"
KINDS = {"patient": "Registry patient", "tumor": "Registry tumor"}
DIFFERS = "≠"
WORKLIST = "worklist"   # the discrepancy worklist page's url_path
# Record numbers are shown whole, without thousands separators.
IDS = {name: "{:.0f}" for name in ("source_tumor_id", "source_patient_id", "registry_tumor_id", "batch_id",
                                   "linked_to", "record_id", "run_id", "review_id", "correction_id", "entity_id",
                                   "work_item_id", "model_version", "level", "superseded_by")}


def record_link(kind: str, entity_id: int) -> str:
    """A markdown link that opens a registry patient's or tumor's record."""
    return f"[registry {kind} {entity_id}](record?{kind}={entity_id})"


def work_item_link(work_item_id: int) -> str:
    """A markdown link to a work item on the worklist page."""
    return f"[work item {work_item_id}]({WORKLIST}?item={work_item_id})"


def requested() -> tuple[str, int] | None:
    """(kind, id) from the address (`?patient=` or `?tumor=`), or None; a malformed id is said and stops."""
    for kind in KINDS:
        text = str(st.query_params.get(kind, "")).strip()
        if text:
            if not text.isdigit():
                st.error(f"{text!r} is not a {KINDS[kind].lower()} id (a whole number).")
                st.stop()
            return kind, int(text)
    return None


def report_label(number: int, facility: str | None, file_name: str) -> str:
    """A report's column heading: its number, facility and file."""
    return f"#{number} {facility or 'no facility'} ({file_name.rsplit('/', 1)[-1]})"


def reports_table(record: PatientRecord) -> pd.DataFrame:
    """One row per report: where it came from and what it is linked to."""
    return pd.DataFrame({
        "report": [report_label(n, r.facility, r.file_name) for n, r in enumerate(record.reports, 1)],
        "source_tumor_id": [r.source_tumor_id for r in record.reports],
        "registry_tumor_id": [r.registry_tumor_id for r in record.reports],
        "batch_id": [r.batch_id for r in record.reports], "received_at": [r.received_at for r in record.reports],
        "natural_key": [r.natural_key for r in record.reports], "version": [r.version for r in record.reports],
        "superseded_by": [r.superseded_by for r in record.reports]})


def side_by_side(record: PatientRecord) -> pd.DataFrame:
    """Every item of every report as received, one column per report, with the differing items marked."""
    names = {name for r in record.reports for name in r.items}
    first = [n for n in (*IDENTITY_ITEMS, *TUMOR_ITEMS) if n in names]
    order = first + sorted(names - set(first))
    differing = record.differing_items()
    frame = pd.DataFrame({"item": order, "differs": [DIFFERS if n in differing else "" for n in order]})
    for number, report in enumerate(record.reports, 1):
        frame[report_label(number, report.facility, report.file_name)] = [report.items.get(n, "") for n in order]
    return frame


def values_table(record: PatientRecord, values: list[ConsolidatedValue], differing: set[str]) -> pd.DataFrame:
    """A registry entity's values: item, value, the report it came from, the rule or the correction."""
    numbers = {r.source_tumor_id: n for n, r in enumerate(record.reports, 1)}
    patients = {r.source_patient_id: n for n, r in reversed(list(enumerate(record.reports, 1)))}

    def source(value: ConsolidatedValue) -> str:
        if value.source_id is None:
            return f"correction {value.correction_id}" if value.correction_id else ""
        number = (numbers if value.level == 2 else patients).get(value.source_id)
        return f"report #{number}" if number else f"record {value.source_id}"

    return pd.DataFrame({
        "item": [v.naaccr_item or v.column for v in values], "value": [v.value or "" for v in values],
        "source": [source(v) for v in values], "rule": [v.rule for v in values],
        "differs": [DIFFERS if v.naaccr_item in differing else "" for v in values]})


def correction_form(principal: Principal, db: Path, level: str, entity_id: int) -> None:
    """Item, new value, reason and an optional work item: `correct` records it (audited)."""
    choices = sorted((name for name, item in correctable_items().items() if item.level == (2 if level == "tumor" else 1)),
                     key=lambda name: (correctable_items()[name].is_flag, name))
    with st.form(f"correct-{level}-{entity_id}"):
        st.markdown(f"**Correct a value of registry {level} {entity_id}**")
        left, middle = st.columns(2)
        item = left.selectbox("Item", choices, key=f"item-{level}-{entity_id}")
        value = middle.text_input("New value", key=f"value-{level}-{entity_id}",
                                  help="NAACCR code as text (dates YYYYMMDD); an override flag is 1, or blank to clear")
        reason = st.text_input("Reason (kept with the correction)", key=f"reason-{level}-{entity_id}")
        work = st.text_input("Work item (optional)", key=f"work-{level}-{entity_id}")
        submitted = st.form_submit_button("Correct", type="primary")
    if not submitted:
        return
    if work.strip() and not work.strip().isdigit():
        st.error(f"work item {work!r} is not a work item number")
        return
    try:
        done = apply_correction(principal, db, operational_store(), item=str(item), new_value=value, reason=reason,
                       work_item_id=int(work) if work.strip() else None,
                       tumor_id=entity_id if level == "tumor" else None,
                       patient_id=entity_id if level == "patient" else None)
    except RegistryError as exc:
        st.error(str(exc))
        return
    data_changed()
    st.session_state[NOTICE_KEY] = (f"Correction {done.correction_id}: {done.item} of {done.entity} is now "
                                    f"{done.new_value or 'blank'} (was {done.old_value or 'blank'}).")
    st.rerun()


def tumor_heading(tumor: TumorRecord) -> str:
    """"Registry tumor 7: C619, 8140/3, diagnosed 2016-05-20, sequence 00"."""
    v = tumor.values
    return (f"Registry tumor {tumor.tumor_id}: {v.get('primary_site') or 'site unknown'}, "
            f"{v.get('histology') or '----'}/{v.get('behavior') or '-'}, diagnosed {v.get('date_of_diagnosis') or 'unknown'}"
            f", sequence {v.get('sequence_number_central') or '--'}")


def show_tumor(principal: Principal, db: Path, record: PatientRecord, tumor: TumorRecord) -> None:
    """One tumor: its values, follow-up, treatment, edit failures, work items, links and the correction form."""
    differing = record.differing_items(tumor.tumor_id)
    table = values_table(record, tumor.provenance, differing)
    show_table(table, labels={"item": "Item", "value": "Registry value", "source": "From", "rule": "Rule",
                              "differs": "Reports differ"}, marked=table["differs"] == DIFFERS)
    st.caption(f"Items whose reports differ are marked {DIFFERS} and highlighted; a corrected value comes from its "
               "correction, not a report.")
    follow = tumor.follow_up
    st.markdown(f"**Follow-up:** cancer status {follow['cancer_status'] or 'unknown'} "
                f"(as of {follow['date_of_last_cancer_status'] or 'unknown'}); first recurrence "
                f"{follow['recurrence_type_1st'] or 'unknown'} {follow['recurrence_date_1st'] or ''}")
    st.markdown("**First-course treatment**")
    if tumor.treatment:
        show_table(pd.DataFrame(tumor.treatment), columns=["modality", "code", "code_item", "given", "start_date",
                                                           "source_tumor_id"], formats=IDS)
    else:
        st.caption("No treatment reported.")
    st.markdown("**Edit failures**")
    if tumor.edit_failures:
        show_table(pd.DataFrame(tumor.edit_failures), columns=["severity", "edit_id", "edit_set", "level",
                                                               "record_id", "item_values", "message"], formats=IDS)
    else:
        st.caption("No edit failures recorded for this tumor or its reports.")
    st.markdown("**Work items**")
    if tumor.work_items:
        st.markdown("  \n".join(f"{work_item_link(int(w['work_item_id']))}: {w['status']}, priority {w['priority']}"
                                for w in tumor.work_items))
    else:
        st.caption("No work items.")
    st.markdown("**Reports linked to this tumor**")
    show_table(pd.DataFrame(tumor.links), columns=["source_tumor_id", "method", "linked_to", "rule_set", "rule",
                                                   "decided_by", "decided_at"], formats=IDS)
    correction_form(principal, db, "tumor", tumor.tumor_id)


principal, db = require_principal()
st.title("Patient record")
ops = operational_store()
try:
    require_audited(principal, RECORD_VIEW, ops, page="record")
except AccessDenied:
    st.error("The patient record is for registry specialists only.")
    st.stop()
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.success(notice)
asked = requested()
with st.form("open-record"):
    left, right = st.columns([1, 2])
    kind = left.selectbox("Open", list(KINDS), format_func=KINDS.__getitem__,
                          index=list(KINDS).index(asked[0]) if asked else 0)
    typed = right.text_input("Id", value=str(asked[1]) if asked else "")
    opened = st.form_submit_button("Open")
if opened:
    if not typed.strip().isdigit():
        st.error(f"{typed!r} is not a {KINDS[kind].lower()} id (a whole number).")
        st.stop()
    st.query_params.clear()
    st.query_params[kind] = typed.strip()
    asked = (kind, int(typed.strip()))
if asked is None:
    st.info("Type a registry patient or tumor id, or open a record from Find a patient or Linkage review.")
    st.stop()
try:
    record = patient_record(principal, db, ops, patient_id=asked[1] if asked[0] == "patient" else None,
                            tumor_id=asked[1] if asked[0] == "tumor" else None)
except RegistryError as exc:
    st.error(str(exc))
    st.stop()

values = record.values
st.subheader(f"Registry patient {record.patient_id}")
st.markdown(f"Sex {values['sex'] or 'unknown'}, born {values['date_of_birth'] or 'unknown'}, race {values['race1'] or '--'}"
            f"; {values['reports']} patient report(s), {len(record.tumors)} tumor(s). Vital status "
            f"{record.follow_up['vital_status'] or 'unknown'}, last contact {record.follow_up['date_of_last_contact'] or 'unknown'}"
            f"{', cause of death ' + str(record.follow_up['cause_of_death']) if record.follow_up['cause_of_death'] else ''}.")
st.caption("Every view of a record is recorded in the audit trail.")
tumors_tab, patient_tab, reports_tab, linkage_tab, corrections_tab = st.tabs(
    ["Tumors", "Patient values", "Reports as received", "Linkage and reviews", "Corrections"])
with tumors_tab:
    for tumor in record.tumors:
        with st.expander(tumor_heading(tumor),
                         expanded=len(record.tumors) == 1 or asked == ("tumor", tumor.tumor_id)):
            show_tumor(principal, db, record, tumor)
with patient_tab:
    table = values_table(record, record.provenance, record.differing_items())
    show_table(table, labels={"item": "Item", "value": "Registry value", "source": "From", "rule": "Rule",
                              "differs": "Reports differ"}, marked=table["differs"] == DIFFERS)
    correction_form(principal, db, "patient", record.patient_id)
with reports_tab:
    show_table(reports_table(record), labels={"report": "Report", "source_tumor_id": "Source tumor",
                                              "registry_tumor_id": "Registry tumor", "batch_id": "Batch",
                                              "received_at": "Received", "natural_key": "Facility key",
                                              "version": "Version", "superseded_by": "Superseded by"},
               formats=IDS)
    frame = side_by_side(record)
    show_table(frame, marked=frame["differs"] == DIFFERS)
    st.caption(f"Every item of every report exactly as received; items that differ between reports are marked "
               f"{DIFFERS} and highlighted.")
with linkage_tab:
    st.markdown("**Patient reports and how they were linked**")
    show_table(pd.DataFrame(record.links), columns=["source_patient_id", "method", "linked_to", "match_weight",
                                                    "model_version", "decided_by", "decided_at"], formats=IDS)
    st.markdown("**Reviewers' questions and decisions about these reports**")
    if record.reviews:
        show_table(pd.DataFrame([vars(r) for r in record.reviews]),
                   columns=["review_id", "kind", "left_key", "right_key", "score", "status", "decision", "reason",
                            "decided_by", "decided_at"], formats=IDS)
    else:
        st.caption("No linkage review concerns this patient's reports.")
with corrections_tab:
    if record.corrections:
        show_table(pd.DataFrame([vars(c) for c in record.corrections]),
                   columns=["correction_id", "level", "entity_id", "item", "old_value", "new_value", "reason",
                            "work_item_id", "corrected_by", "corrected_at"], formats=IDS)
    else:
        st.caption("No corrections: every value comes from the reports.")
