"""Files holding registry data are created readable by their owner only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines import load
from pipelines.load import ingest_file
from registry.operational import ops_path_for
from registry.operational_store import open_operational_store
from registry.store_writes import write_connection

PATIENT = {"patientIdNumber": "00000001", "sex": "2"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Run with the common default umask 022 (new files world-readable unless the code says otherwise)."""
    saved = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(saved)


def test_store_and_its_write_ahead_log_are_owner_only(tmp_path, permissive_umask):
    db = tmp_path / "new" / "registry.duckdb"
    with write_connection(db) as con:
        con.execute("SET wal_autocheckpoint = '1TB'")   # keep the write-ahead log while the connection is open
        con.execute("CREATE TABLE t (i INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
        wal = db.with_name(db.name + ".wal")
        assert wal.exists()
        assert _mode(wal) == 0o600
    assert _mode(db) == 0o600
    assert _mode(db.parent) == 0o700
    assert os.umask(0o022) == 0o022   # the caller's umask is restored


def test_operational_store_and_its_wal_files_are_owner_only(tmp_path, permissive_umask):
    db = tmp_path / "registry.duckdb"
    ops = open_operational_store(db)
    with ops.connect() as con:   # an open connection keeps the -wal and -shm files
        con.execute("SELECT count(*) FROM account").fetchone()
        path = ops_path_for(db)
        for suffix in ("", "-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            assert sidecar.exists(), sidecar
            assert _mode(sidecar) == 0o600, sidecar


def test_ingest_stages_in_owner_only_folders(tmp_path, write_xml, db_path, permissive_umask, monkeypatch):
    seen: list[Path] = []
    real = load._open_staging

    def spy(path: Path):  # type: ignore[no-untyped-def]
        con, work = real(path)
        seen.append(work)
        return con, work

    monkeypatch.setattr(load, "_open_staging", spy)
    source = write_xml("one.xml", [(PATIENT, [TUMOR])])
    assert ingest_file(source, db_path=db_path).status == "loaded"
    assert _mode(db_path) == 0o600
    assert _mode(seen[0].parent) == 0o700
