"""Reading the audit trail: search by user, action, record and time, and the reads of breach detection.

The trail is written and verified by `registry.audit`; this module only reads `audit_event`, with one
parameterized query per question.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.audit import AuditEvent, event_from_row
from registry.errors import InvalidRequest
from registry.operational import OperationalStore, timestamp

# ---- search --------------------------------------------------------------------------------------------------

# What an event's detail says about one record: (single-id JSON paths, list-of-ids JSON paths) per kind of record.
# patient: record views, refusals, find-patient candidates; tumor: record views (`tumors`), work-item views and
# transitions (`registry_tumor_id`), refusals; work item: list views (`work_items`), item views, transitions,
# query letters, corrections; review: link-review views and decisions. A correction names its record as
# `entity` ("patient" or "tumor") and `entity_id`, matched as well.
RECORD_PATHS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "patient": (("$.patient_id", "$.registry_patient_id"), ("$.candidates",)),
    "tumor": (("$.tumor_id", "$.registry_tumor_id"), ("$.tumors",)),
    "work-item": (("$.work_item_id",), ("$.work_items",)),
    "review": (("$.review_id",), ()),
}
RECORD_KINDS: tuple[str, ...] = tuple(RECORD_PATHS)
SEARCH_LIMIT = 1_000

_SEARCH_SQL = """
    SELECT * FROM audit_event AS e
    WHERE (:since IS NULL OR e.occurred_at >= :since) AND (:until IS NULL OR e.occurred_at < :until)
      AND (:user IS NULL OR lower(e.user_name) = lower(:user)) AND (:action IS NULL OR e.action = :action)
      AND (:kind IS NULL OR CASE WHEN json_valid(e.detail) AND json_type(e.detail) = 'object' THEN (
            EXISTS (SELECT 1 FROM json_each(:single) AS p
                    WHERE json_extract(e.detail, p.value) IN (:id, :id_text))
            OR EXISTS (SELECT 1 FROM json_each(:lists) AS p, json_each(e.detail, p.value) AS v
                       WHERE v.value IN (:id, :id_text))
            OR (json_extract(e.detail, '$.entity') = :kind
                AND json_extract(e.detail, '$.entity_id') IN (:id, :id_text))) ELSE 0 END)
    ORDER BY e.seq DESC LIMIT :limit
"""


@dataclass(frozen=True)
class RecordRef:
    """A record an audit event can name: a registry patient or tumor, a work item or a link review, by its id."""

    kind: str
    id: int

    def __post_init__(self) -> None:
        """Refuse kinds the trail does not name and ids that are not whole numbers."""
        if self.kind not in RECORD_PATHS:
            raise InvalidRequest(f"unknown record kind {self.kind!r}; use one of {', '.join(RECORD_KINDS)}")
        if isinstance(self.id, bool) or not isinstance(self.id, int) or self.id < 0:
            raise InvalidRequest(f"a {self.kind} id is a whole number, not {self.id!r}")

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


def parse_record(text: str) -> RecordRef:
    """A record written as `KIND:ID` or `KIND ID` (e.g. `patient:12`, `tumor 34`, `work-item:5`, `review:7`)."""
    kind, _, number = text.strip().replace(" ", ":", 1).partition(":")
    if not number.strip().isdigit():
        raise InvalidRequest(f"a record is KIND:ID with KIND one of {', '.join(RECORD_KINDS)}, not {text!r}")
    return RecordRef(kind.strip().lower(), int(number.strip()))


def _moment(value: datetime | str | None) -> str | None:
    return timestamp(value) if isinstance(value, datetime) else value


def search_events(ops: OperationalStore, *, user: str | None = None, action: str | None = None,
                  record: RecordRef | None = None, since: datetime | str | None = None,
                  until: datetime | str | None = None, limit: int | None = SEARCH_LIMIT) -> list[AuditEvent]:
    """Events newest first: of one user (case-insensitive) and action, naming one record (`RECORD_PATHS`: the
    whole id, so patient 12 never matches 123), from `since` on and before `until` (UTC; a datetime, or ISO
    text compared with the stored timestamps). The trail itself is not checked here: see `verify_chain`."""
    params: dict[str, Any] = {
        "since": _moment(since), "until": _moment(until), "user": user or None, "action": action or None,
        "kind": None, "single": "[]", "lists": "[]", "id": None, "id_text": None,
        "limit": -1 if limit is None else limit}
    if record is not None:
        single, lists = RECORD_PATHS[record.kind]
        params.update(kind=record.kind, single=json.dumps(single), lists=json.dumps(lists), id=record.id,
                      id_text=str(record.id))
    with ops.connect() as con:
        rows = con.execute(_SEARCH_SQL, params).fetchall()
    return [event_from_row(row) for row in rows]


def event_actions(ops: OperationalStore) -> list[str]:
    """The actions present in the trail, in alphabetical order (what a search can choose from)."""
    with ops.connect() as con:
        return [str(row[0]) for row in con.execute("SELECT DISTINCT action FROM audit_event ORDER BY action")]


# ---- reading for breach detection (registry.breach) ---------------------------------------------------------

def events_after(con: sqlite3.Connection, seq: int, *, limit: int | None = None) -> list[AuditEvent]:
    """Events numbered above `seq`, oldest first: what incremental breach detection reads next."""
    rows = con.execute("SELECT * FROM audit_event WHERE seq > ? ORDER BY seq LIMIT ?",
                       [seq, -1 if limit is None else limit]).fetchall()
    return [event_from_row(row) for row in rows]


def user_events_between(con: sqlite3.Connection, user: str, actions: Collection[str] | None, start: str,
                        end: str) -> list[AuditEvent]:
    """One user's events (name case-insensitive) of `actions` (all when None) from `start` to `end` inclusive
    (UTC timestamp texts), oldest first: the look-back of a breach rule and the events of a breach report."""
    chosen = None if actions is None else json.dumps(sorted(actions))
    rows = con.execute(
        "SELECT * FROM audit_event WHERE occurred_at >= ? AND occurred_at <= ? AND lower(user_name) = lower(?) "
        "AND (? IS NULL OR action IN (SELECT value FROM json_each(?))) ORDER BY seq",
        [start, end, user, chosen, chosen]).fetchall()
    return [event_from_row(row) for row in rows]
