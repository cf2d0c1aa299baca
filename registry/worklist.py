"""The discrepancy worklist: one work item per registry tumor with an error-level edit failure or an open
linkage or multiple-primary question, followed with the reporting facility until it is settled.

Statuses: `open` -> `queried` (a question sent to the facility) -> `answered` (its answer recorded) ->
`resolved`; any unfinished item may be `resolved` (with a note) or closed as valid (`closed-valid`, setting
the NAACCR override flag that clears the edit through a registry-level correction); a finished item may be
reopened. Every transition, assignment and due date is a `work_item_event` and an audit event written in
the same transaction. `sync_worklist` (after each ingest, link and edits run) creates, refreshes and
automatically resolves items from the analytic store (`registry.worklist_store`) and the review queue.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from registry.access import allowed, require
from registry.accounts import get_user
from registry.audit import append_event, record_event
from registry.corrections import Correction, correct
from registry.errors import InvalidRequest
from registry.link_review import pending_pairs
from registry.operational import OperationalStore, timestamp
from registry.principal import Principal
from registry.worklist_store import Question, error_failures, question_reports

WORKLIST = "worklist"
SYSTEM = "system"                                   # the actor of sync's own changes
WORK_ITEM_STATUSES = ("open", "queried", "answered", "resolved", "closed-valid")
UNFINISHED = ("open", "queried", "answered")
# Items whose errors change who is counted where: site, histology, behavior, diagnosis date, residence.
INCIDENCE_ITEMS = frozenset({"primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3", "dateOfDiagnosis",
                             "addrAtDxState", "countyAtDx", "addrAtDxPostalCode"})
# Days from an item's creation to its due date, by priority: 1 changes incidence counts (or a linkage or
# multiple-primary question, which decides what is counted at all), 2 any other error.
PRIORITY_DAYS = {1: 14, 2: 30}
REGISTRY_TUMOR_LEVEL = 3                            # edit_failure.level of a registry tumor's own values
# transition -> (statuses it starts from, the status it ends in)
WORK_ITEM_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "query": (("open", "answered"), "queried"),
    "answer": (("queried",), "answered"),
    "resolve": (UNFINISHED, "resolved"),
    "close-valid": (UNFINISHED, "closed-valid"),
    "reopen": (("resolved", "closed-valid"), "open"),
}


@dataclass(frozen=True)
class WorkItem:
    """One work item: a registry tumor's discrepancies and where they stand."""

    work_item_id: int
    registry_tumor_id: int
    registry_patient_id: int | None
    facility: str | None
    status: str
    priority: int
    issues: list[dict[str, Any]]
    assignee: str | None
    due_date: str | None
    override_flag: str | None
    query_text: str | None
    answer_text: str | None
    created_at: str
    updated_at: str
    closed_at: str | None

    @property
    def edit_ids(self) -> tuple[str, ...]:
        """The failing edits of the item, each once."""
        return tuple(dict.fromkeys(str(i["edit_id"]) for i in self.issues if i["kind"] == "edit"))


@dataclass(frozen=True)
class WorkItemEvent:
    """One step of an item's history."""

    event_id: int
    work_item_id: int
    from_status: str | None
    to_status: str
    actor: str
    at: str
    note: str | None


@dataclass(frozen=True)
class WorkItemView:
    """An item with its history, as a registrar opens it."""

    item: WorkItem
    events: list[WorkItemEvent]


@dataclass(frozen=True)
class WorklistSync:
    """What one sync found and changed."""

    failures: int          # error-level edit failures placed on a registry tumor
    unlinked: int          # error-level failures of reports not linked yet (left for the next sync)
    questions: int         # pending linkage and multiple-primary questions
    created: int
    updated: int
    resolved: int
    unfinished: int        # items open, queried or answered after the sync


def _item(row: sqlite3.Row) -> WorkItem:
    return WorkItem(row["work_item_id"], row["registry_tumor_id"], row["registry_patient_id"], row["facility"],
                    row["status"], row["priority"], json.loads(row["issues"]), row["assignee"], row["due_date"],
                    row["override_flag"], row["query_text"], row["answer_text"], row["created_at"],
                    row["updated_at"], row["closed_at"])


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


# ---- sync ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Found:
    """A registry tumor's current issues, as sync builds them."""

    registry_patient_id: int | None
    facility: str | None
    priority: int
    issues: list[dict[str, Any]]

    @property
    def keys(self) -> set[str]:
        return {_issue_key(i) for i in self.issues}


def _issue_key(issue: dict[str, Any]) -> str:
    return f"edit:{issue['level']}:{issue['edit_id']}" if issue["kind"] == "edit" else f"review:{issue['review_id']}"


def _report(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    return {"report": _text(row["report_key"]), "facility": _text(row["facility"]),
            "patient_id_number": _text(row["patient_id_number"]),
            "tumor_record_number": _text(row["tumor_record_number"])}


def _id(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _current_issues(db_path: Path, ops: OperationalStore) -> tuple[dict[int, _Found], int, int, int]:
    """registry tumor -> its issues now; and how many failures were placed, left unlinked, and questions."""
    failures = error_failures(db_path)
    pending = pending_pairs(ops)
    questions = question_reports(db_path, [Question(p.review_id, p.kind, key) for p in pending
                                            for key in (p.left_key, p.right_key)])
    placed = failures[failures["registry_tumor_id"].notna()]
    # (registry tumor) -> [(order, issue)]: edits by their report, then questions by review.
    gathered: dict[int, list[tuple[tuple[int, int, str], dict[str, Any]]]] = {}
    patients: dict[int, int | None] = {}
    for row in placed.to_dict("records"):
        tumor = int(row["registry_tumor_id"])
        issue = {"kind": "edit", "edit_id": str(row["edit_id"]), "edit_set": str(row["edit_set"]),
                 "severity": str(row["severity"]), "level": int(row["level"]),
                 "items": [i.strip() for i in str(row["items"]).split(",") if i.strip()],
                 "values": str(row["item_values"]), "message": str(row["message"]), **_report(row)}
        gathered.setdefault(tumor, []).append(((0, _id(row["source_tumor_id"]) or -1, issue["edit_id"]), issue))
        patients[tumor] = _id(row["registry_patient_id"])
    for row in questions.to_dict("records"):
        tumor = int(row["registry_tumor_id"])
        issue = {"kind": "question", "review_id": int(row["review_id"]), "question": str(row["kind"]),
                 **_report(row)}
        gathered.setdefault(tumor, []).append(((1, issue["review_id"], str(row["report_key"])), issue))
        patients[tumor] = _id(row["registry_patient_id"])
    found: dict[int, _Found] = {}
    for tumor, entries in gathered.items():
        issues = [issue for _, issue in sorted(entries, key=lambda entry: entry[0])]
        issues = [issue for n, issue in enumerate(issues) if issue not in issues[:n]]
        urgent = any(i["kind"] == "question" or INCIDENCE_ITEMS & set(i["items"]) for i in issues)
        found[tumor] = _Found(patients[tumor], issues[0]["facility"], 1 if urgent else 2, issues)
    return found, len(placed), len(failures) - len(placed), len(pending)


def _settled(last: sqlite3.Row | None, now_found: _Found) -> bool:
    """Whether a tumor's last finished item still answers its current issues, so no new item is opened.

    Every issue must have been on that item. A report's failure then stays settled: the report is kept as
    received, and the registry answered it by a correction or by closing it as valid. A failure of the
    registry tumor's own values after its item was resolved is not: resolving says the record was corrected.
    """
    if last is None or not now_found.keys <= {_issue_key(i) for i in json.loads(last["issues"])}:
        return False
    return last["status"] == "closed-valid" or not any(
        i["kind"] == "edit" and i["level"] == REGISTRY_TUMOR_LEVEL for i in now_found.issues)


def _due(created: datetime, priority: int) -> str:
    return (created.date() + timedelta(days=PRIORITY_DAYS[priority])).isoformat()


def _event(con: sqlite3.Connection, item_id: int, from_status: str | None, to_status: str, actor: str, at: str,
           note: str | None) -> None:
    con.execute("INSERT INTO work_item_event (work_item_id, from_status, to_status, actor, at, note) "
                "VALUES (?, ?, ?, ?, ?, ?)", [item_id, from_status, to_status, actor, at, note])


def sync_worklist(db_path: Path, ops: OperationalStore) -> WorklistSync:
    """Bring the worklist up to date with the edit failures and the review queue (idempotent).

    Each registry tumor with issues has one unfinished item, created or refreshed; an unfinished item whose
    issues are all gone is resolved by `system`; a tumor whose last item is finished gets a new item only when
    an issue appears that the item did not have, or when its registry values still fail after it was resolved.
    """
    found, failures, unlinked, questions = _current_issues(db_path, ops)
    moment = ops.now()
    now = timestamp(moment)
    created = updated = resolved = 0
    with ops.write() as con:
        unfinished = {row["registry_tumor_id"]: row for row in con.execute(
            "SELECT * FROM work_item WHERE status IN ('open', 'queried', 'answered')")}
        closed = {row["registry_tumor_id"]: row for row in con.execute(
            "SELECT * FROM work_item WHERE work_item_id IN (SELECT max(work_item_id) FROM work_item "
            "WHERE status IN ('resolved', 'closed-valid') AND registry_tumor_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY registry_tumor_id)", [json.dumps(sorted(set(found) - set(unfinished)))])}
        for tumor, now_found in sorted(found.items()):
            issues = json.dumps(now_found.issues, sort_keys=True)
            if (row := unfinished.get(tumor)) is not None:
                if (row["issues"], row["priority"], row["facility"], row["registry_patient_id"]) == (
                        issues, now_found.priority, now_found.facility, now_found.registry_patient_id):
                    continue
                due = row["due_date"]
                if now_found.priority < row["priority"]:      # more urgent now: never due later than that allows
                    due = min(filter(None, (due, _due(datetime.fromisoformat(row["created_at"]), now_found.priority))))
                con.execute("UPDATE work_item SET issues = ?, priority = ?, facility = ?, registry_patient_id = ?, "
                            "due_date = ?, updated_at = ? WHERE work_item_id = ?",
                            [issues, now_found.priority, now_found.facility, now_found.registry_patient_id, due,
                             now, row["work_item_id"]])
                _event(con, row["work_item_id"], row["status"], row["status"], SYSTEM, now,
                       f"issues refreshed: {len(now_found.issues)}")
                updated += 1
                continue
            if _settled(closed.get(tumor), now_found):
                continue
            cursor = con.execute(
                "INSERT INTO work_item (registry_tumor_id, registry_patient_id, facility, status, priority, issues, "
                "due_date, created_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?)",
                [tumor, now_found.registry_patient_id, now_found.facility, now_found.priority, issues,
                 _due(moment, now_found.priority), now, now])
            _event(con, int(cursor.lastrowid or 0), None, "open", SYSTEM, now, f"{len(now_found.issues)} issues found")
            created += 1
        for tumor, row in sorted(unfinished.items()):
            if tumor in found:
                continue
            con.execute("UPDATE work_item SET status = 'resolved', updated_at = ?, closed_at = ? WHERE work_item_id = ?",
                        [now, now, row["work_item_id"]])
            _event(con, row["work_item_id"], row["status"], "resolved", SYSTEM, now,
                   "resolved automatically: the edits pass and the questions are decided")
            resolved += 1
        if created or updated or resolved:
            append_event(con, moment, SYSTEM, "", "worklist-sync",
                         {"created": created, "updated": updated, "resolved": resolved})
        remaining = int(con.execute("SELECT count(*) FROM work_item WHERE status IN ('open', 'queried', 'answered')"
                                    ).fetchone()[0])
    return WorklistSync(failures, unlinked, questions, created, updated, resolved, remaining)


# ---- reading ------------------------------------------------------------------------------------------

def _check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    options = tuple(choices)
    if value is not None and value not in options:
        raise InvalidRequest(f"unknown {name} {value!r}; use one of {', '.join(map(str, options))}")


def list_items(principal: Principal, ops: OperationalStore, *, status: str | None = None,
               priority: int | None = None, facility: str | None = None, assignee: str | None = None,
               edit_id: str | None = None, limit: int = 200) -> list[WorkItem]:
    """Work items matching the filters, most urgent first (priority, due date); registrars, audited."""
    require(principal, WORKLIST)
    _check_choice("status", status, WORK_ITEM_STATUSES)
    _check_choice("priority", priority, PRIORITY_DAYS)
    with ops.connect() as con:
        rows = con.execute(
            "SELECT * FROM work_item WHERE (? IS NULL OR status = ?) AND (? IS NULL OR priority = ?) "
            "AND (? IS NULL OR facility = ?) AND (? IS NULL OR assignee = ?) AND (? IS NULL OR EXISTS "
            "(SELECT 1 FROM json_each(work_item.issues) WHERE json_extract(value, '$.edit_id') = ?)) "
            "ORDER BY status NOT IN ('open', 'queried', 'answered'), priority, due_date, work_item_id LIMIT ?",
            [status, status, priority, priority, facility, facility, assignee, assignee, edit_id, edit_id,
             limit]).fetchall()
    items = [_item(row) for row in rows]
    record_event(ops, principal, "record-view", purpose=WORKLIST, work_items=[i.work_item_id for i in items],
                 filters={"status": status, "priority": priority, "facility": facility, "assignee": assignee,
                          "edit_id": edit_id})
    return items


def worklist_counts(principal: Principal, ops: OperationalStore) -> pd.DataFrame:
    """Items by status, priority and facility (status, priority, facility, items); registrars."""
    require(principal, WORKLIST)
    with ops.connect() as con:
        rows = con.execute("SELECT status, priority, facility, count(*) AS items FROM work_item "
                           "GROUP BY status, priority, facility ORDER BY status, priority, facility").fetchall()
    return pd.DataFrame([dict(row) for row in rows], columns=["status", "priority", "facility", "items"])


def _events(con: sqlite3.Connection, item_id: int) -> list[WorkItemEvent]:
    return [WorkItemEvent(r["event_id"], r["work_item_id"], r["from_status"], r["to_status"], r["actor"], r["at"],
                          r["note"])
            for r in con.execute("SELECT * FROM work_item_event WHERE work_item_id = ? ORDER BY event_id", [item_id])]


def _row(con: sqlite3.Connection, item_id: int) -> sqlite3.Row:
    row = con.execute("SELECT * FROM work_item WHERE work_item_id = ?", [item_id]).fetchone()
    if row is None:
        raise InvalidRequest(f"there is no work item {item_id}")
    return row


def work_item(principal: Principal, ops: OperationalStore, work_item_id: int) -> WorkItemView:
    """One item with its history (registrars; audited as a record view)."""
    require(principal, WORKLIST)
    with ops.connect() as con:
        view = WorkItemView(_item(_row(con, work_item_id)), _events(con, work_item_id))
    record_event(ops, principal, "record-view", purpose=WORKLIST, work_item_id=work_item_id,
                 registry_tumor_id=view.item.registry_tumor_id)
    return view


def tumor_work_items(ops: OperationalStore, tumor_ids: list[int]) -> dict[int, list[WorkItem]]:
    """The work items of registry tumors, newest first (what a record view lists)."""
    found: dict[int, list[WorkItem]] = {i: [] for i in tumor_ids}
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM work_item WHERE registry_tumor_id IN (SELECT value FROM json_each(?)) "
                           "ORDER BY work_item_id DESC", [json.dumps(tumor_ids)]).fetchall()
    for row in rows:
        found[int(row["registry_tumor_id"])].append(_item(row))
    return found


def facility_queries(ops: OperationalStore, facility: str) -> list[WorkItem]:
    """The items queried of one reporting facility, oldest due first (what its query letter lists)."""
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM work_item WHERE status = 'queried' AND facility = ? "
                           "ORDER BY due_date, work_item_id", [facility]).fetchall()
    return [_item(row) for row in rows]


# ---- transitions --------------------------------------------------------------------------------------

def _required(text: str | None, what: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidRequest(f"{what} is required")
    return cleaned


def _legal(item: WorkItem, transition: str) -> None:
    starts, ends = WORK_ITEM_TRANSITIONS[transition]
    if item.status not in starts:
        raise InvalidRequest(f"work item {item.work_item_id} is {item.status}: it cannot be moved to {ends} "
                             f"(only an item {' or '.join(starts)} can)")


def _change(principal: Principal, ops: OperationalStore, work_item_id: int, transition: str | None,
            note: str | None, columns: dict[str, Any], detail: dict[str, Any], *, action: str | None = None
            ) -> WorkItem:
    """Apply a transition (or, with None, a change of an unfinished item that keeps its status) with its
    work-item event and audit event in one transaction."""
    require(principal, WORKLIST)
    moment = ops.now()
    now = timestamp(moment)
    with ops.write() as con:
        item = _item(_row(con, work_item_id))
        if transition is None:
            if item.status not in UNFINISHED:
                raise InvalidRequest(f"work item {work_item_id} is {item.status}: reopen it first")
            to_status = item.status
        else:
            _legal(item, transition)
            to_status = WORK_ITEM_TRANSITIONS[transition][1]
            if to_status == "open":
                clash = con.execute("SELECT work_item_id FROM work_item WHERE registry_tumor_id = ? AND status IN "
                                    "('open', 'queried', 'answered')", [item.registry_tumor_id]).fetchone()
                if clash is not None:
                    raise InvalidRequest(f"registry tumor {item.registry_tumor_id} already has work item "
                                         f"{clash[0]} in progress; work on that one")
        values = {**columns, "status": to_status, "updated_at": now}
        if transition is not None:
            values["closed_at"] = None if to_status in UNFINISHED else now
        assignments = ", ".join(f"{name} = ?" for name in values)   # names from this module, never input
        con.execute(f"UPDATE work_item SET {assignments} WHERE work_item_id = ?", [*values.values(), work_item_id])
        _event(con, work_item_id, item.status, to_status, principal.user, now, note)
        append_event(con, moment, principal.user, principal.role, f"worklist-{transition or action}",
                     {"work_item_id": work_item_id, "registry_tumor_id": item.registry_tumor_id,
                      "from": item.status, "to": to_status, **detail})
        return _item(_row(con, work_item_id))


def query_item(principal: Principal, ops: OperationalStore, work_item_id: int, question: str) -> WorkItem:
    """Send the facility a question about the item (open or answered -> queried)."""
    text = _required(question, "the question to the facility")
    return _change(principal, ops, work_item_id, "query", text, {"query_text": text, "answer_text": None},
                   {"query": text})


def answer_item(principal: Principal, ops: OperationalStore, work_item_id: int, answer: str) -> WorkItem:
    """Record the facility's answer (queried -> answered)."""
    text = _required(answer, "the facility's answer")
    return _change(principal, ops, work_item_id, "answer", text, {"answer_text": text}, {"answer": text})


def resolve_item(principal: Principal, ops: OperationalStore, work_item_id: int, note: str) -> WorkItem:
    """Settle the item with a resolution note (open, queried or answered -> resolved)."""
    text = _required(note, "a resolution note")
    return _change(principal, ops, work_item_id, "resolve", text, {}, {"note": text})


def reopen_item(principal: Principal, ops: OperationalStore, work_item_id: int, note: str) -> WorkItem:
    """Take a resolved or closed item up again (-> open), saying why."""
    text = _required(note, "why the item is reopened")
    return _change(principal, ops, work_item_id, "reopen", text, {"override_flag": None}, {"note": text})


def assign_item(principal: Principal, ops: OperationalStore, work_item_id: int, assignee: str) -> WorkItem:
    """Give an unfinished item to a registrar (by user name)."""
    require(principal, WORKLIST)
    account = get_user(ops, _required(assignee, "the registrar to assign"))
    if account is None or account.disabled or not allowed(Principal(account.user, account.role, account.grants),
                                                            WORKLIST):
        raise InvalidRequest(f"{assignee!r} is not the user name of an active registrar")
    return _change(principal, ops, work_item_id, None, f"assigned to {account.user}", {"assignee": account.user},
                   {"assignee": account.user}, action="assign")


def set_due_date(principal: Principal, ops: OperationalStore, work_item_id: int, due: str | date) -> WorkItem:
    """Set an unfinished item's due date (YYYY-MM-DD)."""
    try:
        day = due if isinstance(due, date) else date.fromisoformat(str(due).strip())
    except ValueError as exc:
        raise InvalidRequest(f"due date {due!r} is not a date (YYYY-MM-DD)") from exc
    return _change(principal, ops, work_item_id, None, f"due {day.isoformat()}", {"due_date": day.isoformat()},
                   {"due_date": day.isoformat()}, action="due-date")


def apply_correction(principal: Principal, db_path: Path, ops: OperationalStore, *, tumor_id: int | None = None,
                     patient_id: int | None = None, item: str, new_value: str, reason: str,
                     work_item_id: int | None = None) -> Correction:
    """A registry-level correction (`registry.corrections.correct`, which reruns the edits on the tumors it
    touches) followed by a worklist sync, so the work items list what still fails at once."""
    corrected = correct(principal, db_path, ops, tumor_id=tumor_id, patient_id=patient_id, item=item,
                        new_value=new_value, reason=reason, work_item_id=work_item_id)
    sync_worklist(db_path, ops)
    return corrected


def close_valid(principal: Principal, db_path: Path, ops: OperationalStore, work_item_id: int, override_flag: str,
                reason: str) -> WorkItem:
    """Close the item as valid (open, queried or answered -> closed-valid): the values are right although the
    edit fails, so the NAACCR override flag that clears the edit is set to 1 on the registry tumor (a
    registry-level correction answering this item, `registry.corrections.correct`), then the item closes.

    The correction is written first (in the analytic store, audited there); should the item have moved in
    between, the close is refused and the flag stays set, which the next edits run honours.
    """
    require(principal, WORKLIST)
    flag = (override_flag or "").strip()
    if not flag.startswith("overRide"):
        raise InvalidRequest(f"{override_flag!r} is not a NAACCR override flag (overRideSiteType, overRideHistology, "
                             "...)")
    text = _required(reason, "why the values are valid")
    with ops.connect() as con:
        item = _item(_row(con, work_item_id))
    _legal(item, "close-valid")
    correct(principal, db_path, ops, tumor_id=item.registry_tumor_id, item=flag, new_value="1", reason=text,
            work_item_id=work_item_id)
    return _change(principal, ops, work_item_id, "close-valid", f"{flag}: {text}", {"override_flag": flag},
                   {"override_flag": flag, "reason": text})


def items_by_id(ops: OperationalStore, work_item_ids: list[int]) -> dict[int, WorkItem]:
    """Work items by id (those that exist): which registry tumors a worklist view showed (the breach report)."""
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM work_item WHERE work_item_id IN (SELECT value FROM json_each(?))",
                           [json.dumps(work_item_ids)]).fetchall()
    return {int(row["work_item_id"]): _item(row) for row in rows}
def resolutions_by_month(ops: OperationalStore) -> list[tuple[str, str, int]]:
    """(registrar, month YYYY-MM in UTC, work items resolved or closed as valid) for every person and month;
    the worklist sync's own automatic resolutions are not a person's work and are left out (the registrar
    workload of `registry.program_statistics`, which releases it)."""
    with ops.connect() as con:
        rows = con.execute("SELECT actor, substr(at, 1, 7) AS month, count(*) AS n FROM work_item_event "
                           "WHERE to_status IN ('resolved', 'closed-valid') AND actor <> ? "
                           "GROUP BY actor, month ORDER BY month, actor", [SYSTEM]).fetchall()
    return [(str(row["actor"]), str(row["month"]), int(row["n"])) for row in rows]
