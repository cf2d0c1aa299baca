"""Export requests: the limited-data-set and large cohort exports waiting for an administrator, approved under
a data use agreement (its reference required) or refused with a reason the requester reads; the decided
ones; and the export settings (the size above which an export needs approval, the smallest k)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.common import require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    APPROVE_EXPORT,
    SET_EXPORT_LIMIT,
    ExportRequest,
    RegistryError,
    allowed,
    approve_request,
    export_settings,
    list_requests,
    refuse_request,
    set_export_settings,
)

NOTICE_KEY = "requests_notice"
KIND_NAMES = {"safe_harbor": "Safe Harbor (large)", "limited_data_set": "Limited data set"}
LABELS = {"id": "Request", "requester": "Requester", "definition": "Definition", "variables": "Variables",
          "kind": "Kind", "format": "Format", "row_count": "Tumors", "created_at": "Asked", "status": "Status",
          "decided_by": "Decided by", "reason": "Reason", "dua_reference": "DUA reference"}
PENDING = ["id", "requester", "definition", "variables", "kind", "format", "row_count", "created_at"]
DECIDED = ["id", "requester", "definition", "kind", "row_count", "status", "decided_by", "reason", "dua_reference"]


def table(requests: list[ExportRequest]) -> pd.DataFrame:
    """One row per request, the definition by its name and the variables as one text."""
    return pd.DataFrame([{**vars(r), "definition": str(r.definition.get("name", "")) or "(unnamed)",
                          "variables": ", ".join(r.variables), "kind": KIND_NAMES.get(r.kind, r.kind)}
                         for r in requests], columns=list(LABELS))


def done(message: str) -> None:
    st.session_state[NOTICE_KEY] = message
    st.rerun()


principal, _ = require_principal()
st.title("Export requests")
if not allowed(principal, APPROVE_EXPORT):
    st.error("Export requests are decided by administrators.")
    st.stop()
ops = operational_store()
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.success(notice)
requests = list_requests(principal, ops)
pending = [r for r in requests if r.status == "pending"]
st.subheader("Waiting for a decision")
if not pending:
    st.info("No export request is waiting.")
else:
    show_table(table(pending), columns=PENDING, labels=LABELS, formats={"id": "{:.0f}"})
    by_id = {r.id: r for r in pending}
    chosen = st.selectbox("Request", list(by_id), key="request_chosen",
                          format_func=lambda i: f"{i}: {by_id[i].requester}, {by_id[i].definition.get('name', '')}")
    with st.expander("Definition of the request"):
        st.json(by_id[chosen].definition)
    left, right = st.columns(2)
    with left.form(f"approve-{chosen}"):
        dua = st.text_input("Data use agreement reference", key=f"dua-{chosen}")
        note = st.text_input("Note (optional)", key=f"note-{chosen}")
        if st.form_submit_button("Approve"):
            try:
                approve_request(principal, ops, int(chosen), dua_reference=dua, note=note or None)
            except RegistryError as exc:
                st.error(str(exc))
            else:
                done(f"Request {chosen} approved under {dua.strip()}.")
    with right.form(f"refuse-{chosen}"):
        reason = st.text_area("Reason (the requester reads it)", key=f"reason-{chosen}")
        if st.form_submit_button("Refuse"):
            try:
                refuse_request(principal, ops, int(chosen), reason=reason)
            except RegistryError as exc:
                st.error(str(exc))
            else:
                done(f"Request {chosen} refused.")
decided = [r for r in requests if r.status != "pending"]
if decided:
    st.subheader("Decided")
    show_table(table(decided), columns=DECIDED, labels=LABELS, formats={"id": "{:.0f}"})
if allowed(principal, SET_EXPORT_LIMIT):
    st.subheader("Export settings")
    settings = export_settings(ops)
    with st.form("export-settings"):
        left, right = st.columns(2)
        row_limit = left.number_input("Tumors an export may hold without approval", min_value=0, step=1000,
                                      value=settings.row_limit, key="setting_row_limit")
        k = right.number_input("Smallest k of k-anonymity (Safe Harbor exports)", min_value=2, step=1,
                               value=settings.k, key="setting_k")
        if st.form_submit_button("Save settings"):
            try:
                saved = set_export_settings(principal, ops, row_limit=int(row_limit), k=int(k))
            except RegistryError as exc:
                st.error(str(exc))
            else:
                done(f"Exports of more than {saved.row_limit:,} tumors need approval; k is at least {saved.k}.")
