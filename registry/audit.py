"""The audit trail: who did what and when, append-only and tamper-evident without an anchor.

Each event carries `prev_hash` (the MAC of the event before it; 64 zeros for the first) and `hash`, the
HMAC-SHA-256 under the store's audit key (`registry/audit_seal.py`, a file beside the store, never in it)
of a canonical serialisation of its own fields plus `prev_hash`. Editing, deleting, reordering or
rewriting events therefore breaks the chain, and someone who can write the SQLite file but not read the
key cannot recompute it. Events written before the store was keyed keep their plain SHA-256 and verify
as before; the high-water mark records where keyed events begin.

`verify_chain` reports every problem it finds, each with its sequence number where there is one:
- events whose MAC (or, before the keyed ones, hash) does not match, gaps in the numbering, broken links;
- a trail that ends before its high-water mark (the newest events were deleted) or whose sealed event
  changed; a missing or forged key or high-water mark;
- append-only triggers that are missing, altered (e.g. emptied) or joined by unexpected ones;
- accounts whose row differs from the state their last account event carries (changed by direct SQL),
  accounts without such an event, and accounts deleted; such accounts also cannot sign in
  (`account_matches_chain`).
An anchor `SEQ:HASH` printed by an earlier verify and kept elsewhere still works, and also catches a
rewrite by someone who holds the key.

Actions used so far: sign-in, sign-in-failed, sign-out, password-change, password-change-failed,
password-reset, user-add, user-update, user-disable, user-enable, account-snapshot, record-view, search,
export, download, correction, cohort-definition-open (a user opened another user's saved cohort definition),
access-refused (a request the access table refused: the action asked for). Account
changes carry the resulting account state (`account_state`), never a password or hash.

Data leaving the registry is recorded twice over its path, each once:
- `export`: the registry made a file or document of its data (`registry export naaccr-xml` as
  `console:<os user>`, edit reports, query letters, the audit trail's CSV; cohort exports are `cohort-export`,
  the trial-candidate list `candidate-list-csv`). Detail: `document` (what it is), `format`, `rows` (records or
  lines written), and `file` when written to disk by the registry or the command line.
- `download`: the dashboard handed a file to a browser (`record_download`, once per click). Detail: `page`
  (the dashboard page), `document`, `file` (the name offered), `format` (csv, pdf, zip, json) and `rows`
  (rows of the table or records in the file; null when the file is not a table, e.g. a PDF or definition).

`registry.audit_search` reads the trail: events by user, action, time and record (a registry patient,
registry tumor, work item or link review named in the detail, matched as a whole id), and breach detection's reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from registry.audit_seal import Head, key_path, mac, new_key, read_head, read_key, store_key, write_head
from registry.errors import AuditSealError, InvalidRequest
from registry.operational import (
    AUDIT_TRIGGERS,
    OperationalConnection,
    OperationalStore,
    name_key,
    timestamp,
)
from registry.principal import Principal

GENESIS_HASH = "0" * 64
AccountRow = Mapping[str, Any] | sqlite3.Row   # a row of the account table, as a dict or as SQLite returns it
DEFAULT_LIMIT = 200
SYSTEM = "system"
ACCESS_REFUSED = "access-refused"   # the event of a request the access table refused
EXPORT = "export"                    # the registry wrote its data out as a file or document
DOWNLOAD = "download"                # the dashboard handed a file to a browser
MAX_PROBLEMS_SHOWN = 50


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
class Problem:
    """One sign of tampering: the event's sequence number (None when not about one event) and what is wrong."""

    seq: int | None
    reason: str

    def __str__(self) -> str:
        return f"at seq {self.seq}: {self.reason}" if self.seq is not None else self.reason


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify_chain`: intact, or every problem found, in the order found."""

    events: int
    head_seq: int
    head_hash: str
    problems: tuple[Problem, ...] = ()
    keyed_from: int | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def __bool__(self) -> bool:
        """True when the trail is intact."""
        return self.ok

    @property
    def first_bad_seq(self) -> int | None:
        """The sequence number of the first problem (None when intact or not about one event)."""
        return self.problems[0].seq if self.problems else None

    @property
    def reason(self) -> str | None:
        """What the first problem is, or None when intact."""
        return self.problems[0].reason if self.problems else None

    @property
    def message(self) -> str:
        """For people: the verdict and the chain's head to keep as an anchor, or one line per problem."""
        if self.ok:
            keyed = f", keyed from seq {self.keyed_from}" if self.keyed_from is not None else ""
            return f"audit trail intact: {self.events:,} events{keyed}, head {self.head_seq}:{self.head_hash}"
        count = len(self.problems)
        lines = [f"audit trail TAMPERED: {count} problem{'s' if count > 1 else ''}"]
        lines += [f"  {problem}" for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        if count > MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {count - MAX_PROBLEMS_SHOWN:,} more")
        return "\n".join(lines)


def canonical_detail(detail: dict[str, Any]) -> str:
    """The stored JSON text of an event's detail: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _fields(seq: int, occurred_at: str, user: str, role: str, action: str, detail_text: str,
            prev_hash: str) -> list[Any]:
    """An event's stored fields as a JSON array: no choice of values can make two events serialise alike."""
    return [seq, occurred_at, user, role, action, detail_text, prev_hash]


def event_hash(seq: int, occurred_at: str, user: str, role: str, action: str, detail_text: str,
               prev_hash: str) -> str:
    """SHA-256 (hex) of an event's fields and the previous hash: events written before the store was keyed."""
    canonical = json.dumps(_fields(seq, occurred_at, user, role, action, detail_text, prev_hash),
                           separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def event_mac(key: bytes, seq: int, occurred_at: str, user: str, role: str, action: str, detail_text: str,
              prev_hash: str) -> str:
    """HMAC-SHA-256 (hex) under the audit key of the same serialisation: every event of a keyed store."""
    return mac(key, _fields(seq, occurred_at, user, role, action, detail_text, prev_hash))


def account_state(row: AccountRow) -> dict[str, Any]:
    """What an account event records about the account as it now is: never the password hash, only its
    SHA-256, which tells whether the hash changed and nothing about the password."""
    return {"user": row["user_name"], "user_key": row["user_key"], "display_name": row["display_name"],
            "role": row["role"], "grants": sorted(json.loads(row["grants"])), "disabled": bool(row["disabled"]),
            "must_change_password": bool(row["must_change_password"]),
            "password_digest": hashlib.sha256(str(row["password_hash"]).encode("utf-8")).hexdigest()}


def _store_file(con: sqlite3.Connection) -> Path:
    """The file of the connection's main database (where the audit key and high-water mark sit beside)."""
    for _, name, file in con.execute("PRAGMA database_list"):
        if name == "main" and file:
            return Path(file)
    raise AuditSealError("the audit trail needs an operational store on disk")


def _last(con: sqlite3.Connection) -> tuple[int, str]:
    row = con.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def _seal(con: sqlite3.Connection, moment: datetime) -> bytes:
    """The store's audit key; on a store without one (new, or from before keyed chains) create it under the
    write lock: the high-water mark anchors the events so far, and every account's current state is
    recorded (`account-snapshot`), so accounts created before keying are inside the chain too."""
    store = _store_file(con)
    key = read_key(store)
    if key is not None:
        return key
    key = new_key()
    last_seq, last_hash = _last(con)
    try:
        write_head(store, key, Head(keyed_from=last_seq + 1, seq=last_seq, hash=last_hash))
        store_key(store, key)       # last: a crash before it leaves no key, so the next start redoes this
    except OSError as exc:
        raise AuditSealError(f"{key_path(store)}: cannot create the audit key: {exc}") from exc
    for (account_id,) in con.execute("SELECT account_id FROM account ORDER BY account_id").fetchall():
        append_account_event(con, moment, SYSTEM, "", "account-snapshot", account_id, {})
    return key


def seal_store(ops: OperationalStore) -> None:
    """Key the audit trail of a store that has no audit key yet (called when the store is opened)."""
    if key_path(ops.path).exists():
        return
    with ops.write() as con:
        _seal(con, ops.now())


def append_event(con: sqlite3.Connection, moment: datetime, user: str, role: str, action: str,
                 detail: dict[str, Any]) -> AuditEvent:
    """Append one event on a connection that already holds the write lock (BEGIN IMMEDIATE).

    Used by `record_event` and by callers (accounts) that write their change and its event in one
    transaction, so neither lands without the other. `OperationalStore.write` moves the high-water mark
    after the commit.
    """
    if not action:
        raise ValueError("an audit event needs an action")
    key = _seal(con, moment)
    seq, prev_hash = _last(con)
    seq += 1
    occurred_at = timestamp(moment)
    detail_text = canonical_detail(detail)
    digest = event_mac(key, seq, occurred_at, user, role, action, detail_text, prev_hash)
    con.execute("INSERT INTO audit_event (seq, occurred_at, user_name, role, action, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, occurred_at, user, role, action, detail_text, prev_hash, digest])
    if isinstance(con, OperationalConnection):
        con.audit_appended = True
    return AuditEvent(seq, occurred_at, user, role, action, json.loads(detail_text), prev_hash, digest)


def append_account_event(con: sqlite3.Connection, moment: datetime, user: str, role: str, action: str,
                         account_id: int, detail: dict[str, Any], *, before: AccountRow | None = None
                         ) -> AuditEvent:
    """Append an account change together with the account's resulting state (read back from its row), so
    that `verify_chain` can tell an account changed through the application from one changed in SQL.

    `before` is the account's row as read before the change. Fields in which it already differed from the
    state the trail records were changed outside the application: the event names them
    (`changed_outside`) and, unless this change sets them, records their chained values, so the
    application never vouches for them and the account stays refused until they are set right.
    """
    cursor = con.execute("SELECT * FROM account WHERE account_id = ?", [account_id])
    values = cursor.fetchone()
    if values is None:
        raise ValueError(f"no account {account_id}")
    state = account_state(dict(zip([column[0] for column in cursor.description], values, strict=True)))
    if before is not None:
        chained = _last_chained_state(con, before["user_key"])
        if outside := _differences(chained, before):
            earlier = account_state(before)
            detail = {**detail, "changed_outside": outside}
            state.update({field: value for field, value in (chained or {}).items()
                          if field in outside and field not in detail and earlier.get(field) == state.get(field)})
    return append_event(con, moment, user, role, action, {**detail, "account": state})


def _last_chained_state(con: sqlite3.Connection, user_key: str) -> dict[str, Any] | None:
    """The state the last account event of `user_key` records, None when there is none with a valid MAC."""
    try:
        key = read_key(_store_file(con))
    except AuditSealError:
        return None
    event = con.execute(
        "SELECT seq, occurred_at, user_name, role, action, detail, prev_hash, hash FROM audit_event "
        "WHERE json_extract(detail, '$.account.user_key') = ? ORDER BY seq DESC LIMIT 1", [user_key]).fetchone()
    if key is None or event is None or not hmac.compare_digest(str(event[7]), event_mac(key, *event[:7])):
        return None
    return _chained_account(event[5])


def changed_outside(con: sqlite3.Connection, row: AccountRow) -> list[str]:
    """The fields in which an account's row differs from the state its last account event records; all of
    it (`["account"]`) when it has no such event carrying a valid MAC (created or put back in SQL)."""
    return _differences(_last_chained_state(con, row["user_key"]), row)


def _differences(chained: dict[str, Any] | None, row: AccountRow) -> list[str]:
    if chained is None:
        return ["account"]
    current = account_state(row)
    return sorted(field for field in chained.keys() | current.keys() if chained.get(field) != current.get(field))


def account_matches_chain(con: sqlite3.Connection, row: AccountRow) -> bool:
    """Whether an account's row is the state its last account event records (that event carrying a valid
    MAC): False for an account changed, created or put back outside the application (e.g. a role or
    password hash set by direct SQL), which therefore cannot sign in."""
    return not changed_outside(con, row)


def record_event(ops: OperationalStore, who: Principal | str, action: str, /, **detail: Any) -> AuditEvent:
    """Append an event for `who` (a Principal, or a bare user name when nobody is signed in).

    `detail` is what was done, e.g. `definition={...}, rows=120` for an export; values must be
    JSON-serialisable (others are stored as their text). Never pass passwords or hashes.
    """
    user, role = (who.user, who.role) if isinstance(who, Principal) else (str(who), "")
    with ops.write() as con:
        return append_event(con, ops.now(), user, role, action, detail)


def event_from_row(row: sqlite3.Row) -> AuditEvent:
    """An event as stored; a detail that is not a JSON object (only ever written outside the application) is
    kept as its text under `unreadable`, so a tampered trail can still be listed and searched."""
    try:
        detail = json.loads(row["detail"])
    except (TypeError, ValueError):
        detail = None
    if not isinstance(detail, dict):
        detail = {"unreadable": str(row["detail"])}
    return AuditEvent(row["seq"], row["occurred_at"], row["user_name"], row["role"], row["action"],
                      detail, row["prev_hash"], row["hash"])


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
    return [event_from_row(row) for row in rows]


def record_download(ops: OperationalStore, principal: Principal, *, page: str, document: str, file: str,
                    format: str, rows: int | None, **detail: Any) -> AuditEvent:
    """Record that the dashboard handed `principal` a file (`download`, see the module docstring): the page,
    what it is, the file name offered, its format and how many rows or records it holds (None: not a table)."""
    return record_event(ops, principal, DOWNLOAD, page=page, document=document, file=file, format=format,
                        rows=rows, **detail)


def chain_head(ops: OperationalStore) -> tuple[int, str]:
    """(seq, hash) of the last event, (0, 64 zeros) when there is none: keep it as an external anchor."""
    with ops.connect() as con:
        return _last(con)


def parse_anchor(text: str) -> tuple[int, str]:
    """An anchor written as `SEQ:HASH` (what `registry audit verify` prints)."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise InvalidRequest(f"an anchor is SEQ:HASH (64 hex digits), not {text!r}")
    return int(seq), digest.lower()


# ---- verification -----------------------------------------------------------------------------------------

def _seal_problems(store: Path) -> tuple[bytes | None, Head | None, list[Problem]]:
    """The audit key and high-water mark, and what is wrong with them."""
    try:
        key = read_key(store)
    except AuditSealError as exc:
        return None, None, [Problem(None, str(exc))]
    if key is None:
        return None, None, [Problem(None, f"the audit key {key_path(store)} is missing: keyed events cannot be "
                                          "checked (deleted, or the store was moved without it)")]
    try:
        head = read_head(store, key)
    except AuditSealError as exc:
        return key, None, [Problem(None, str(exc))]
    if head is None:
        return key, None, [Problem(None, "the high-water mark beside the store is missing (deleted, which would "
                                         "hide a truncated trail)")]
    return key, head, []


def _authentic(key: bytes | None, keyed_from: int | None, fields: tuple[Any, ...], digest: Any) -> bool:
    """Whether an event's stored hash is its MAC under the key (from `keyed_from` on), or its plain SHA-256
    before that; with the high-water mark lost (`keyed_from` None) either is accepted, as that is reported."""
    seq = fields[0]
    try:
        if key is not None and (keyed_from is None or seq >= keyed_from) \
                and hmac.compare_digest(str(digest), event_mac(key, *fields)):
            return True
        return (keyed_from is None or seq < keyed_from) and digest == event_hash(*fields)
    except (TypeError, ValueError):         # fields of a type the application never writes
        return False


def _chained_account(detail_text: Any) -> dict[str, Any] | None:
    """The account state an event carries, if it is an account event."""
    if not isinstance(detail_text, str) or '"account":' not in detail_text:
        return None
    try:
        detail = json.loads(detail_text)
    except ValueError:
        return None
    state = detail.get("account") if isinstance(detail, dict) else None
    return state if isinstance(state, dict) and isinstance(state.get("user"), str) else None


def _trigger_problems(con: sqlite3.Connection) -> list[Problem]:
    """Append-only triggers missing, altered (e.g. emptied) or joined by triggers the migrations never made."""
    found = {row[0]: row[1] for row in con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")}
    problems = [Problem(None, f"the append-only trigger {name} was removed")
                for name in AUDIT_TRIGGERS if name not in found]
    problems += [Problem(None, f"the append-only trigger {name} was altered: it no longer reads as created")
                 for name, sql in AUDIT_TRIGGERS.items()
                 if name in found and " ".join(str(found[name]).split()) != " ".join(sql.split())]
    problems += [Problem(None, f"an unexpected trigger {name} was added on audit_event")
                 for name in sorted(found) if name not in AUDIT_TRIGGERS]
    return problems


def _account_problems(con: sqlite3.Connection, chained: dict[str, tuple[int, dict[str, Any]]]) -> list[Problem]:
    """Accounts whose row differs from the state their last account event carries, or that have none."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for row in con.execute("SELECT * FROM account ORDER BY account_id"):
        key = name_key(row["user_name"])
        seen.add(key)
        if key not in chained:
            problems.append(Problem(None, f"account {row['user_name']!r} is not in the audit trail (created or "
                                          "renamed outside the application)"))
            continue
        seq, state = chained[key]
        try:
            current = account_state(row)
        except (ValueError, TypeError):
            current = {}
        changed = [f"{field} is {current.get(field)!r} in the store but {value!r} in the audit trail"
                   if field != "password_digest" else "the password hash was replaced"
                   for field, value in state.items() if current.get(field) != value]
        if changed:
            problems.append(Problem(seq, f"account {row['user_name']!r} was changed outside the application: "
                                         + "; ".join(changed)))
    problems += [Problem(seq, f"account {state.get('user')!r} was deleted outside the application")
                 for key, (seq, state) in chained.items() if key not in seen]
    return problems


def verify_chain(ops: OperationalStore, *, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Recompute the chain in one pass and report every sign of tampering (see the module docstring).

    For each event: its sequence number follows the previous one (a gap means a deletion), its MAC (hash
    before keying) matches its contents (an edit, a move, or a rewrite without the key), and its prev_hash
    is the previous event's (a deletion, insertion or reordering). Then the high-water mark, the optional
    `anchor` (seq, hash), the append-only triggers, and the accounts against their chained state.
    """
    key, head, problems = _seal_problems(ops.path)      # read before the trail: the mark never runs ahead of it
    keyed_from = head.keyed_from if head else None
    chained: dict[str, tuple[int, dict[str, Any]]] = {}
    prev_seq, prev_hash, count = 0, GENESIS_HASH, 0
    sealed_hash: str | None = None
    anchor_hash: str | None = None
    with ops.connect() as con:
        for row in con.execute("SELECT * FROM audit_event ORDER BY seq"):
            seq, digest, count = row["seq"], row["hash"], count + 1
            fields = (seq, row["occurred_at"], row["user_name"], row["role"], row["action"], row["detail"],
                      row["prev_hash"])
            gap = seq != prev_seq + 1
            if gap:
                what = ("the first event is missing" if (prev_seq, seq) == (0, 2) else
                        f"events {prev_seq + 1}..{seq - 1} are missing" if seq > prev_seq + 1 else
                        f"it is numbered {seq} where {prev_seq + 1} was due")
                problems.append(Problem(seq, f"{what} (deleted)"))
            if not _authentic(key, keyed_from, fields, digest):
                problems.append(Problem(seq, "its contents do not match its MAC (the event was edited, moved or "
                                             "rewritten without the audit key)"))
            elif not gap and row["prev_hash"] != prev_hash:
                problems.append(Problem(seq, f"it does not follow event {seq - 1} (an event was deleted, inserted "
                                             "or reordered)"))
            if (state := _chained_account(row["detail"])) is not None:
                chained[name_key(state["user"])] = (seq, state)
                if outside := json.loads(row["detail"]).get("changed_outside"):
                    problems.append(Problem(seq, f"account {state['user']!r} had been changed outside the "
                                                 f"application before this change: {', '.join(map(str, outside))}"))
            if head is not None and seq == head.seq:
                sealed_hash = digest
            if anchor is not None and seq == anchor[0]:
                anchor_hash = digest
            prev_seq, prev_hash = seq, digest
        problems += _trigger_problems(con)
        problems += _account_problems(con, chained)
    if head is not None and head.seq > prev_seq:
        problems.append(Problem(prev_seq + 1, f"events {prev_seq + 1}..{head.seq} are missing: the trail ends "
                                              f"before its high-water mark {head.seq} (the newest events were deleted)"))
    elif head is not None and head.seq > 0 and sealed_hash != head.hash:
        problems.append(Problem(head.seq, "its MAC differs from the one its high-water mark recorded (the chain was "
                                          "rewritten)"))
    if anchor is not None and anchor[0] > 0:
        if anchor_hash is None:
            problems.append(Problem(None, f"the anchor's event {anchor[0]} is no longer in the chain (truncated or "
                                          "rewritten)"))
        elif anchor_hash != anchor[1]:
            problems.append(Problem(anchor[0], f"its hash differs from the anchor {anchor[0]}:{anchor[1]} (the chain "
                                               "was rewritten)"))
    return VerifyResult(count, prev_seq, prev_hash, tuple(problems), keyed_from)
