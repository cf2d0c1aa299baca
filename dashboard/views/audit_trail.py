"""Audit trail (administrators): search the trail by user, action, record and time; verify its chain (intact with
the head to keep as an anchor, or every problem); export a search as CSV, itself recorded in the trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict

import streamlit as st

from dashboard.common import download_file, require_principal
from dashboard.session import operational_store
from dashboard.tables import show_table
from registry.api import (
    RECORD_KINDS,
    VIEW_AUDIT_TRAIL,
    RecordRef,
    RegistryError,
    allowed,
    audit_trail,
    audit_trail_actions,
    audit_trail_csv,
    trail_table,
    verify_audit_trail,
)

SHOWN = 1_000          # the newest events of a search shown (and exported)
CSV_KEY = "trail_csv"  # the prepared CSV: (the search it was made for, its bytes, its rows)
LABELS = {"seq": "Seq", "time": "Time (UTC)", "user": "User", "role": "Role", "action": "Action",
          "detail": "Detail"}
RECORD_NAMES = {"": "Any record", "patient": "Registry patient", "tumor": "Registry tumor",
                "work-item": "Work item", "review": "Link review"}


class Search(TypedDict):
    """The filters as keyword arguments of `audit_trail` and `audit_trail_csv`."""

    user: str | None
    action: str | None
    record: RecordRef | None
    since: datetime | None
    until: datetime | None


def moment(day: date | None, clock: time | None, *, end: bool) -> datetime | None:
    """A filter's bound in UTC: the start of the chosen minute (`end`: the end of it; a day alone is its start,
    or with `end` the whole day)."""
    if day is None:
        return None
    start = datetime.combine(day, clock or (time(23, 59) if end else time(0, 0)), tzinfo=UTC)
    return start + timedelta(minutes=1) if end else start


def search_controls(actions: list[str]) -> Search | None:
    """The filters, as keyword arguments of `audit_trail`; None (and an error shown) when they contradict."""
    left, middle, right = st.columns(3)
    user = left.text_input("User", key="trail_user", help="The user name, as signed in (any case); "
                           "console:<name> for the command line.").strip()
    action = middle.selectbox("Action", ["", *actions], format_func=lambda a: a or "Any action", key="trail_action")
    kind = right.selectbox("Record", ["", *RECORD_KINDS], format_func=RECORD_NAMES.__getitem__,
                           key="trail_record_kind")
    number = right.number_input("Record id", min_value=0, step=1, value=None, key="trail_record_id",
                                disabled=not kind, help="Events naming exactly this id (12 never matches 123).")
    first, first_time, last, last_time = st.columns(4)
    since = moment(first.date_input("From (UTC)", value=None, key="trail_from"),
                   first_time.time_input("at", value=None, key="trail_from_time"), end=False)
    until = moment(last.date_input("To (UTC)", value=None, key="trail_to"),
                   last_time.time_input("at", value=None, key="trail_to_time"), end=True)
    if since is not None and until is not None and since >= until:
        st.error("The search starts after it ends: choose a From before the To.")
        return None
    record = RecordRef(str(kind), int(number)) if kind and number is not None else None
    return Search(user=user or None, action=action or None, record=record, since=since, until=until)


def verify_section() -> None:
    """Verify the whole chain on request: intact with its head, or every problem with its sequence number."""
    if not st.button("Verify the chain", key="trail_verify"):
        return
    result = verify_audit_trail(principal, ops)
    if result.ok:
        keyed = f", keyed from seq {result.keyed_from}" if result.keyed_from is not None else ""
        st.success(f"The audit trail is intact: {result.events:,} events{keyed}. Head (keep it elsewhere as an "
                   f"anchor): `{result.head_seq}:{result.head_hash}`")
        return
    count = len(result.problems)
    st.error(f"The audit trail has been tampered with: {count} problem{'s' if count > 1 else ''}.")
    st.markdown("\n".join(f"- {'seq ' + str(p.seq) + ': ' if p.seq is not None else ''}{p.reason}"
                          for p in result.problems))


def export_section(search: Search, shown: int) -> None:
    """Prepare the search as CSV (recorded as an export), then download it (recorded as a download)."""
    key = repr(sorted(search.items()))
    if st.button("Prepare the search as CSV", key="trail_prepare_csv", disabled=not shown):
        try:
            data = audit_trail_csv(principal, ops, limit=SHOWN, **search)
        except RegistryError as exc:
            st.error(str(exc))
        else:
            st.session_state[CSV_KEY] = (key, data, shown)
    prepared = st.session_state.get(CSV_KEY)
    if prepared and prepared[0] == key:
        download_file("Download the search (CSV)", prepared[1], file_name="audit-trail.csv", mime="text/csv",
                      document="audit-trail", rows=prepared[2], key="trail_download")


principal, _ = require_principal()
st.title("Audit trail")
if not allowed(principal, VIEW_AUDIT_TRAIL):
    st.error("The audit trail is for administrators.")
    st.stop()
ops = operational_store()
st.caption("Every sign-in, record view, search, correction, export and download, newest first. Times are UTC.")
search = search_controls(audit_trail_actions(principal, ops))
if search is not None:
    found = audit_trail(principal, ops, limit=SHOWN, **search)
    if not found:
        st.info("No event matches this search.")
    else:
        more = " (the newest; narrow the search to see older ones)" if len(found) == SHOWN else ""
        st.markdown(f"**{len(found):,}** events{more}.")
        table = trail_table(found)
        table.insert(1, "time", table.pop("occurred_at").str.slice(0, 19).str.replace("T", " "))
        show_table(table, labels=LABELS, formats={"seq": "{:.0f}"})
    export_section(search, len(found))
verify_section()
