"""The audit trail: append-only in SQLite, hash-chained, and verifiable after an attacker with file access
edits, deletes, reorders or rewrites events; concurrent writers keep the chain intact."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from registry import accounts
from registry.audit import (
    GENESIS_HASH,
    append_event,
    chain_head,
    event_hash,
    event_mac,
    events,
    parse_anchor,
    record_event,
    verify_chain,
)
from registry.audit_seal import Head, head_path, key_path, read_head, read_key, write_head
from registry.operational import OperationalStore, migrate, ops_path_for
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry_cli.app import app
from tests.conftest import plain_main

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
    key = read_key(ops.path)
    assert key is not None and event_mac(key, *args) == event.hash       # type: ignore[arg-type]
    assert event_hash(*args) != event.hash                       # type: ignore[arg-type]  # keyed, not plain
    assert event_mac(bytes(32), *args) != event.hash             # type: ignore[arg-type]  # another key
    for i in range(len(args)):
        changed = list(args)
        changed[i] = changed[i] + 1 if isinstance(changed[i], int) else str(changed[i]) + "x"
        assert event_mac(key, *changed) != event.hash            # type: ignore[arg-type]


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
    assert result.message.splitlines()[:2] == ["audit trail TAMPERED: 2 problems", f"  at seq 3: {result.reason}"]
    assert result.message.splitlines()[2] == "  the append-only trigger audit_event_no_update was removed"


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
    # Someone holding the key swaps the contents of events 2 and 3 and recomputes their own MACs with the
    # seq they now sit at, keeping each event's original prev_hash: the links no longer match.
    key = read_key(ops.path)
    assert key is not None
    rows = {r[0]: r for r in attacker(ops).execute("SELECT * FROM audit_event")}
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_update")
    for seq, source in ((2, rows[3]), (3, rows[2])):
        _, occurred_at, user, role, action, detail, prev_hash, _ = source
        con.execute("UPDATE audit_event SET occurred_at = ?, user_name = ?, role = ?, action = ?, detail = ?, "
                    "prev_hash = ?, hash = ? WHERE seq = ?",
                    [occurred_at, user, role, action, detail, prev_hash,
                     event_mac(key, seq, occurred_at, user, role, action, detail, prev_hash), seq])
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
    truncated = verify_chain(ops, anchor=anchor)
    assert not truncated.ok and "no longer in the chain" in str(truncated.message)


def test_anchor_detects_a_whole_chain_rewrite_even_by_a_key_holder(ops):
    anchor = chain_head(ops)
    # Someone holding the key edits event 2, recomputes every MAC from there on, moves the high-water
    # mark along and restores the triggers: only an anchor kept elsewhere shows it.
    key = read_key(ops.path)
    assert key is not None
    con = attacker(ops)
    triggers = [_trigger_sql(ops, t) for t in ("audit_event_no_update",)]
    con.execute("DROP TRIGGER audit_event_no_update")
    rows = list(con.execute("SELECT * FROM audit_event ORDER BY seq"))
    prev = GENESIS_HASH
    for seq, occurred_at, user, role, action, detail, _, _ in rows:
        if seq == 2:
            detail = '{"rows":0}'
        digest = event_mac(key, seq, occurred_at, user, role, action, detail, prev)
        con.execute("UPDATE audit_event SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    [detail, prev, digest, seq])
        prev = digest
    for sql in triggers:
        con.executescript(sql)
    con.close()
    write_head(ops.path, key, Head(1, 5, prev))
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
    assert read_head(ops.path, read_key(ops.path) or b"") == Head(1, *chain_head(ops))   # sealed up to the end


def _append_many(path: str, who: str, count: int) -> int:
    """Worker process: append `count` events to the store at path."""
    ops = OperationalStore(Path(path))
    for i in range(count):
        record_event(ops, who, "export", rows=i)
    return count


def test_concurrent_processes_keep_the_chain_valid(db_path):
    ops = open_operational_store(db_path)
    context = multiprocessing.get_context("spawn")
    with plain_main(), ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        done = list(pool.map(_append_many, [str(ops.path)] * 3, ["p1", "p2", "p3"], [30] * 3))
    assert done == [30, 30, 30]
    result = verify_chain(ops)
    assert result.ok and result.events == 90
    assert read_head(ops.path, read_key(ops.path) or b"") == Head(1, *chain_head(ops))
    assert {e.user for e in events(ops, limit=None)} == {"p1", "p2", "p3"}


# ---- tampering by someone who can write the file but holds no audit key ---------------------------------

def _replace_trigger(con: sqlite3.Connection, name: str, sql: str) -> None:
    con.execute(f"DROP TRIGGER {name}")
    con.execute(sql)


def test_truncated_tail_is_detected_without_an_anchor(ops):
    con = attacker(ops)
    restore = _trigger_sql(ops, "audit_event_no_delete")
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DELETE FROM audit_event WHERE seq >= 4")
    con.executescript(restore)
    con.close()
    result = verify_chain(ops)
    assert not result.ok
    assert any("4..5" in problem.reason and "high-water mark" in problem.reason for problem in result.problems)


def test_rewritten_and_rehashed_chain_is_detected_without_an_anchor(ops):
    # Everything from event 2 on is rewritten with freshly computed SHA-256 hashes, triggers restored.
    con = attacker(ops)
    restore = _trigger_sql(ops, "audit_event_no_update")
    con.execute("DROP TRIGGER audit_event_no_update")
    prev = con.execute("SELECT hash FROM audit_event WHERE seq = 1").fetchone()[0]
    for seq, occurred_at, user, role, action, detail, _, _ in list(
            con.execute("SELECT * FROM audit_event WHERE seq >= 2 ORDER BY seq")):
        detail = '{"rows":0}' if seq == 3 else detail
        digest = event_hash(seq, occurred_at, user, role, action, detail, prev)
        con.execute("UPDATE audit_event SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    [detail, prev, digest, seq])
        prev = digest
    con.executescript(restore)
    con.close()
    result = verify_chain(ops)
    assert not result.ok and result.first_bad_seq == 2
    assert {p.seq for p in result.problems} == {2, 3, 4, 5}


def test_triggers_replaced_by_empty_ones_are_detected(ops):
    con = attacker(ops)
    _replace_trigger(con, "audit_event_no_delete",
                     "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN SELECT 1; END")
    _replace_trigger(con, "audit_event_extends_chain",
                     "CREATE TRIGGER audit_event_extends_chain BEFORE INSERT ON audit_event WHEN 0 "
                     "BEGIN SELECT RAISE(ABORT, 'an audit event must extend the chain'); END")
    con.execute("CREATE TRIGGER audit_event_shadow AFTER INSERT ON audit_event BEGIN SELECT 1; END")
    con.close()
    result = verify_chain(ops)
    assert not result.ok
    reasons = " ".join(p.reason for p in result.problems)
    assert "audit_event_no_delete" in reasons and "audit_event_extends_chain" in reasons
    assert "audit_event_shadow" in reasons and "audit_event_no_update" not in reasons


def test_account_changed_in_sql_is_detected(ops, monkeypatch):
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    accounts.create_user(ops, "Rita", "researcher", password="a long enough password")
    accounts.create_user(ops, "gus", "registrar", password="a long enough password", grants=["lds"])
    assert verify_chain(ops).ok
    con = attacker(ops)
    con.execute("UPDATE account SET role = 'administrator' WHERE user_key = 'rita'")
    con.execute("UPDATE account SET grants = '[]', disabled = 1 WHERE user_key = 'gus'")
    con.close()
    result = verify_chain(ops)
    assert not result.ok
    reasons = {p.reason for p in result.problems}
    assert any("'Rita'" in r and "role" in r and "administrator" in r for r in reasons)
    assert any("'gus'" in r and "grants" in r and "disabled" in r for r in reasons)


# ---- stores from before keyed chains, the seal files, size -------------------------------------------------

def _old_format_store(db_path: Path) -> OperationalStore:
    """A store as written before chains were keyed: plain SHA-256 hashes, an account, no key files."""
    store = OperationalStore(ops_path_for(db_path))
    store.path.parent.mkdir(parents=True, exist_ok=True)
    migrate(store)
    with store.connect() as con:
        con.execute("INSERT INTO account (user_name, user_key, role, password_hash, created_at, updated_at) "
                    "VALUES ('Olga', 'olga', 'registrar', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA', "
                    "'2025-01-01', '2025-01-01')")
        prev = GENESIS_HASH
        for seq, (user, action, detail) in enumerate(
                [("system", "user-add", '{"role":"registrar","target":"Olga"}'),
                 ("Olga", "sign-in", '{"source":"dashboard"}'), ("Olga", "record-view", '{"patient_id":7}')], 1):
            occurred_at = f"2025-01-0{seq}T09:00:00.000000+00:00"
            digest = event_hash(seq, occurred_at, user, "", action, detail, prev)
            con.execute("INSERT INTO audit_event VALUES (?, ?, ?, '', ?, ?, ?, ?)",
                        [seq, occurred_at, user, action, detail, prev, digest])
            prev = digest
    return store


def test_stores_from_before_keyed_chains_still_verify_and_are_keyed_from_then_on(db_path):
    old = _old_format_store(db_path)
    assert not key_path(old.path).exists()
    ops = open_operational_store(db_path)                        # the upgrade: keys the trail from seq 4 on
    result = verify_chain(ops)
    assert result.ok and result.keyed_from == 4 and result.events == 4, result.message
    snapshot = events(ops, limit=1)[0]
    assert (snapshot.seq, snapshot.action, snapshot.detail["account"]["role"]) == (4, "account-snapshot", "registrar")
    new = record_event(ops, "Olga", "search", rows=3)
    assert new.hash != event_hash(new.seq, new.occurred_at, "Olga", "", "search", '{"rows":3}', new.prev_hash)
    assert verify_chain(ops).ok
    cli = CliRunner().invoke(app, ["audit", "verify", "--db", str(db_path)])
    assert cli.exit_code == 0 and "intact: 5 events, keyed from seq 4" in cli.output

    # The old events are pinned by the first keyed one: rewriting them with plain hashes breaks it.
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_update")
    prev = con.execute("SELECT hash FROM audit_event WHERE seq = 1").fetchone()[0]
    for seq, occurred_at, user, role, action, detail, _, _ in list(
            con.execute("SELECT * FROM audit_event WHERE seq IN (2, 3) ORDER BY seq")):
        detail = '{"patient_id":8}' if seq == 3 else detail
        digest = event_hash(seq, occurred_at, user, role, action, detail, prev)
        con.execute("UPDATE audit_event SET detail = ?, hash = ? WHERE seq = ?", [detail, digest, seq])
        prev = digest
    con.execute("UPDATE audit_event SET prev_hash = ? WHERE seq = 4", [prev])
    con.close()
    assert verify_chain(ops).first_bad_seq == 4


def test_missing_or_forged_seal_files_are_reported(ops):
    head = read_head(ops.path, read_key(ops.path) or b"")
    assert head == Head(1, 5, chain_head(ops)[1])
    forged = json.loads(head_path(ops.path).read_text())
    head_path(ops.path).write_text(json.dumps({**forged, "seq": 3}))
    assert "does not carry a valid MAC" in str(verify_chain(ops).reason)
    head_path(ops.path).unlink()
    assert "high-water mark beside the store is missing" in str(verify_chain(ops).reason)
    record_event(ops, "ana", "search")                            # a missing mark is not recreated
    assert not head_path(ops.path).exists()

    key_path(ops.path).unlink()
    assert "audit key" in str(verify_chain(ops).reason) and not verify_chain(ops).ok
    reopened = open_operational_store(ops.path.parent / "registry.duckdb")   # a new key: old events fail
    result = verify_chain(reopened)
    assert not result.ok and [p.seq for p in result.problems] == [1, 2, 3, 4, 5, 6]


def test_a_rolled_back_event_does_not_move_the_high_water_mark(ops):
    with pytest.raises(RuntimeError), ops.write() as con:
        append_event(con, datetime.now(UTC), "ana", "", "export", {"rows": 1})
        raise RuntimeError("the export failed")
    key = read_key(ops.path)
    assert key is not None and read_head(ops.path, key) == Head(1, *chain_head(ops))
    record_event(ops, "ana", "search")
    assert read_head(ops.path, key) == Head(1, 6, chain_head(ops)[1]) and verify_chain(ops).ok


def test_the_mark_does_not_advance_over_a_truncation(ops):
    restore = _trigger_sql(ops, "audit_event_no_delete")
    con = attacker(ops)
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DELETE FROM audit_event WHERE seq >= 4")
    con.executescript(restore)
    con.close()
    for i in range(3):                                            # new events pass the old high-water mark
        record_event(ops, "ana", "search", n=i)
    key = read_key(ops.path)
    assert key is not None and read_head(ops.path, key).seq == 5  # type: ignore[union-attr]
    result = verify_chain(ops)
    assert not result.ok and any(p.seq == 5 and "high-water mark recorded" in p.reason for p in result.problems)


def test_verifying_thousands_of_events_is_quick(db_path):
    ops = open_operational_store(db_path)
    moment = datetime.now(UTC)
    with ops.write() as con:
        for i in range(5_000):
            append_event(con, moment, f"user{i % 7}", "researcher", "search", {"definition": {"site": "C50"}, "n": i})
    started = time.perf_counter()
    result = verify_chain(ops)
    elapsed = time.perf_counter() - started
    assert result.ok and result.events == 5_000 and elapsed < 2.0, elapsed

    con = attacker(ops)                                           # every event rewritten: all listed, shown capped
    con.execute("DROP TRIGGER audit_event_no_update")
    con.execute("UPDATE audit_event SET user_name = 'x'")
    con.close()
    tampered = verify_chain(ops)
    assert len(tampered.problems) == 5_001 and "... and 4,951 more" in tampered.message
