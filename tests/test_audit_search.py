"""Searching the audit trail: by user, action, time and record (a whole id in the places each event names
it), the administrator's door to it (refused to everyone else) and its CSV export, itself recorded."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from registry.audit import events, record_download, record_event
from registry.audit_search import RecordRef, event_actions, parse_record, search_events
from registry.audit_trail import (
    audit_trail,
    audit_trail_actions,
    audit_trail_csv,
    readable_detail,
    trail_table,
    verify_audit_trail,
)
from registry.errors import AccessDenied, InvalidRequest
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal

REGISTRAR = Principal("reg", "registrar")
ADMIN = Principal("boss", "administrator")


@pytest.fixture
def ops(db_path: Path) -> OperationalStore:
    """A trail naming patients 12 and 123, tumors 12 and 34, work item 5, review 7, in the shapes the
    application writes them."""
    store = open_operational_store(db_path)
    record_event(store, REGISTRAR, "record-view", purpose="record", patient_id=12, tumors=[34, 35], reports=2)  # 1
    record_event(store, REGISTRAR, "record-view", purpose="record", patient_id=123, tumors=[12], reports=1)     # 2
    record_event(store, REGISTRAR, "find-patient", searched=["name_last"], candidates=[123, 12])               # 3
    record_event(store, REGISTRAR, "record-view", purpose="worklist", work_item_id=5, registry_tumor_id=34)    # 4
    record_event(store, REGISTRAR, "record-view", purpose="worklist", work_items=[5, 51], filters={"status": None})
    record_event(store, REGISTRAR, "record-view", purpose="link-review", review_id=7, records=[12, 123])       # 6
    record_event(store, REGISTRAR, "link-review-decided", review_id=7, kind="patient", left="a", right="b")    # 7
    record_event(store, REGISTRAR, "correction", correction_id=1, entity="patient", entity_id=12, item="sex",
                 work_item_id=None)                                                                          # 8
    record_event(store, REGISTRAR, "correction", correction_id=2, entity="tumor", entity_id=12, item="grade",
                 work_item_id=5)                                                                             # 9
    record_event(store, Principal("ana", "researcher"), "access-refused", action="record-view", patient_id="12",
                 tumor_id=None)                                                                              # 10
    record_event(store, REGISTRAR, "export", document="query-letter", work_items=[50], rows=1)                 # 11
    return store


def seqs(found: list) -> list[int]:
    return [e.seq for e in found]


@pytest.mark.parametrize(("record", "expected"), [
    (RecordRef("patient", 12), [10, 8, 3, 1]),
    (RecordRef("patient", 123), [3, 2]),
    (RecordRef("patient", 1), []),
    (RecordRef("tumor", 12), [9, 2]),
    (RecordRef("tumor", 34), [4, 1]),
    (RecordRef("tumor", 3), []),
    (RecordRef("work-item", 5), [9, 5, 4]),
    (RecordRef("work-item", 50), [11]),
    (RecordRef("review", 7), [7, 6]),
])
def test_a_record_matches_whole_ids_where_events_name_it(ops: OperationalStore, record: RecordRef,
                                                         expected: list[int]) -> None:
    assert seqs(search_events(ops, record=record)) == expected


def test_user_action_and_time_filter_alone_and_together(ops: OperationalStore) -> None:
    everything = search_events(ops)
    assert seqs(everything) == list(range(len(everything), 0, -1))
    assert seqs(search_events(ops, user="ANA")) == [10]
    assert seqs(search_events(ops, action="correction")) == [9, 8]
    assert seqs(search_events(ops, action="record-view", record=RecordRef("patient", 12))) == [1]
    assert seqs(search_events(ops, user="reg", action="correction", record=RecordRef("tumor", 12))) == [9]
    middle = everything[-4].occurred_at        # the 4th event's time: since is inclusive, until exclusive
    assert seqs(search_events(ops, until=middle))[-3:] == [3, 2, 1] and 4 not in seqs(search_events(ops, until=middle))
    assert seqs(search_events(ops, since=middle))[-1] == 4
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert search_events(ops, since=later) == []
    assert len(search_events(ops, until=later)) == len(everything)
    assert seqs(search_events(ops, limit=2)) == [len(everything), len(everything) - 1]


def test_record_references_are_checked(ops: OperationalStore) -> None:
    assert parse_record("patient:12") == RecordRef("patient", 12)
    assert parse_record(" Tumor 34 ") == RecordRef("tumor", 34)
    assert parse_record("work-item:5") == RecordRef("work-item", 5)
    for bad in ("12", "patient:", "patient:1x", "person:3", "tumor:-1"):
        with pytest.raises(InvalidRequest):
            parse_record(bad)


def test_actions_present_and_downloads_recorded(ops: OperationalStore) -> None:
    event = record_download(ops, REGISTRAR, page="trends", document="incidence-trend", file="trend.csv",
                            format="csv", rows=10)
    assert (event.action, event.user) == ("download", "reg")
    assert event.detail == {"page": "trends", "document": "incidence-trend", "file": "trend.csv", "format": "csv",
                            "rows": 10}
    assert event_actions(ops) == sorted({"record-view", "find-patient", "link-review-decided", "correction",
                                         "access-refused", "export", "download"})


@pytest.mark.parametrize("role", ["registrar", "researcher"])
def test_only_administrators_search_verify_or_export_the_trail(ops: OperationalStore, role: str) -> None:
    other = Principal("someone", role)
    for call in (lambda: audit_trail(other, ops), lambda: audit_trail_actions(other, ops),
                 lambda: verify_audit_trail(other, ops), lambda: audit_trail_csv(other, ops)):
        with pytest.raises(AccessDenied):
            call()
    assert events(ops, action="export", user="someone") == []


def test_the_administrator_searches_verifies_and_exports_a_search(ops: OperationalStore) -> None:
    found = audit_trail(ADMIN, ops, record=RecordRef("patient", 12), action="record-view")
    assert seqs(found) == [1]
    assert "export" in audit_trail_actions(ADMIN, ops)
    assert verify_audit_trail(ADMIN, ops).ok
    data = audit_trail_csv(ADMIN, ops, record=RecordRef("patient", 12), since="2000-01-01")
    table = pd.read_csv(io.BytesIO(data), comment="#")
    assert list(table.columns) == ["seq", "occurred_at", "user", "role", "action", "detail"]
    assert list(table["seq"]) == [10, 8, 3, 1]
    assert '"patient_id":12' in table.loc[3, "detail"]
    assert data.decode().startswith('# search: {"action": null, "limit": 1000, "record": "patient 12"')
    exported = events(ops, action="export", user="boss")[0]
    assert exported.detail == {"document": "audit-trail", "format": "csv", "rows": 4, "seqs": [1, 10],
                               "search": {"user": None, "action": None, "record": "patient 12",
                                          "since": "2000-01-01", "until": None, "limit": 1000}}


def test_details_read_as_words(ops: OperationalStore) -> None:
    assert readable_detail({"patient_id": 12, "tumors": [34, 35], "filters": {"status": None}, "reason": None,
                            "candidates": []}) == \
        'patient id 12; tumors 34, 35; filters {"status": null}; reason -; candidates none'
    table = trail_table(search_events(ops, record=RecordRef("review", 7)))
    assert list(table.columns) == ["seq", "occurred_at", "user", "role", "action", "detail"]
    assert table.loc[0, "detail"] == "kind patient; left a; review id 7; right b"


def test_a_detail_edited_into_a_non_object_is_still_listed(ops: OperationalStore) -> None:
    import sqlite3

    con = sqlite3.connect(ops.path, isolation_level=None)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{name}"')
    con.execute("UPDATE audit_event SET detail = '[12]' WHERE seq = 1")
    con.close()
    assert search_events(ops, action="record-view")[-1].detail == {"unreadable": "[12]"}
    assert 1 not in seqs(search_events(ops, record=RecordRef("patient", 12)))
    assert not verify_audit_trail(ADMIN, ops).ok


def test_the_command_searches_by_record_and_time(ops: OperationalStore) -> None:
    from typer.testing import CliRunner

    from registry_cli.app import app

    runner = CliRunner(env={"COLUMNS": "250"})
    db = ops.path.with_name("registry.duckdb")
    shown = runner.invoke(app, ["audit", "show", "--record", "patient:123", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if "│" in line and line.split("│")[1].strip().isdigit()]
    assert [int(line.split("│")[1]) for line in rows] == [3, 2]
    none = runner.invoke(app, ["audit", "show", "--until", "2000-01-01", "--db", str(db)])
    assert none.exit_code == 0 and "record-view" not in none.output
    bad = runner.invoke(app, ["audit", "show", "--record", "person:3", "--db", str(db)])
    assert bad.exit_code == 2 and "unknown record kind 'person'" in bad.output
