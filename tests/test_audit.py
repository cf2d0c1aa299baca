"""The audit trail: append-only in SQLite, hash-chained, and verifiable after an attacker with file access
edits, deletes, reorders or rewrites events; concurrent writers keep the chain intact."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from registry.audit import (
    GENESIS_HASH,
    append_event,
    chain_head,
    event_hash,
    events,
    parse_anchor,
    record_event,
    verify_chain,
)
from registry.operational import OperationalStore, open_operational_store
from registry.principal import Principal

ANA = Principal("ana", "researcher", frozenset({"lds"}))


@pytest.fixture
def ops(db_path: Path) -> OperationalStore:
    store = open_operational_store(db_path)
    record_event(store, "ana", "sign-in", source="dashboard")
    record_event(store, ANA, "search", definition={"site": "C50", "years": [2019, 2020]}, rows=12)
    record_event(store, ANA, "export", definition={"site": "C50"}, rows=120, file="cohort.csv")
    record_event(store, Principal("reg", "registrar"), "record-view", patient_id=42)
    record_event(store, "reg", "sign-out")
    return store


def attacker(ops: OperationalStore) -> sqlite3.Connection:
    """A raw connection, as someone with write access to the file would open it."""
    return sqlite3.connect(ops.path, isolation_level=None)


def test_events_are_recorded_chained_and_filtered(ops):
    newest = events(ops)
    assert [e.seq for e in newest] == [5, 4, 3, 2, 1]
    export = events(ops, action="export")[0]
    assert (export.user, export.role, export.detail) == (
        "ana", "researcher", {"definition": {"site": "C50"}, "rows": 120, "file": "cohort.csv"})
    assert newest[-1].prev_hash == GENESIS_HASH
    assert all(newer.prev_hash == older.hash for newer, older in zip(newest, newest[1:], strict=False))
    assert [e.action for e in events(ops, user="ANA")] == ["export", "search", "sign-in"]
    assert len(events(ops, limit=2)) == 2
    assert events(ops, since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(events(ops, since="2000-01-01")) == 5
    result = verify_chain(ops)
    assert result.ok and bool(result) and result.events == 5 and result.head_seq == 5
    assert (result.head_seq, result.head_hash) == chain_head(ops)
    assert "intact: 5 events" in result.message


def test_hash_covers_every_field_and_the_previous_hash(ops):
    event = events(ops, action="search")[0]
    detail_text = '{"definition":{"site":"C50","years":[2019,2020]},"rows":12}'
    args = [event.seq, event.occurred_at, event.user, event.role, event.action, detail_text, event.prev_hash]
    assert event_hash(*args) == event.hash                       # type: ignore[arg-type]
    for i in range(len(args)):
        changed = list(args)
        changed[i] = changed[i] + 1 if isinstance(changed[i], int) else str(changed[i]) + "x"
        assert event_hash(*changed) != event.hash                # type: ignore[arg-type]


def test_sqlite_refuses_update_delete_and_out_of_chain_inserts(ops):
    con = attacker(ops)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit_event SET user_name = 'nobody' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_event WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="extend the chain"):
        con.execute("INSERT INTO audit_event VALUES (9, '2026-01-01', 'x', '', 'export', '{}', ?, 'h')",
                    [chain_head(ops)[1]])
    with pytest.raises(sqlite3.DatabaseError, match="extend the chain"):
        con.execute("INSERT INTO audit_event VALUES (6, '2026-01-01', 'x', '', 'export', '{}', ?, 'h')",
                    [GENESIS_HASH])
    con.close()
    assert verify_chain(ops).ok


def test_verify_detects_an_edited_event(ops):
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_update")
    con.execute("UPDATE audit_event SET detail = json_set(detail, '$.rows', 1) WHERE seq = 3")
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq == 3 and "edited" in str(result.reason)
    assert "TAMPERED at seq 3" in result.message


def test_verify_detects_a_deleted_event(ops):
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DELETE FROM audit_event WHERE seq = 3")
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq == 4 and "missing" in str(result.reason)


def test_verify_detects_a_deleted_event_with_renumbering(ops):
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DROP TRIGGER audit_event_no_update")
    con.execute("DELETE FROM audit_event WHERE seq = 2")
    con.execute("UPDATE audit_event SET seq = seq - 1 WHERE seq > 2")
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq == 2


def test_verify_detects_a_deleted_first_event(ops):
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DELETE FROM audit_event WHERE seq = 1")
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq == 2 and "first event" in str(result.reason)


def test_verify_detects_reordered_events(ops):
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_update")
    con.execute("UPDATE audit_event SET seq = -seq WHERE seq IN (2, 3)")
    con.execute("UPDATE audit_event SET seq = 3 WHERE seq = -2")
    con.execute("UPDATE audit_event SET seq = 2 WHERE seq = -3")
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq == 2


def test_verify_detects_reordering_that_recomputes_each_hash_but_not_the_links(ops):
    # The attacker swaps the contents of events 2 and 3 and recomputes their own hashes with the seq
    # they now sit at, keeping each event's original prev_hash: the links no longer match.
    rows = {r[0]: r for r in attacker(ops).execute("SELECT * FROM audit_event")}
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_update")
    for seq, source in ((2, rows[3]), (3, rows[2])):
        _, occurred_at, user, role, action, detail, prev_hash, _ = source
        con.execute("UPDATE audit_event SET occurred_at = ?, user_name = ?, role = ?, action = ?, detail = ?, "
                    "prev_hash = ?, hash = ? WHERE seq = ?",
                    [occurred_at, user, role, action, detail, prev_hash,
                     event_hash(seq, occurred_at, user, role, action, detail, prev_hash), seq])
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq == 2 and "reordered" in str(result.reason)


def test_dropped_triggers_alone_are_reported(ops):
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq is None and "audit_event_no_delete" in str(result.reason)


def test_anchor_detects_truncation(ops):
    anchor = chain_head(ops)
    assert parse_anchor(f"{anchor[0]}:{anchor[1]}") == anchor
    with pytest.raises(ValueError):
        parse_anchor("5:abc")
    record_event(ops, "ana", "sign-in", source="dashboard")
    assert verify_chain(ops, anchor=anchor).ok                  # later events keep the anchor valid

    # Truncation: deleting the newest events leaves a consistent chain, caught only by the anchor.
    restore = _trigger_sql(ops, "audit_event_no_delete")
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DELETE FROM audit_event WHERE seq >= 5")
    con.executescript(restore)
    con.close()
    assert verify_chain(ops).ok
    truncated = verify_chain(ops, anchor=anchor)
    assert not truncated.ok and "no longer in the chain" in str(truncated.reason)


def test_anchor_detects_a_whole_chain_rewrite(ops):
    anchor = chain_head(ops)
    # The attacker edits event 2 and recomputes every hash from there on, then restores the triggers.
    con = attacker(ops)
    triggers = [_trigger_sql(ops, t) for t in ("audit_event_no_update",)]
    con.execute("DROP TRIGGER audit_event_no_update")
    rows = list(con.execute("SELECT * FROM audit_event ORDER BY seq"))
    prev = GENESIS_HASH
    for seq, occurred_at, user, role, action, detail, _, _ in rows:
        if seq == 2:
            detail = '{"rows":0}'
        digest = event_hash(seq, occurred_at, user, role, action, detail, prev)
        con.execute("UPDATE audit_event SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    [detail, prev, digest, seq])
        prev = digest
    for sql in triggers:
        con.executescript(sql)
    con.close()
    assert verify_chain(ops).ok                                   # consistent by itself...
    rewritten = verify_chain(ops, anchor=anchor)                  # ...but not with the anchor kept outside
    assert not rewritten.ok and rewritten.first_bad_seq == anchor[0] and "rewritten" in str(rewritten.reason)


def _trigger_sql(ops: OperationalStore, name: str) -> str:
    with ops.connect() as con:
        return str(con.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                               [name]).fetchone()[0]) + ";"


def test_event_and_change_commit_together(ops):
    with pytest.raises(RuntimeError), ops.write() as con:
        append_event(con, datetime.now(UTC), "ana", "", "export", {"rows": 1})
        raise RuntimeError("the export failed")
    assert len(events(ops, limit=None)) == 5 and verify_chain(ops).ok


def test_concurrent_threads_keep_the_chain_valid(db_path):
    ops = open_operational_store(db_path)
    errors: list[BaseException] = []

    def write(who: str) -> None:
        try:
            for i in range(25):
                record_event(ops, who, "search", n=i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"user{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify_chain(ops)
    assert result.ok and result.events == 100


def _append_many(path: str, who: str, count: int) -> int:
    """Worker process: append `count` events to the store at path."""
    ops = OperationalStore(Path(path))
    for i in range(count):
        record_event(ops, who, "export", rows=i)
    return count


def test_concurrent_processes_keep_the_chain_valid(db_path):
    ops = open_operational_store(db_path)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        done = list(pool.map(_append_many, [str(ops.path)] * 3, ["p1", "p2", "p3"], [30] * 3))
    assert done == [30, 30, 30]
    result = verify_chain(ops)
    assert result.ok and result.events == 90
    assert {e.user for e in events(ops, limit=None)} == {"p1", "p2", "p3"}
