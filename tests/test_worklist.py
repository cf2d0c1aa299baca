"""The discrepancy worklist over the two hospitals' store: edit failures and review questions become one
work item per registry tumor, sync is idempotent and resolves what is settled, and every transition is
recorded and audited (illegal ones refused)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import duckdb
import pytest

from registry import accounts
from registry.audit import events, verify_chain
from registry.corrections import corrections_of
from registry.errors import AccessDenied, InvalidRequest
from registry.link_review import decide, pending_pairs
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.worklist import (
    PRIORITY_DAYS,
    SYSTEM,
    UNFINISHED,
    WorkItem,
    answer_item,
    assign_item,
    close_valid,
    list_items,
    query_item,
    reopen_item,
    resolve_item,
    set_due_date,
    sync_worklist,
    work_item,
    worklist_counts,
)
from tests.dashboard_session import CHEAP_HASHER
from tests.registry_reports import two_hospitals_store

REGISTRAR = Principal("registrar1", "registrar")
# Source tumor ids of the two hospitals' store (batch_id * 2^32 + tumor_seq) and the registry tumors they
# are linked to: Margaret's two breast reports (1, 3), Thomas at both hospitals (2), Margret (4).
THOMAS_H1, THOMAS_H2, MARGRET = 4294967298, 8589934594, 8589934593
# (level, record id, edit id, severity, items, values, message)
Failure = tuple[int, int, str, str, str, str, str]
SITE_MORPH: Failure = (2, THOMAS_H1, "N0441", "error", "primarySite,histologicTypeIcdO3",
                       "primarySite=C619; histologicTypeIcdO3=8070", "Primary Site, Morphology-Type Check")
PAYER: Failure = (2, THOMAS_H2, "N2001", "error", "primaryPayerAtDx", "primaryPayerAtDx=77",
                  "Primary Payer at DX: not a valid code")
WARNING: Failure = (2, THOMAS_H2, "N0999", "warning", "grade", "grade=9", "Grade unknown")
GRADE: Failure = (3, 4, "R0100", "error", "grade", "grade=7", "Grade, Primary Site")


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hospitals_store(tmp_path_factory.mktemp("worklist"))


@pytest.fixture
def db(linked: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(linked.parent, copy)
    with mock.patch.object(accounts, "PASSWORD_HASHER", CHEAP_HASHER):
        accounts.create_user(open_operational_store(copy / linked.name), REGISTRAR.user, "registrar",
                             password="a-long-password-1")
    return copy / linked.name


def add_failures(db: Path, failures: Sequence[Failure], run_id: int = 1) -> None:
    """Edit failures as an edits run leaves them (written directly: a test fixture)."""
    with duckdb.connect(str(db)) as con:
        con.executemany("INSERT INTO edit_failure VALUES (?, ?, ?, 'incoming', ?, ?, ?, ?, ?)",
                        [(level, record, edit, severity, items, values, message, run_id)
                         for level, record, edit, severity, items, values, message in failures])


def clear_failures(db: Path, edit_id: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM edit_failure WHERE edit_id = ?", [edit_id])


def items_by_tumor(ops: OperationalStore) -> dict[int, WorkItem]:
    """The unfinished item of each registry tumor."""
    return {i.registry_tumor_id: i for i in list_items(REGISTRAR, ops, limit=1000) if i.status in UNFINISHED}


def test_one_item_per_registry_tumor_with_its_edits_and_questions(db: Path) -> None:
    add_failures(db, [SITE_MORPH, PAYER, WARNING, GRADE])
    ops = open_operational_store(db)
    synced = sync_worklist(db, ops)
    assert (synced.failures, synced.unlinked, synced.questions) == (3, 0, 2)
    # the ingest put the two questions on tumors 1, 3 and 4 already: Thomas's item is new, Margret's refreshed
    assert (synced.created, synced.updated, synced.resolved, synced.unfinished) == (1, 1, 0, 4)
    items = {i.registry_tumor_id: i for i in list_items(REGISTRAR, ops)}
    assert sorted(items) == [1, 2, 3, 4]
    thomas = items[2]                               # two reports' failures, one item; the warning is left out
    assert [(i["edit_id"], i["report"], i["facility"]) for i in thomas.issues] == [
        ("N0441", "1000000001/00000102/01", "1000000001"), ("N2001", "2000000002/00007004/01", "2000000002")]
    assert thomas.issues[0]["items"] == ["primarySite", "histologicTypeIcdO3"]
    assert thomas.issues[0]["values"] == "primarySite=C619; histologicTypeIcdO3=8070"
    assert thomas.issues[1]["patient_id_number"] == "00007004" and thomas.issues[1]["tumor_record_number"] == "01"
    assert thomas.facility == "1000000001" and thomas.priority == 1 and thomas.status == "open"
    assert thomas.edit_ids == ("N0441", "N2001")
    margret = items[4]                              # a registry-tumor edit and the patient question
    assert [i["kind"] for i in margret.issues] == ["edit", "question"]
    assert margret.issues[0]["level"] == 3 and margret.issues[0]["report"] == "2000000002/00007003/01"
    assert margret.issues[1]["question"] == "patient" and margret.facility == "2000000002"
    questions = {i["review_id"]: i["question"] for i in items[1].issues}
    assert questions == {p.review_id: p.kind for p in pending_pairs(ops)}   # both questions touch tumor 1
    assert [i["question"] for i in items[3].issues] == ["tumor", "patient"]
    assert all(i.priority == 1 for i in items.values())
    created = date.fromisoformat(thomas.created_at[:10])
    assert date.fromisoformat(thomas.due_date or "") == created.fromordinal(created.toordinal() + PRIORITY_DAYS[1])
    [history] = [work_item(REGISTRAR, ops, thomas.work_item_id).events]
    assert [(e.from_status, e.to_status, e.actor) for e in history] == [(None, "open", SYSTEM)]
    audited = events(ops, action="worklist-sync")[0]
    assert audited.user == SYSTEM and audited.detail == {"created": 1, "updated": 1, "resolved": 0}


def test_an_other_error_alone_is_priority_two(db: Path) -> None:
    add_failures(db, [PAYER])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    thomas = items_by_tumor(ops)[2]
    assert thomas.priority == 2 and thomas.facility == "2000000002"
    assert worklist_counts(REGISTRAR, ops).groupby("priority")["items"].sum().to_dict() == {1: 3, 2: 1}


def test_sync_twice_changes_nothing(db: Path) -> None:
    add_failures(db, [SITE_MORPH, PAYER, GRADE])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    before = [vars(i) for i in list_items(REGISTRAR, ops)]
    trail = len(events(ops, limit=None))
    again = sync_worklist(db, ops)
    assert (again.created, again.updated, again.resolved) == (0, 0, 0)
    assert [vars(i) for i in list_items(REGISTRAR, ops)] == before
    assert len(events(ops, limit=None)) == trail + 1          # only the listing above is a new event


def test_new_failures_refresh_and_settled_items_resolve_by_themselves(db: Path) -> None:
    add_failures(db, [PAYER])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    created = date.fromisoformat(items_by_tumor(ops)[2].created_at[:10])
    add_failures(db, [SITE_MORPH], run_id=2)
    refreshed = sync_worklist(db, ops)
    assert (refreshed.created, refreshed.updated) == (0, 1)
    thomas = items_by_tumor(ops)[2]
    assert thomas.edit_ids == ("N0441", "N2001") and thomas.priority == 1
    assert thomas.due_date == (created + timedelta(days=PRIORITY_DAYS[1])).isoformat()   # brought forward
    set_due_date(REGISTRAR, ops, thomas.work_item_id, "2099-01-01")                   # a registrar's extension ...
    add_failures(db, [(2, THOMAS_H2, "N3000", "error", "grade", "grade=9", "Grade: not a valid code")], run_id=3)
    assert sync_worklist(db, ops).updated == 1
    assert items_by_tumor(ops)[2].due_date == "2099-01-01"                            # ... survives a refresh
    for edit in ("N0441", "N2001", "N3000"):
        clear_failures(db, edit)
    for review in pending_pairs(ops):
        decide(ops, REGISTRAR, review.review_id, "different", "checked")
    settled = sync_worklist(db, ops)
    assert (settled.resolved, settled.unfinished) == (4, 0)
    view = work_item(REGISTRAR, ops, thomas.work_item_id)
    assert view.item.status == "resolved" and view.item.closed_at
    assert [(e.to_status, e.actor) for e in view.events] == [("open", SYSTEM), ("open", SYSTEM), ("open", "registrar1"),
                                                            ("open", SYSTEM), ("resolved", SYSTEM)]
    assert "resolved automatically" in (view.events[-1].note or "")
    assert sync_worklist(db, ops).resolved == 0


def test_a_resolved_report_failure_stays_settled_and_a_registry_failure_comes_back(db: Path) -> None:
    add_failures(db, [PAYER])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    first = items_by_tumor(ops)[2]
    resolve_item(REGISTRAR, ops, first.work_item_id, "registry value corrected; the report stays as received")
    assert sync_worklist(db, ops).created == 0            # the report's failure was answered
    assert 2 not in items_by_tumor(ops)
    add_failures(db, [GRADE])
    sync_worklist(db, ops)
    grade = items_by_tumor(ops)[4]
    resolve_item(REGISTRAR, ops, grade.work_item_id, "resolved without correcting")
    assert sync_worklist(db, ops).created == 1                 # the registry tumor's own values still fail
    assert items_by_tumor(ops)[4].work_item_id != grade.work_item_id


def test_transitions_are_recorded_and_audited(db: Path) -> None:
    add_failures(db, [PAYER])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    item_id = items_by_tumor(ops)[2].work_item_id
    with mock.patch.object(accounts, "PASSWORD_HASHER", CHEAP_HASHER):
        accounts.create_user(ops, "registrar2", "registrar", password="a-long-password-1")
        accounts.create_user(ops, "analyst", "researcher", password="a-long-password-1")
    assigned = assign_item(REGISTRAR, ops, item_id, "registrar2")
    assert assigned.assignee == "registrar2" and assigned.status == "open"
    assert set_due_date(REGISTRAR, ops, item_id, "2027-01-15").due_date == "2027-01-15"
    queried = query_item(REGISTRAR, ops, item_id, "Please confirm the primary payer at diagnosis.")
    assert (queried.status, queried.query_text) == ("queried", "Please confirm the primary payer at diagnosis.")
    answered = answer_item(REGISTRAR, ops, item_id, "Payer is 20 (private insurance).")
    assert (answered.status, answered.answer_text) == ("answered", "Payer is 20 (private insurance).")
    resolved = resolve_item(REGISTRAR, ops, item_id, "corrected to 20")
    assert resolved.status == "resolved" and resolved.closed_at
    reopened = reopen_item(REGISTRAR, ops, item_id, "facility sent a new report")
    assert reopened.status == "open" and reopened.closed_at is None
    history = work_item(REGISTRAR, ops, item_id).events
    assert [(e.from_status, e.to_status, e.actor, e.note) for e in history[1:]] == [
        ("open", "open", "registrar1", "assigned to registrar2"), ("open", "open", "registrar1", "due 2027-01-15"),
        ("open", "queried", "registrar1", "Please confirm the primary payer at diagnosis."),
        ("queried", "answered", "registrar1", "Payer is 20 (private insurance)."),
        ("answered", "resolved", "registrar1", "corrected to 20"),
        ("resolved", "open", "registrar1", "facility sent a new report")]
    audited = [(e.action, e.detail["from"], e.detail["to"]) for e in reversed(events(ops, limit=None))
               if e.action.startswith("worklist-") and e.action != "worklist-sync"]
    assert audited == [("worklist-assign", "open", "open"), ("worklist-due-date", "open", "open"),
                       ("worklist-query", "open", "queried"), ("worklist-answer", "queried", "answered"),
                       ("worklist-resolve", "answered", "resolved"), ("worklist-reopen", "resolved", "open")]
    assert verify_chain(ops).ok
    with pytest.raises(InvalidRequest, match="not the user name of an active registrar"):
        assign_item(REGISTRAR, ops, item_id, "analyst")
    with pytest.raises(InvalidRequest, match="not a date"):
        set_due_date(REGISTRAR, ops, item_id, "next week")


@pytest.mark.parametrize(("steps", "illegal", "message"), [
    ((), lambda ops, i: answer_item(REGISTRAR, ops, i, "yes"), "is open: it cannot be moved to answered"),
    ((), lambda ops, i: reopen_item(REGISTRAR, ops, i, "again"), "is open: it cannot be moved to open"),
    (("resolve",), lambda ops, i: query_item(REGISTRAR, ops, i, "?"), "is resolved: it cannot be moved to queried"),
    (("resolve",), lambda ops, i: assign_item(REGISTRAR, ops, i, "registrar1"), "reopen it first"),
    (("query",), lambda ops, i: query_item(REGISTRAR, ops, i, "again?"), "is queried: it cannot be moved"),
    ((), lambda ops, i: query_item(REGISTRAR, ops, i, "  "), "question to the facility is required"),
    ((), lambda ops, i: resolve_item(REGISTRAR, ops, i, ""), "resolution note is required"),
], ids=["answer-open", "reopen-open", "query-resolved", "assign-resolved", "query-queried", "empty-question",
        "empty-note"])
def test_illegal_transitions_are_refused_and_change_nothing(db: Path, steps: tuple[str, ...], illegal: object,
                                                             message: str) -> None:
    add_failures(db, [PAYER])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    item_id = items_by_tumor(ops)[2].work_item_id
    for step in steps:
        (resolve_item if step == "resolve" else query_item)(REGISTRAR, ops, item_id, "done")
    before = work_item(REGISTRAR, ops, item_id)
    with pytest.raises(InvalidRequest, match=message):
        illegal(ops, item_id)                                                    # type: ignore[operator]
    after = work_item(REGISTRAR, ops, item_id)
    assert after.item == before.item and after.events == before.events


def test_reopening_beside_an_unfinished_item_of_the_same_tumor_is_refused(db: Path) -> None:
    add_failures(db, [GRADE])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    first = items_by_tumor(ops)[4].work_item_id
    resolve_item(REGISTRAR, ops, first, "resend")
    sync_worklist(db, ops)                                     # the registry tumor still fails: a new item
    with pytest.raises(InvalidRequest, match="already has work item"):
        reopen_item(REGISTRAR, ops, first, "again")


def test_closing_as_valid_sets_the_override_on_the_tumor_and_stays_closed(db: Path) -> None:
    add_failures(db, [PAYER])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    item_id = items_by_tumor(ops)[2].work_item_id
    query_item(REGISTRAR, ops, item_id, "Is payer 77 right?")
    closed = close_valid(REGISTRAR, db, ops, item_id, "overRideSiteType", "confirmed by the facility")
    assert (closed.status, closed.override_flag) == ("closed-valid", "overRideSiteType") and closed.closed_at
    [kept] = corrections_of(REGISTRAR, db, tumor_id=2)
    assert (kept.item, kept.new_value, kept.work_item_id, kept.reason) == (
        "overRideSiteType", "1", item_id, "confirmed by the facility")
    assert [e.action for e in events(ops, limit=3)][:2] == ["worklist-close-valid", "correction"]
    assert work_item(REGISTRAR, ops, item_id).events[-1].note == "overRideSiteType: confirmed by the facility"
    assert sync_worklist(db, ops).created == 0                # the same edit still failing: stays closed
    add_failures(db, [SITE_MORPH], run_id=2)                  # another edit fails: a new item
    assert sync_worklist(db, ops).created == 1
    # (closing ran the edits again on the tumor: the real payer code passes, so only the new edit is listed)
    assert items_by_tumor(ops)[2].edit_ids == ("N0441",)


@pytest.mark.parametrize(("flag", "reason", "message"), [
    ("primarySite", "valid", "not a NAACCR override flag"), ("overRideSiteType", " ", "why the values are valid"),
    ("overRideNoSuchFlag", "valid", "overRideNoSuchFlag")])
def test_closing_as_valid_needs_an_override_flag_and_a_reason(db: Path, flag: str, reason: str, message: str) -> None:
    add_failures(db, [PAYER])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    item_id = items_by_tumor(ops)[2].work_item_id
    with pytest.raises(InvalidRequest, match=message):
        close_valid(REGISTRAR, db, ops, item_id, flag, reason)
    assert work_item(REGISTRAR, ops, item_id).item.status == "open"
    assert corrections_of(REGISTRAR, db, tumor_id=2) == []
    resolve_item(REGISTRAR, ops, item_id, "done")
    with pytest.raises(InvalidRequest, match="is resolved: it cannot be moved to closed-valid"):
        close_valid(REGISTRAR, db, ops, item_id, "overRideSiteType", "valid")


def test_unknown_items_and_filters_are_clear_errors(db: Path) -> None:
    ops = open_operational_store(db)
    with pytest.raises(InvalidRequest, match="there is no work item 99"):
        work_item(REGISTRAR, ops, 99)
    with pytest.raises(InvalidRequest, match="unknown status 'done'"):
        list_items(REGISTRAR, ops, status="done")


def test_filters_select_items(db: Path) -> None:
    add_failures(db, [SITE_MORPH, PAYER, GRADE])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    assert [i.registry_tumor_id for i in list_items(REGISTRAR, ops, edit_id="N2001")] == [2]
    assert sorted(i.registry_tumor_id for i in list_items(REGISTRAR, ops, facility="2000000002")) == [4]
    assert list_items(REGISTRAR, ops, priority=2) == []
    assign_item(REGISTRAR, ops, items_by_tumor(ops)[4].work_item_id, "registrar1")
    assert [i.registry_tumor_id for i in list_items(REGISTRAR, ops, assignee="registrar1")] == [4]
    listed = events(ops, action="record-view")[0]
    assert listed.detail["purpose"] == "worklist" and listed.detail["filters"]["assignee"] == "registrar1"


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_only_registrars_work_the_worklist(db: Path, role: str) -> None:
    ops = open_operational_store(db)
    with pytest.raises(AccessDenied):
        list_items(Principal("someone", role), ops)
    with pytest.raises(AccessDenied):
        worklist_counts(Principal("someone", role), ops)
