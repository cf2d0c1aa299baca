"""The operational store ready for use: created owner-only beside the analytic store, migrated, and its
audit trail keyed. Opening composes `registry.operational` (the SQLite store) with `registry.audit` (the
chain that lives in it) and `registry.breach` (detection, run after each audited write), so none of those
imports the others' callers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from registry.audit import seal_store
from registry.breach import watch
from registry.errors import OperationalStoreError
from registry.operational import (
    BUSY_TIMEOUT_SECONDS,
    Clock,
    OperationalStore,
    migrate,
    ops_path_for,
    utc_now,
)
from registry.store import default_db_path, owner_only_files


def open_operational_store(db_path: Path | None = None, *, path: Path | None = None, clock: Clock | None = None,
                           busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> OperationalStore:
    """The operational store beside the analytic store `db_path` (default: $REGISTRY_DB or
    data/registry.duckdb), or at `path`; created (owner-only, as SQLite then gives its -wal and -shm
    files the database file's permissions), migrated and its audit trail keyed if needed. Breach detection
    watches it (`registry.breach.watch`); its family-name rule reads the analytic store, so a store opened by
    `path` alone goes without that rule."""
    analytic = None if path is not None else (db_path or default_db_path())
    target = path or ops_path_for(db_path or default_db_path())
    ops = OperationalStore(target, clock=clock or utc_now, busy_timeout=busy_timeout, on_audit=watch(analytic))
    with owner_only_files():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            migrate(ops)
            seal_store(ops)
        except sqlite3.Error as exc:
            raise OperationalStoreError(f"{target}: cannot migrate the operational store: {exc}") from exc
    return ops
