"""Cohort export requests and the administrator's export settings (operational store, SQLite only).

A limited-data-set export, or a Safe Harbor export of more tumors than the administrator's row limit, is
not released at once: it becomes an `export_request` (pending) that an administrator approves, naming the
data use agreement it rests on, or refuses with a reason. An approved request is used by exactly one
export, and only while the registry's data vintage is the one it was made on: a DUA covers a given
release, so a second copy, or the same definition over changed data, is a new disclosure and a new
request. Every request, decision and setting is written with its audit event in one transaction.

Settings (`registry_setting`): `export_row_limit` (tumors; more need approval; default
`DEFAULT_ROW_LIMIT`) and `export_k` (the smallest k a Safe Harbor export may use; default `DEFAULT_K`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.access import (
    APPROVE_EXPORT,
    COHORT_EXPORT_DEIDENTIFIED,
    SET_EXPORT_LIMIT,
    require,
    require_audited,
)
from registry.audit import append_event
from registry.errors import InvalidRequest
from registry.operational import OperationalStore, name_key, timestamp
from registry.principal import Principal

SAFE_HARBOR, LIMITED_DATA_SET = "safe_harbor", "limited_data_set"
KINDS = (SAFE_HARBOR, LIMITED_DATA_SET)
FORMATS = ("csv", "parquet", "xlsx")
STATUSES = ("pending", "approved", "refused", "exported")
# k = 11 follows the CMS cell size suppression policy (no cell of 1-10 beneficiaries released; ResDAC,
# "CMS Cell Size Suppression Policy"), the usual floor for record-level extracts in US health data; the
# registry's aggregate threshold (16, registry.suppression) protects published counts, not records.
DEFAULT_K = 11
# About three years of a mid-sized state registry's incident tumors: a multi-year statewide extract needs
# an administrator's approval unless the administrator raises the limit.
DEFAULT_ROW_LIMIT = 50_000
ROW_LIMIT, K_SETTING = "export_row_limit", "export_k"
REQUEST_ACTION, APPROVE_ACTION, REFUSE_ACTION, SETTING_ACTION = (
    "export-request", "export-approve", "export-refuse", "export-setting")


@dataclass(frozen=True)
class ExportSettings:
    """The administrator's settings: the row limit above which an export needs approval, and the smallest k."""

    row_limit: int = DEFAULT_ROW_LIMIT
    k: int = DEFAULT_K


@dataclass(frozen=True)
class ExportRequest:
    """One export request and where it stands."""

    id: int
    requester: str
    definition: dict[str, Any]
    variables: tuple[str, ...]
    format: str
    kind: str
    k: int | None
    row_count: int
    data_vintage: str | None
    status: str
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    dua_reference: str | None
    created_at: str
    exported_at: str | None


def canonical_definition(definition: Mapping[str, Any]) -> str:
    """The definition as canonical JSON (sorted keys, no spaces): how requests are matched and stored."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _request(row: sqlite3.Row) -> ExportRequest:
    return ExportRequest(row["id"], row["requester"], json.loads(row["definition"]),
                         tuple(json.loads(row["variables"])), row["format"], row["kind"], row["k"], row["row_count"],
                         row["data_vintage"], row["status"], row["decided_by"], row["decided_at"], row["reason"],
                         row["dua_reference"], row["created_at"], row["exported_at"])


def export_settings(ops: OperationalStore) -> ExportSettings:
    """The settings in force (defaults where the administrator set none)."""
    with ops.connect() as con:
        values = dict(con.execute("SELECT key, value FROM registry_setting WHERE key IN (?, ?)",
                                  [ROW_LIMIT, K_SETTING]).fetchall())
    return ExportSettings(row_limit=int(values.get(ROW_LIMIT, DEFAULT_ROW_LIMIT)),
                          k=int(values.get(K_SETTING, DEFAULT_K)))


def set_export_settings(principal: Principal, ops: OperationalStore, *, row_limit: int | None = None,
                        k: int | None = None) -> ExportSettings:
    """Set the export row limit and/or the smallest k (administrators; audited, a refusal too)."""
    require_audited(principal, SET_EXPORT_LIMIT, ops, row_limit=row_limit, k=k)
    if row_limit is not None and row_limit < 0:
        raise InvalidRequest(f"export row limit {row_limit}: give 0 or more tumors")
    if k is not None and k < 2:
        raise InvalidRequest(f"k = {k}: k-anonymity needs k of 2 or more")
    changes = {key: value for key, value in ((ROW_LIMIT, row_limit), (K_SETTING, k)) if value is not None}
    if not changes:
        raise InvalidRequest("give a row limit, a k, or both")
    with ops.write() as con:
        moment = ops.now()
        for key, value in changes.items():
            con.execute("INSERT INTO registry_setting (key, value, set_by, set_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, "
                        "set_at = excluded.set_at", [key, str(value), principal.user, timestamp(moment)])
        append_event(con, moment, principal.user, principal.role, SETTING_ACTION, dict(changes))
    return export_settings(ops)


def get_request(ops: OperationalStore, request_id: int) -> ExportRequest:
    """One request by id, or InvalidRequest naming it."""
    with ops.connect() as con:
        row = con.execute("SELECT * FROM export_request WHERE id = ?", [request_id]).fetchone()
    if row is None:
        raise InvalidRequest(f"export request {request_id}: no such request")
    return _request(row)


def _requests(ops: OperationalStore, requester: str | None, status: str | None) -> list[ExportRequest]:
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status {status!r}: expected one of {', '.join(STATUSES)}")
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM export_request WHERE (? IS NULL OR requester_key = ?) "
                           "AND (? IS NULL OR status = ?) ORDER BY id DESC",
                           [requester, requester, status, status]).fetchall()
    return [_request(row) for row in rows]


def list_requests(principal: Principal, ops: OperationalStore, *, status: str | None = None) -> list[ExportRequest]:
    """Every requester's requests, newest first (the administrators who decide them)."""
    require(principal, APPROVE_EXPORT)
    return _requests(ops, None, status)


def own_requests(principal: Principal, ops: OperationalStore, *, status: str | None = None) -> list[ExportRequest]:
    """The caller's own requests, newest first, with the decision and its reason."""
    require(principal, COHORT_EXPORT_DEIDENTIFIED)
    return _requests(ops, name_key(principal.user), status)


def _decide(principal: Principal, ops: OperationalStore, request_id: int, *, status: str, action: str,
            reason: str | None, dua_reference: str | None) -> ExportRequest:
    """Move a pending request to approved or refused, with its audit event, in one transaction."""
    with ops.write() as con:
        row = con.execute("SELECT * FROM export_request WHERE id = ?", [request_id]).fetchone()
        if row is None:
            raise InvalidRequest(f"export request {request_id}: no such request")
        if row["status"] != "pending":
            raise InvalidRequest(f"export request {request_id} is {row['status']}, not pending")
        moment = ops.now()
        con.execute("UPDATE export_request SET status = ?, decided_by = ?, decided_at = ?, reason = ?, "
                    "dua_reference = ? WHERE id = ?",
                    [status, principal.user, timestamp(moment), reason, dua_reference, request_id])
        append_event(con, moment, principal.user, principal.role, action,
                     {"request": request_id, "requester": row["requester"], "kind": row["kind"],
                      "rows": row["row_count"], "reason": reason, "dua_reference": dua_reference})
    return get_request(ops, request_id)


def approve_request(principal: Principal, ops: OperationalStore, request_id: int, *, dua_reference: str,
                    note: str | None = None) -> ExportRequest:
    """Approve a pending request under a data use agreement (its reference is required); audited."""
    require_audited(principal, APPROVE_EXPORT, ops, request=request_id)
    if not dua_reference or not dua_reference.strip():
        raise InvalidRequest(f"export request {request_id}: an approval needs the data use agreement's reference")
    return _decide(principal, ops, request_id, status="approved", action=APPROVE_ACTION,
                   reason=(note or "").strip() or None, dua_reference=dua_reference.strip())


def refuse_request(principal: Principal, ops: OperationalStore, request_id: int, *, reason: str) -> ExportRequest:
    """Refuse a pending request with a reason the requester reads (required); audited."""
    require_audited(principal, APPROVE_EXPORT, ops, request=request_id)
    if not reason or not reason.strip():
        raise InvalidRequest(f"export request {request_id}: a refusal needs a reason")
    return _decide(principal, ops, request_id, status="refused", action=REFUSE_ACTION, reason=reason.strip(),
                   dua_reference=None)


def _matching(con: sqlite3.Connection, principal: Principal, definition: str, variables: str, kind: str,
              vintage: str | None, status: str) -> sqlite3.Row | None:
    return con.execute("SELECT * FROM export_request WHERE requester_key = ? AND definition = ? AND variables = ? "
                       "AND kind = ? AND data_vintage IS ? AND status = ? ORDER BY id DESC LIMIT 1",
                       [name_key(principal.user), definition, variables, kind, vintage, status]).fetchone()


def approved_or_requested(ops: OperationalStore, principal: Principal, *, definition: Mapping[str, Any],
                          variables: Sequence[str], file_format: str, kind: str, k: int | None, row_count: int,
                          vintage: str | None) -> ExportRequest:
    """The caller's approved, unused request for this export on this data vintage; else their pending one;
    else a new pending request (audited). The caller (`registry.cohort_export`) has checked the caller's
    access and exports only when the result is approved."""
    text, names = canonical_definition(definition), json.dumps(list(variables))
    with ops.write() as con:
        for status in ("approved", "pending"):
            if (row := _matching(con, principal, text, names, kind, vintage, status)) is not None:
                return _request(row)
        moment = ops.now()
        cursor = con.execute(
            "INSERT INTO export_request (requester, requester_key, definition, variables, format, kind, k, "
            "row_count, data_vintage, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            [principal.user, name_key(principal.user), text, names, file_format, kind, k, row_count, vintage,
             timestamp(moment)])
        request_id = int(cursor.lastrowid or 0)
        append_event(con, moment, principal.user, principal.role, REQUEST_ACTION,
                     {"request": request_id, "definition": definition, "variables": list(variables),
                      "format": file_format, "kind": kind, "k": k, "rows": row_count, "data_vintage": vintage})
    return get_request(ops, request_id)


def mark_exported(ops: OperationalStore, request_id: int) -> bool:
    """Use an approved request (once): False when it was no longer approved (used by a concurrent export)."""
    with ops.write() as con:
        cursor = con.execute("UPDATE export_request SET status = 'exported', exported_at = ? "
                             "WHERE id = ? AND status = 'approved'", [timestamp(ops.now()), request_id])
    return cursor.rowcount == 1
