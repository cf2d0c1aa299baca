"""The SQLite operational store: accounts, sign-in attempts, dashboard sessions, saved definitions and the
audit trail.

It lives beside the DuckDB analytic store (`<db dir>/<db stem>.ops.sqlite`) and never holds analytic
data. The dashboard and the command line both write it at once, so:
- the file is in WAL mode (readers never block the writer, the writer never blocks readers);
- every connection is short-lived and waits (`busy_timeout`) while another one writes;
- every write runs in `BEGIN IMMEDIATE`, which takes the write lock up front, so two writers queue
  instead of failing half way (a deferred transaction that upgrades to a write cannot wait in WAL mode).
Schema changes are numbered `.sql` migrations in `registry/migrations/operational/` (`MIGRATIONS`), applied in
order, each in its own transaction.
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
from registry.migration_files import migration_files

log = logging.getLogger(__name__)

OPS_SUFFIX = ".ops.sqlite"
BUSY_TIMEOUT_SECONDS = 30.0

Clock = Callable[[], datetime]
AuditWatcher = Callable[["OperationalStore", sqlite3.Connection], None]




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

# (number, name, sql): the numbered files in registry/migrations/operational/, recorded under their name
# without ".sql". Append new files, never edit an applied one.
MIGRATIONS: tuple[tuple[int, str, str], ...] = tuple(
    (number, file_name.removesuffix(".sql"), sql) for number, file_name, sql in migration_files("migrations", "operational"))


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
    # Called at the end of every write that appended audit events, inside its transaction (breach detection;
    # see `registry.operational_store`); it handles its own failures.
    on_audit: AuditWatcher | None = field(default=None, compare=False)

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
        concurrent writers move it in commit order. Before the commit, `on_audit` reads the new events in the
        same transaction (one commit, and detection never lags the events it reads).
        """
        with self.connect() as con:
            with immediate(con):
                yield con
                if con.audit_appended and self.on_audit is not None:
                    self.on_audit(self, con)
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


def definition_by_id(ops: OperationalStore, definition_id: int) -> SavedDefinition | None:
    """One saved definition, whoever owns it (the caller checks who may open it), or None."""
    with ops.connect() as con:
        row = con.execute("SELECT * FROM saved_definition WHERE definition_id = ?", [definition_id]).fetchone()
    return None if row is None else _definition(row)


def delete_definition(ops: OperationalStore, owner: str, kind: str, name: str) -> bool:
    """Delete one saved definition; False when there was none."""
    with ops.write() as con:
        cursor = con.execute("DELETE FROM saved_definition WHERE owner_key = ? AND kind = ? AND name = ?",
                             [name_key(owner), kind, name])
    return cursor.rowcount > 0
