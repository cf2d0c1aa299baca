"""Read-only views of the store's provenance: ingest batches, rejects and overall store facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from registry.store import read_connection, schema_version

BATCH_COLUMNS = ("batch_id, file_name, format, naaccr_version, record_type, status, tumors_read, "
                 "tumors_loaded, tumors_rejected, patients_read, patients_loaded, patients_rejected, "
                 "warnings, loaded_by, started_at, finished_at, sha256, message")


def list_batches(db_path: Path | None = None, *, limit: int = 1000) -> pd.DataFrame:
    """Ingest batches, newest first."""
    with read_connection(db_path) as con:
        return con.execute(f"SELECT {BATCH_COLUMNS} FROM ingest_batch ORDER BY batch_id DESC LIMIT ?",
                           [limit]).df()


def rejects_by_rule(db_path: Path | None = None, *, batch_id: int | None = None) -> pd.DataFrame:
    """Rejected records per batch and rule (no record content: counts only)."""
    with read_connection(db_path) as con:
        return con.execute(
            """SELECT batch_id, rule, count(DISTINCT (patient_seq, tumor_seq)) AS records, min(reason) AS example
               FROM reject WHERE ? IS NULL OR batch_id = ? GROUP BY batch_id, rule ORDER BY batch_id, records DESC""",
            [batch_id, batch_id]).df()


@dataclass(frozen=True)
class StoreInfo:
    """Headline facts about a store."""

    path: Path
    size_bytes: int
    schema_version: int
    batches_loaded: int
    batches_failed: int
    patients: int
    tumors: int
    rejects: int
    first_diagnosis_year: int | None
    last_diagnosis_year: int | None
    last_loaded_at: str | None


def store_info(db_path: Path) -> StoreInfo:
    """Size, schema version and record counts of the store at db_path."""
    with read_connection(db_path) as con:
        row = con.execute("""
            SELECT (SELECT count(*) FROM ingest_batch WHERE status = 'loaded'),
                   (SELECT count(*) FROM ingest_batch WHERE status = 'failed'),
                   (SELECT count(*) FROM patient), (SELECT count(*) FROM tumor),
                   (SELECT count(DISTINCT (batch_id, patient_seq, tumor_seq)) FROM reject),
                   (SELECT min(diagnosis_year) FROM tumor), (SELECT max(diagnosis_year) FROM tumor),
                   (SELECT max(finished_at)::VARCHAR FROM ingest_batch WHERE status = 'loaded')""").fetchall()[0]
        version = schema_version(con)
    assert row is not None
    return StoreInfo(db_path, db_path.stat().st_size, version, int(row[0]), int(row[1]), int(row[2]),
                     int(row[3]), int(row[4]), row[5], row[6], row[7])
