"""The SQLite operational store: accounts, sign-in attempts, dashboard sessions, saved definitions and the
audit trail.

It lives beside the DuckDB analytic store (`<db dir>/<db stem>.ops.sqlite`) and never holds analytic
data. The dashboard and the command line both write it at once, so:
- the file is in WAL mode (readers never block the writer, the writer never blocks readers);
- every connection is short-lived and waits (`busy_timeout`) while another one writes;
- every write runs in `BEGIN IMMEDIATE`, which takes the write lock up front, so two writers queue
  instead of failing half way (a deferred transaction that upgrades to a write cannot wait in WAL mode).
Schema changes are numbered migrations (`MIGRATIONS`), applied in order, each in its own transaction.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from registry.audit_seal import advance_head
from registry.errors import OperationalStoreError, RegistryError
from registry.store import default_db_path, owner_only_files

log = logging.getLogger(__name__)

OPS_SUFFIX = ".ops.sqlite"
BUSY_TIMEOUT_SECONDS = 30.0

Clock = Callable[[], datetime]




def utc_now() -> datetime:
    """The current time in UTC (the default clock; tests inject their own)."""
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """A UTC ISO-8601 text with microseconds; one fixed width, so texts sort as times do."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_timestamp(text: str) -> datetime:
    """The datetime of a text written by `timestamp`."""
    return datetime.fromisoformat(text)


def name_key(name: str) -> str:
    """The case-insensitive key of a user name (Unicode-aware, unlike SQLite's NOCASE)."""
    return unicodedata.normalize("NFKC", name).casefold()


def ops_path_for(db_path: Path) -> Path:
    """Where the operational store of the analytic store `db_path` lives: `<dir>/<stem>.ops.sqlite`."""
    return db_path.with_name(db_path.stem + OPS_SUFFIX)


# ---- migrations ---------------------------------------------------------------------------------------

_M0001 = """
CREATE TABLE account (
    account_id           INTEGER PRIMARY KEY,
    user_name            TEXT NOT NULL,             -- as created, shown to people
    user_key             TEXT NOT NULL UNIQUE,      -- name_key(user_name): unique case-insensitively
    display_name         TEXT NOT NULL DEFAULT '',
    role                 TEXT NOT NULL CHECK (role IN ('registrar', 'researcher', 'administrator')),
    grants               TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(grants)),  -- sorted JSON array
    password_hash        TEXT NOT NULL,             -- argon2id, PHC string with its parameters
    disabled             INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

-- One row per sign-in attempt, for lockout and review. Keyed by the name typed (not the account), so
-- unknown names lock the same way and the lockout does not tell whether a user exists.
-- outcome: ok | bad-credentials | disabled | locked (refused unseen during a lockout) |
--          unlocked (a marker written when an administrator resets the password).
-- locked_until is set on the failed attempt that started a lockout.
CREATE TABLE sign_in_attempt (
    attempt_id   INTEGER PRIMARY KEY,
    user_key     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    attempted_at TEXT NOT NULL,
    success      INTEGER NOT NULL CHECK (success IN (0, 1)),
    outcome      TEXT NOT NULL CHECK (outcome IN ('ok', 'bad-credentials', 'disabled', 'locked', 'unlocked')),
    source       TEXT NOT NULL DEFAULT '',
    locked_until TEXT
);
CREATE INDEX sign_in_attempt_user ON sign_in_attempt (user_key, attempted_at);

-- Saved cohort, trial-criteria and other definitions, one JSON body each.
CREATE TABLE saved_definition (
    definition_id INTEGER PRIMARY KEY,
    owner         TEXT NOT NULL,
    owner_key     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    body          TEXT NOT NULL CHECK (json_valid(body)),
    created_at    TEXT NOT NULL,
    UNIQUE (owner_key, kind, name)
);

-- The audit trail: append-only and hash-chained (see registry/audit.py).
CREATE TABLE audit_event (
    seq         INTEGER PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL CHECK (json_valid(detail)),
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_event_time ON audit_event (occurred_at);
CREATE INDEX audit_event_user ON audit_event (user_name);
CREATE INDEX audit_event_action ON audit_event (action);

-- Append-only inside SQLite. Anyone with write access to the file can drop or replace these triggers:
-- that is why every event also carries the MAC of the one before it, and why registry.audit.verify_chain
-- compares these triggers' text with this migration's.
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be changed');
END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be deleted');
END;
-- A new event must extend the chain: next sequence number, previous event's hash.
CREATE TRIGGER audit_event_extends_chain BEFORE INSERT ON audit_event
WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM audit_event), 0) + 1
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1),
                                   '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'an audit event must extend the chain (next seq, previous hash)');
END;
"""

_M0002 = """
-- Cells of aggregate tables released to a user, keyed for the cell-level differencing guard
-- (registry.suppression.CellGuard): one row per cell and filter dimension, holding the cell's filter and
-- strata without that dimension (partial_key), the dimension's value and the released count. Two cells
-- whose filters differ in exactly one dimension share a partial_key for it.
CREATE TABLE released_cell (
    owner_key   TEXT NOT NULL,
    partial_key TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    value       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    released_at TEXT NOT NULL,
    PRIMARY KEY (owner_key, partial_key, dimension, value)
) WITHOUT ROWID;
"""

_M0003 = """
-- The last account event of each account, looked up at every sign-in to compare the account's row with
-- the state the audit trail carries (registry.audit.account_matches_chain).
CREATE INDEX audit_event_account ON audit_event (json_extract(detail, '$.account.user_key'), seq)
WHERE json_extract(detail, '$.account.user_key') IS NOT NULL;
"""

_M0004 = """
-- Dashboard sessions (registry.sessions): the SHA-256 of each token's random part, never the token itself.
-- A session ends when revoked (sign-out, account disabled, password set) or after its idle or absolute limit.
CREATE TABLE web_session (
    session_hash   TEXT PRIMARY KEY,
    user_key       TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT '',
    started_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
);
CREATE INDEX web_session_user ON web_session (user_key, revoked_at);
"""

# (number, name, sql): append new migrations at the end, never edit an applied one.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "0001_operational", _M0001),
    (2, "0002_released_cell", _M0002),
    (3, "0003_audit_event_account", _M0003),
    (4, "0004_web_session", _M0004),
)


def _statements(script: str) -> Iterator[str]:
    """Split a migration into complete SQL statements (trigger bodies contain semicolons)."""
    pending: list[str] = []
    for line in script.splitlines(keepends=True):
        pending.append(line)
        text = "".join(pending)
        if sqlite3.complete_statement(text):
            if text.strip():
                yield text
            pending = []
    rest = "".join(pending).strip()
    if rest and not all(line.strip().startswith("--") for line in rest.splitlines() if line.strip()):
        raise OperationalStoreError(f"incomplete SQL statement in a migration: {rest[:60]!r}")


def _audit_triggers() -> dict[str, str]:
    """Name -> SQL text (as SQLite keeps it) of every trigger the migrations create on audit_event."""
    triggers: dict[str, str] = {}
    for _, _, script in MIGRATIONS:
        for statement in _statements(script):
            start = statement.find("CREATE TRIGGER ")
            words = statement[start:].split()
            if start >= 0 and words[words.index("ON") + 1] == "audit_event":
                triggers[words[2]] = statement[start:].strip().rstrip(";").rstrip()
    return triggers


AUDIT_TRIGGERS: dict[str, str] = _audit_triggers()


# ---- the store ----------------------------------------------------------------------------------------

class OperationalConnection(sqlite3.Connection):
    """A connection that remembers whether audit events were appended on it (see `OperationalStore.write`)."""

    audit_appended: bool = False


@dataclass(frozen=True)
class OperationalStore:
    """Where the operational store is and how to reach it; cheap, thread-safe, holds no connection."""

    path: Path
    clock: Clock = field(default=utc_now, compare=False)
    busy_timeout: float = BUSY_TIMEOUT_SECONDS

    def now(self) -> datetime:
        """The store's clock, in UTC (injectable, so lockout windows can be tested)."""
        return self.clock().astimezone(UTC)

    @contextmanager
    def connect(self) -> Iterator[OperationalConnection]:
        """A short-lived connection in autocommit mode (use `write` for transactions); closed on exit."""
        try:
            con = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                  factory=OperationalConnection)
        except sqlite3.Error as exc:
            raise OperationalStoreError(f"{self.path}: cannot open the operational store: {exc}") from exc
        with closing(con):
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            con.execute("PRAGMA foreign_keys = ON")
            yield con

    @contextmanager
    def write(self) -> Iterator[OperationalConnection]:
        """A connection inside `BEGIN IMMEDIATE ... COMMIT`: holds the write lock, rolls back on error.

        When the transaction appended audit events, the audit trail's high-water mark moves to them after
        the commit (never before: a rolled-back event must not raise it), again under the write lock so
        concurrent writers move it in commit order.
        """
        with self.connect() as con:
            with immediate(con):
                yield con
            if con.audit_appended:
                self._advance_audit_head(con)

    def _advance_audit_head(self, con: OperationalConnection) -> None:
        """Seal the committed events; a failure here is logged, not raised: the change itself is committed."""
        try:
            with immediate(con):
                advance_head(con, self.path)
        except (sqlite3.Error, RegistryError, OSError) as exc:
            log.error("%s: cannot advance the audit trail's high-water mark: %s", self.path, exc)


@contextmanager
def immediate(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection, rolling back and re-raising on error."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def schema_version(con: sqlite3.Connection) -> int:
    """The number of the last migration applied (0 for a new file)."""
    row = con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration'"
                      ).fetchone()
    if not row[0]:
        return 0
    return int(con.execute("SELECT coalesce(max(number), 0) FROM schema_migration").fetchone()[0])


def migrate(ops: OperationalStore) -> list[str]:
    """Put the file in WAL mode and apply pending migrations in order; return the names applied."""
    applied: list[str] = []
    with ops.connect() as con:
        # WAL is a property of the file: set once, kept by every later connection.
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OperationalStoreError(f"{ops.path}: cannot switch the operational store to WAL mode")
        with immediate(con):
            con.execute("CREATE TABLE IF NOT EXISTS schema_migration "
                        "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        for number, name, sql in MIGRATIONS:
            # One transaction per migration; the version is re-read under the lock, so two processes
            # opening a new store at once apply each migration exactly once.
            with immediate(con):
                if number <= schema_version(con):
                    continue
                for statement in _statements(sql):
                    con.execute(statement)
                con.execute("INSERT INTO schema_migration (number, name, applied_at) VALUES (?, ?, ?)",
                            [number, name, timestamp(ops.now())])
                applied.append(name)
    return applied


def open_operational_store(db_path: Path | None = None, *, path: Path | None = None, clock: Clock | None = None,
                           busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> OperationalStore:
    """The operational store beside the analytic store `db_path` (default: $REGISTRY_DB or
    data/registry.duckdb), or at `path`; created (owner-only, as SQLite then gives its -wal and -shm
    files the database file's permissions), migrated and its audit trail keyed if needed."""
    target = path or ops_path_for(db_path or default_db_path())
    ops = OperationalStore(target, clock=clock or utc_now, busy_timeout=busy_timeout)
    # Imported here: registry.audit builds on this module.
    from registry.audit import seal_store

    with owner_only_files():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            migrate(ops)
            seal_store(ops)
        except sqlite3.Error as exc:
            raise OperationalStoreError(f"{target}: cannot migrate the operational store: {exc}") from exc
    return ops


# ---- saved definitions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SavedDefinition:
    """A saved cohort, trial-criteria or other definition owned by one user."""

    definition_id: int
    owner: str
    kind: str
    name: str
    body: Any
    created_at: str


def _definition(row: sqlite3.Row) -> SavedDefinition:
    return SavedDefinition(row["definition_id"], row["owner"], row["kind"], row["name"], json.loads(row["body"]),
                           row["created_at"])


def save_definition(ops: OperationalStore, owner: str, kind: str, name: str, body: Any) -> SavedDefinition:
    """Save (or replace) the definition `kind`/`name` of `owner`; `body` must be JSON-serialisable."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    with ops.write() as con:
        con.execute("INSERT INTO saved_definition (owner, owner_key, kind, name, body, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (owner_key, kind, name) DO UPDATE SET "
                    "body = excluded.body, created_at = excluded.created_at",
                    [owner, name_key(owner), kind, name, text, timestamp(ops.now())])
        row = con.execute("SELECT * FROM saved_definition WHERE owner_key = ? AND kind = ? AND name = ?",
                          [name_key(owner), kind, name]).fetchone()
    return _definition(row)


def list_definitions(ops: OperationalStore, owner: str, kind: str | None = None) -> list[SavedDefinition]:
    """The definitions saved by `owner` (of one kind, if given), by kind and name."""
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM saved_definition WHERE owner_key = ? AND (? IS NULL OR kind = ?) "
                           "ORDER BY kind, name", [name_key(owner), kind, kind]).fetchall()
    return [_definition(row) for row in rows]


def delete_definition(ops: OperationalStore, owner: str, kind: str, name: str) -> bool:
    """Delete one saved definition; False when there was none."""
    with ops.write() as con:
        cursor = con.execute("DELETE FROM saved_definition WHERE owner_key = ? AND kind = ? AND name = ?",
                             [name_key(owner), kind, name])
    return cursor.rowcount > 0
