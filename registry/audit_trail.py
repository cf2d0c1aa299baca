"""The audit trail for administrators: search it, verify its chain and export a search as CSV.

`registry.audit` keeps the trail and its SQL; this module is the door for people (the dashboard's "Audit trail"
page): each function takes the caller's `Principal` first and requires `view-audit-trail`. Searching and
verifying are reads and leave the trail as it is; an export of a search is itself recorded (`export`,
document `audit-trail`), so who took a copy of the trail, and of which part, is in the trail too.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pandas as pd

from registry.access import VIEW_AUDIT_TRAIL, require
from registry.audit import EXPORT, AuditEvent, VerifyResult, canonical_detail, record_event, verify_chain
from registry.audit_search import SEARCH_LIMIT, RecordRef, event_actions, search_events
from registry.operational import OperationalStore
from registry.principal import Principal

TRAIL_COLUMNS = ["seq", "occurred_at", "user", "role", "action", "detail"]
AUDIT_TRAIL_DOCUMENT = "audit-trail"


def audit_trail(principal: Principal, ops: OperationalStore, *, user: str | None = None, action: str | None = None,
                record: RecordRef | None = None, since: datetime | str | None = None,
                until: datetime | str | None = None, limit: int | None = SEARCH_LIMIT) -> list[AuditEvent]:
    """The events an administrator searched for, newest first (`audit_search.search_events`; `until` exclusive)."""
    require(principal, VIEW_AUDIT_TRAIL)
    return search_events(ops, user=user, action=action, record=record, since=since, until=until, limit=limit)


def audit_trail_actions(principal: Principal, ops: OperationalStore) -> list[str]:
    """The actions present in the trail (the choices of the action filter)."""
    require(principal, VIEW_AUDIT_TRAIL)
    return event_actions(ops)


def verify_audit_trail(principal: Principal, ops: OperationalStore, *,
                       anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Verify the whole chain (`audit.verify_chain`): intact with its head, or every problem found."""
    require(principal, VIEW_AUDIT_TRAIL)
    return verify_chain(ops, anchor=anchor)


def audit_trail_csv(principal: Principal, ops: OperationalStore, *, user: str | None = None,
                    action: str | None = None, record: RecordRef | None = None, since: datetime | str | None = None,
                    until: datetime | str | None = None, limit: int | None = SEARCH_LIMIT) -> bytes:
    """A search of the trail as CSV (seq, time, user, role, action, detail as JSON), preceded by a `#` line with
    the search; recorded as an `export` of document `audit-trail` with the search and the rows written."""
    found = audit_trail(principal, ops, user=user, action=action, record=record, since=since, until=until,
                        limit=limit)
    search = {"user": user, "action": action, "record": None if record is None else str(record),
              "since": _text(since), "until": _text(until), "limit": limit}
    text = io.StringIO()
    text.write(f"# search: {json.dumps(search, sort_keys=True)}\n")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TRAIL_COLUMNS)
    for event in found:
        writer.writerow([event.seq, event.occurred_at, event.user, event.role, event.action,
                         canonical_detail(event.detail)])
    record_event(ops, principal, EXPORT, document=AUDIT_TRAIL_DOCUMENT, format="csv", rows=len(found), search=search,
                 seqs=[found[-1].seq, found[0].seq] if found else [])
    return text.getvalue().encode("utf-8")


def trail_table(found: list[AuditEvent]) -> pd.DataFrame:
    """Events as a table for people: seq, time, user, role, action and the detail in words (`readable_detail`)."""
    return pd.DataFrame([[e.seq, e.occurred_at, e.user, e.role, e.action, readable_detail(e.detail)] for e in found],
                        columns=TRAIL_COLUMNS)


def readable_detail(detail: dict[str, Any]) -> str:
    """"patient id 12; tumors 3, 4; reports 2": an event's detail as `name value` pairs, lists joined by commas,
    nested objects as compact JSON."""
    return "; ".join(f"{name.replace('_', ' ')} {_value(value)}" for name, value in detail.items())


def _value(value: Any) -> str:
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) if value else "none"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False, default=str)
    return "-" if value is None else str(value)


def _text(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment
