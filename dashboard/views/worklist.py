"""Discrepancy worklist: the registry tumors with failing edits or open linkage questions, each followed with
its reporting facility (query, answer, resolve or close as valid), with the facility's query letter and
edit report to download. A work item opens from the list or from the address (`?item=<id>`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.common import csv_rows, data_changed, download_file, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    UNFINISHED,
    WORK_ITEM_STATUSES,
    WORK_ITEM_TRANSITIONS,
    WORKLIST,
    OperationalStore,
    Principal,
    RegistryError,
    WorkItem,
    WorkItemView,
    allowed,
    answer_item,
    apply_correction,
    assign_item,
    close_valid,
    correctable_items,
    edit_definitions,
    edit_report,
    list_items,
    query_item,
    query_letter,
    reopen_item,
    resolve_item,
    set_due_date,
    work_item,
    worklist_counts,
)

NOTICE_KEY = "worklist_notice"
DOCUMENT_KEY = "worklist_document"
ALL = "all"
LIST_LIMIT = 500
RECORD_PAGE = "record"          # the record view's url_path; it opens a registry tumor with ?tumor=<id>
ITEM_LABELS = {"work_item_id": "Work item", "registry_tumor_id": "Registry tumor", "status": "Status",
               "priority": "Priority", "facility": "Facility", "assignee": "Assignee", "due_date": "Due",
               "issues": "Edits and questions"}
ISSUE_LABELS = {"what": "Edit or question", "severity": "Severity", "items": "Items", "values": "Values",
                "message": "Message", "report": "Report", "facility": "Facility"}
EVENT_LABELS = {"at": "When", "from_status": "From", "to_status": "To", "actor": "By", "note": "Note"}


def issue_summary(item: WorkItem) -> str:
    """"N0441, N2001, review 3": the item's edits and questions."""
    return ", ".join(dict.fromkeys(str(i["edit_id"]) if i["kind"] == "edit" else f"review {i['review_id']}"
                                   for i in item.issues))


def items_table(items: list[WorkItem]) -> pd.DataFrame:
    """One row per work item."""
    return pd.DataFrame([{"work_item_id": i.work_item_id, "registry_tumor_id": i.registry_tumor_id,
                          "status": i.status, "priority": i.priority, "facility": i.facility or "",
                          "assignee": i.assignee or "", "due_date": i.due_date or "", "issues": issue_summary(i)}
                         for i in items], columns=list(ITEM_LABELS))


def issues_table(item: WorkItem) -> pd.DataFrame:
    """One row per failing edit or open question, with the items and values in question."""
    rows = []
    for i in item.issues:
        what = (f"{i['edit_id']} ({i['edit_set']})" if i["kind"] == "edit"
                else f"{i['question']} question, review {i['review_id']}")
        rows.append({"what": what, "severity": i.get("severity", ""), "items": ", ".join(i.get("items", [])),
                     "values": i.get("values", ""), "message": i.get("message", ""), "report": i.get("report") or "",
                     "facility": i.get("facility") or ""})
    return pd.DataFrame(rows, columns=list(ISSUE_LABELS))


def counts_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Items by status (rows, in workflow order) and priority (columns)."""
    table = counts.pivot_table(index="status", columns="priority", values="items", aggfunc="sum", fill_value=0)
    table = table.reindex([s for s in WORK_ITEM_STATUSES if s in table.index])
    table.columns = [f"Priority {p}" for p in table.columns]
    return table.reset_index()


def done(message: str) -> None:
    st.session_state[NOTICE_KEY] = message
    st.rerun()


def act(action: Any, *args: Any) -> None:
    """Run a transition; a RegistryError is shown, success reruns the page with a notice."""
    try:
        changed: WorkItem = action(*args)
    except RegistryError as exc:
        st.error(str(exc))
        return
    done(f"Work item {changed.work_item_id} is now **{changed.status}**.")


def text_form(key: str, label: str, button: str, action: Any, principal: Principal, ops: OperationalStore,
              item_id: int) -> None:
    with st.form(f"{key}-{item_id}"):
        text = st.text_area(label, key=f"{key}-text-{item_id}")
        if st.form_submit_button(button):
            act(action, principal, ops, item_id, text)


def override_choices(item: WorkItem) -> list[str]:
    """The override flags a registrar may set, those that clear the item's failing edits first."""
    clearing = {d.id: d.override for d in edit_definitions() if d.override}
    first = list(dict.fromkeys(clearing[i["edit_id"]] for i in item.issues
                               if i["kind"] == "edit" and i["edit_id"] in clearing))
    return first + sorted(n for n, c in correctable_items().items() if c.is_flag and c.level == 2 and n not in first)


def transition_forms(principal: Principal, db: Any, ops: OperationalStore, item: WorkItem) -> None:
    """A form for each transition the item's status allows, then assignment and due date."""
    i = item.work_item_id
    legal = {name for name, (starts, _) in WORK_ITEM_TRANSITIONS.items() if item.status in starts}
    if "query" in legal:
        text_form("query", "Question to the facility", "Send query", query_item, principal, ops, i)
    if "answer" in legal:
        text_form("answer", "The facility's answer", "Record answer", answer_item, principal, ops, i)
    if "resolve" in legal:
        text_form("resolve", "Resolution note", "Resolve", resolve_item, principal, ops, i)
    if "close-valid" in legal:
        flags = override_choices(item)
        with st.form(f"close-valid-{i}"):
            flag = st.selectbox("Override flag that clears the edit", flags, key=f"close-flag-{i}")
            reason = st.text_area("Why the values are valid", key=f"close-reason-{i}")
            if st.form_submit_button("Close as valid"):
                act(close_valid, principal, db, ops, i, flag, reason)
    if "reopen" in legal:
        text_form("reopen", "Why it is taken up again", "Reopen", reopen_item, principal, ops, i)
    if item.status not in UNFINISHED:
        return
    left, right = st.columns(2)
    with left.form(f"assign-{i}"):
        assignee = st.text_input("Assign to (registrar's user name)", value=item.assignee or "", key=f"assignee-{i}")
        if st.form_submit_button("Assign"):
            act(assign_item, principal, ops, i, assignee)
    with right.form(f"due-{i}"):
        due = st.date_input("Due date", value=pd.Timestamp(item.due_date).date() if item.due_date else None,
                            key=f"due-{i}")
        if st.form_submit_button("Set due date"):
            act(set_due_date, principal, ops, i, due)


def correction_form(principal: Principal, db: Any, ops: OperationalStore, item: WorkItem) -> None:
    """Correct a registry value of the tumor (audited, with its reason), answering this item."""
    correctable = correctable_items()
    in_question = [n for i in item.issues for n in i.get("items", []) if n in correctable]
    choices = list(dict.fromkeys(in_question)) + sorted(n for n, c in correctable.items()
                                                        if c.level == 2 and not c.is_flag and n not in in_question)
    with st.form(f"correct-{item.work_item_id}"):
        name = st.selectbox("Item", choices, key=f"correct-item-{item.work_item_id}")
        value = st.text_input("New value (NAACCR code)", key=f"correct-value-{item.work_item_id}")
        reason = st.text_area("Reason (kept with the correction)", key=f"correct-reason-{item.work_item_id}")
        if not st.form_submit_button("Correct"):
            return
    try:
        corrected = apply_correction(principal, db, ops, tumor_id=item.registry_tumor_id, item=name, new_value=value,
                            reason=reason, work_item_id=item.work_item_id)
    except RegistryError as exc:
        st.error(str(exc))
        return
    data_changed()
    done(f"Registry tumor {item.registry_tumor_id}: {corrected.item} corrected from {corrected.old_value or '-'} "
         f"to {corrected.new_value or '-'}. The edits ran again: the item lists what still fails; resolve it when the record is right.")


def documents(principal: Principal, db: Any, ops: OperationalStore, facility: str) -> None:
    """The facility's query letter and edit report: prepared on request (each one audited), then downloaded."""
    st.subheader(f"Documents for facility {facility}")
    kinds = {"letter": "Query letter", "report": "Edit report"}
    left, middle, right = st.columns(3)
    kind = left.selectbox("Document", list(kinds), format_func=kinds.__getitem__, key="document_kind")
    form = middle.selectbox("Format", ["pdf", "csv"], format_func=str.upper, key="document_format")
    if right.button("Prepare", key="prepare_document"):
        try:
            with st.spinner(f"Preparing the {kinds[kind].lower()}..."):   # a large facility's PDF takes seconds
                data = (query_letter(principal, ops, facility, format=form) if kind == "letter"
                        else edit_report(principal, db, ops, facility=facility, format=form))
        except RegistryError as exc:
            st.error(str(exc))
            return
        st.session_state[DOCUMENT_KEY] = (kind, facility, form, data)
    prepared = st.session_state.get(DOCUMENT_KEY)
    if prepared and prepared[1] == facility:
        kind, _, form, data = prepared
        name = f"{'query-letter' if kind == 'letter' else 'edit-report'}-{facility}.{form}"
        download_file(f"Download {kinds[kind].lower()} ({form.upper()})", data, file_name=name,
                      mime="application/pdf" if form == "pdf" else "text/csv", key="download_document",
                      document="query-letter" if kind == "letter" else "edit-report",
                      rows=csv_rows(data) if form == "csv" else None)


def show_item(principal: Principal, db: Any, ops: OperationalStore, view: WorkItemView) -> None:
    item = view.item
    st.subheader(f"Work item {item.work_item_id}: registry tumor {item.registry_tumor_id}")
    st.markdown(f"**{item.status}**, priority {item.priority}, facility {item.facility or '-'}, "
                f"assigned to {item.assignee or 'nobody'}, due {item.due_date or '-'}. "
                f"[Open the record of registry tumor {item.registry_tumor_id}]"
                f"({RECORD_PAGE}?tumor={item.registry_tumor_id})")
    if item.query_text:
        st.markdown(f"**Query:** {item.query_text}")
    if item.answer_text:
        st.markdown(f"**Answer:** {item.answer_text}")
    if item.override_flag:
        st.markdown(f"**Closed as valid with** `{item.override_flag}`")
    show_table(issues_table(item), labels=ISSUE_LABELS)
    st.caption("History")
    show_table(pd.DataFrame([vars(e) for e in view.events], columns=list(EVENT_LABELS)), labels=EVENT_LABELS)
    transition_forms(principal, db, ops, item)
    if item.status in UNFINISHED:
        correction_form(principal, db, ops, item)
    if item.facility:
        documents(principal, db, ops, item.facility)


def choice(label: str, options: list[Any], key: str) -> Any:
    picked = st.selectbox(label, [ALL, *options], key=key, format_func=lambda o: "All" if o == ALL else str(o))
    return None if picked == ALL else picked


principal, db = require_principal()
st.title("Discrepancy worklist")
if not allowed(principal, WORKLIST):
    st.error("The worklist is for registry specialists only.")
    st.stop()
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.success(notice)
ops = operational_store()
counts = worklist_counts(principal, ops)
if counts.empty:
    st.info("No work items: no error-level edit failure and no open linkage question. Items appear after "
            "`registry worklist sync` (run after each ingest and edits run).")
    st.stop()
show_table(counts_table(counts), labels={"status": "Status"})
columns = st.columns(5)
with columns[0]:
    status = choice("Status", list(WORK_ITEM_STATUSES), "filter_status")
with columns[1]:
    priority = choice("Priority", [1, 2], "filter_priority")
with columns[2]:
    facility = choice("Facility", sorted({f for f in counts["facility"] if isinstance(f, str)}), "filter_facility")
assignee = columns[3].text_input("Assignee", key="filter_assignee").strip() or None
edit_id = columns[4].text_input("Edit id", key="filter_edit").strip() or None
try:
    items = list_items(principal, ops, status=status, priority=priority, facility=facility, assignee=assignee,
                       edit_id=edit_id, limit=LIST_LIMIT)
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
if items:
    show_table(items_table(items), labels=ITEM_LABELS, formats={"work_item_id": "{:.0f}", "registry_tumor_id": "{:.0f}"})
else:
    st.info("No work items match these filters.")

wanted = st.query_params.get("item", "")
ids = [i.work_item_id for i in items]
if wanted.isdigit():            # an item named in the address opens even when the filters leave it out
    if int(wanted) not in ids:
        ids.insert(0, int(wanted))
    if "work_item" not in st.session_state:
        st.session_state["work_item"] = int(wanted)
if not ids:
    st.stop()
if st.session_state.get("work_item") not in ids:
    st.session_state["work_item"] = ids[0]
chosen = st.selectbox("Work item", ids, key="work_item")
st.query_params["item"] = str(chosen)
try:
    view = work_item(principal, ops, int(chosen))
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
show_item(principal, db, ops, view)
