"""The audit trail: who did what and when, append-only and tamper-evident.

Each event carries `prev_hash` (the hash of the event before it; 64 zeros for the first) and `hash`, the
SHA-256 of a canonical serialisation of its own fields plus `prev_hash`. Editing, deleting or reordering
an event therefore breaks the chain at that event, and `verify_chain` names the first bad one.

Two layers of protection, because neither is enough alone:
- SQLite triggers refuse UPDATE and DELETE on `audit_event` and any INSERT that does not extend the
  chain. Anyone who can write the file can drop the triggers, though.
- The hash chain makes every change after the fact visible. Someone with file access could still
  rewrite the *whole* chain from the first changed event on; to catch that, keep an anchor outside the
  store: `chain_head` returns the last (seq, hash), `registry audit verify` prints it, and
  `verify_chain(anchor=...)` checks that the event with that sequence number still has that hash.

Actions used so far: sign-in, sign-in-failed, sign-out, password-change, password-reset, user-add,
user-update, user-disable, user-enable, record-view, search, export.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.operational import AUDIT_TRIGGERS, OperationalStore, timestamp
from registry.principal import Principal

GENESIS_HASH = "0" * 64
DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class AuditEvent:
    """One event of the audit trail as stored."""

    seq: int
    occurred_at: str
    user: str
    role: str
    action: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify_chain`: ok, or the first bad sequence number and why."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        """True when the chain is intact."""
        return self.ok

    @property
    def message(self) -> str:
        """One line for people: the verdict, and the chain's head to keep as an anchor."""
        if self.ok:
            return f"audit trail intact: {self.events:,} events, head {self.head_seq}:{self.head_hash}"
        where = f"at seq {self.first_bad_seq}: " if self.first_bad_seq is not None else ""
        return f"audit trail TAMPERED {where}{self.reason}"


def canonical_detail(detail: dict[str, Any]) -> str:
    """The stored JSON text of an event's detail: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(seq: int, occurred_at: str, user: str, role: str, action: str, detail_text: str,
               prev_hash: str) -> str:
    """SHA-256 (hex) over a JSON array of the event's stored fields and the previous hash.

    A JSON array, not a joined string, so no choice of field values can make two events serialise alike.
    """
    canonical = json.dumps([seq, occurred_at, user, role, action, detail_text, prev_hash],
                           separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append_event(con: sqlite3.Connection, moment: datetime, user: str, role: str, action: str,
                 detail: dict[str, Any]) -> AuditEvent:
    """Append one event on a connection that already holds the write lock (BEGIN IMMEDIATE).

    Used by `record_event` and by callers (accounts) that write their change and its event in one
    transaction, so neither lands without the other.
    """
    if not action:
        raise ValueError("an audit event needs an action")
    last = con.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
    seq = (last[0] + 1) if last else 1
    prev_hash = last[1] if last else GENESIS_HASH
    occurred_at = timestamp(moment)
    detail_text = canonical_detail(detail)
    digest = event_hash(seq, occurred_at, user, role, action, detail_text, prev_hash)
    con.execute("INSERT INTO audit_event (seq, occurred_at, user_name, role, action, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, occurred_at, user, role, action, detail_text, prev_hash, digest])
    return AuditEvent(seq, occurred_at, user, role, action, json.loads(detail_text), prev_hash, digest)


def record_event(ops: OperationalStore, who: Principal | str, action: str, /, **detail: Any) -> AuditEvent:
    """Append an event for `who` (a Principal, or a bare user name when nobody is signed in).

    `detail` is what was done, e.g. `definition={...}, rows=120` for an export; values must be
    JSON-serialisable (others are stored as their text). Never pass passwords or hashes.
    """
    user, role = (who.user, who.role) if isinstance(who, Principal) else (str(who), "")
    with ops.write() as con:
        return append_event(con, ops.now(), user, role, action, detail)


def _event(row: sqlite3.Row) -> AuditEvent:
    return AuditEvent(row["seq"], row["occurred_at"], row["user_name"], row["role"], row["action"],
                      json.loads(row["detail"]), row["prev_hash"], row["hash"])


def events(ops: OperationalStore, *, since: datetime | str | None = None, user: str | None = None,
           action: str | None = None, limit: int | None = DEFAULT_LIMIT) -> list[AuditEvent]:
    """The most recent events first, optionally from `since` on, of one user (case-insensitive) or action."""
    since_text = timestamp(since) if isinstance(since, datetime) else since
    with ops.connect() as con:
        rows = con.execute(
            "SELECT * FROM audit_event WHERE (? IS NULL OR occurred_at >= ?) "
            "AND (? IS NULL OR lower(user_name) = lower(?)) AND (? IS NULL OR action = ?) "
            "ORDER BY seq DESC LIMIT ?",
            [since_text, since_text, user, user, action, action, -1 if limit is None else limit]).fetchall()
    return [_event(row) for row in rows]


def chain_head(ops: OperationalStore) -> tuple[int, str]:
    """(seq, hash) of the last event, (0, 64 zeros) when there is none: keep it as an external anchor."""
    with ops.connect() as con:
        row = con.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def parse_anchor(text: str) -> tuple[int, str]:
    """An anchor written as `SEQ:HASH` (what `registry audit verify` prints)."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError(f"an anchor is SEQ:HASH (64 hex digits), not {text!r}")
    return int(seq), digest.lower()


def verify_chain(ops: OperationalStore, *, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Recompute the chain; report the first event that was edited, deleted, inserted or moved.

    Checks, in order, for each event: its sequence number follows the previous one (a gap means a
    deletion), its hash matches its contents (an edit, or a move to another seq), and its prev_hash is
    the previous event's hash (a deletion, insertion or reordering). Then the append-only triggers must
    still exist, and the optional `anchor` (seq, hash) taken earlier must still be in the chain.
    """
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    bad: tuple[int | None, str] | None = None
    anchor_seen = False
    with ops.connect() as con:
        cursor = con.execute("SELECT * FROM audit_event ORDER BY seq")
        for row in cursor:
            seq = row["seq"]
            count += 1
            if seq != expected_seq:
                what = "the first event is missing" if expected_seq == 1 else (
                    f"events {expected_seq}..{seq - 1} are missing" if seq > expected_seq else "duplicate seq")
                bad = (seq, f"{what} (deleted)")
                break
            digest = event_hash(seq, row["occurred_at"], row["user_name"], row["role"], row["action"],
                                row["detail"], row["prev_hash"])
            if digest != row["hash"]:
                bad = (seq, "its contents do not match its hash (the event was edited or moved)")
                break
            if row["prev_hash"] != prev_hash:
                bad = (seq, f"it does not follow event {seq - 1} (an event was deleted, inserted or reordered)")
                break
            if anchor and seq == anchor[0]:
                anchor_seen = True
                if row["hash"] != anchor[1]:
                    bad = (seq, f"its hash differs from the anchor {anchor[0]}:{anchor[1]} (the chain was rewritten)")
                    break
            prev_hash, expected_seq = row["hash"], seq + 1
        triggers = {r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")}
    head_seq = expected_seq - 1
    if bad is None and anchor and anchor[0] > 0 and not anchor_seen:
        bad = (None, f"the anchor's event {anchor[0]} is no longer in the chain (truncated or rewritten)")
    if bad is None and (missing := [t for t in AUDIT_TRIGGERS if t not in triggers]):
        bad = (None, f"the append-only triggers were removed: {', '.join(missing)}")
    if bad is not None:
        return VerifyResult(False, count, head_seq, prev_hash, first_bad_seq=bad[0], reason=bad[1])
    return VerifyResult(True, count, head_seq, prev_hash)
