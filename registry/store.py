"""The DuckDB analytic store: where it lives, how it is opened read-only, and its numbered schema migrations.

Everything that writes the store (loads, population files, migrations and their backfills) is in
`registry.store_writes`, the one write path.

Concurrency (DuckDB locks the file per process): readers such as the dashboard open short-lived
read-only connections; the loader parses and validates a file without touching the store, then opens
it read-write only for one short transaction. Both sides retry briefly while the other holds the lock,
so neither fails and nobody sees half a batch (see docs/architecture.md, "Ingest while people read").
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from registry.errors import StoreBusyError, StoreError
from registry.migration_files import migration_files

T = TypeVar("T")
DEFAULT_DB = Path("data") / "registry.duckdb"
ENV_DB = "REGISTRY_DB"
# Files that hold registry data (stores, their write-ahead logs, staging, exports) are readable by their
# owner only: 0600 files and 0700 folders, whatever the caller's umask.
OWNER_ONLY_UMASK = 0o077
OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700
_umask_lock = threading.Lock()
_umask_holders = 0
_umask_saved = 0


@contextmanager
def owner_only_files() -> Iterator[None]:
    """Create every file and folder inside with owner-only permissions (umask 077), then restore the umask.

    The umask is per process, so nested and concurrent holders share it and the last one out restores it.
    """
    global _umask_holders, _umask_saved
    with _umask_lock:
        if _umask_holders == 0:
            _umask_saved = os.umask(OWNER_ONLY_UMASK)
        _umask_holders += 1
    try:
        yield
    finally:
        with _umask_lock:
            _umask_holders -= 1
            if _umask_holders == 0:
                os.umask(_umask_saved)


def default_db_path() -> Path:
    """The store path: $REGISTRY_DB if set, else data/registry.duckdb."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB)


def _is_lock_error(exc: Exception) -> bool:
    # Another process holds the file lock, or (same process) a connection with another read-only mode
    # is open: both clear once the other side closes its short-lived connection.
    text = str(exc)
    return any(s in text for s in ("Could not set lock", "Conflicting lock", "different configuration",
                                   "already attached"))


_OPEN_ERRORS = (duckdb.IOException, duckdb.ConnectionException, duckdb.BinderException,
                duckdb.ResourceInUseException)


def retry_while_locked(open_store: Callable[[], T], db_path: Path, timeout: float) -> T:
    """Run open_store, retrying with backoff while another connection holds the store's lock."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            return open_store()
        except _OPEN_ERRORS as exc:
            if not _is_lock_error(exc):
                raise StoreError(f"{db_path}: cannot open the store: {exc}") from exc
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"{db_path}: the store stayed locked by another process for {timeout:.0f} s") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def connect_with_retry(db_path: Path, *, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    """Open the store file, waiting while another connection holds its lock (writers: `registry.store_writes`)."""
    return retry_while_locked(lambda: duckdb.connect(str(db_path), read_only=read_only), db_path, timeout)


@contextmanager
def read_connection(db_path: Path | None = None, *, timeout: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection; waits while a load commits. Close it promptly."""
    path = db_path or default_db_path()
    if not path.exists():
        raise StoreError(f"{path}: no registry store here yet (run `registry ingest` first)")
    con = connect_with_retry(path, read_only=True, timeout=timeout)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, rolling back and re-raising on any error.

    DuckDB silently discards a transaction after a failed statement and COMMIT does not raise, so the
    rollback must be explicit.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration of the analytic store, in order."""
    return migration_files("migrations")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The number of the last migration applied to this store (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migration'").fetchall()[0]
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(number), 0) FROM schema_migration").fetchall()[0]
    return int(row[0]) if row else 0
