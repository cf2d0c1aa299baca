"""Read-only views of the store's provenance: ingest batches, rejects and overall store facts.

Each takes the caller's `Principal` and releases through `registry.privacy`: registrars see every count;
administrators see every file (operations: what loaded, what failed and why) with a file's counts of 1-15
withheld, since a file name carries the facility and the year; researchers get only the store overview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from registry.access import VIEW_INGEST_BATCHES, VIEW_STORE_OVERVIEW, require
from registry.link_review import pending_counts
from registry.linkage_store import entity_counts
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.privacy import apply_policy, release_row_counts, release_total
from registry.release import bare
from registry.store import read_connection, schema_version

BATCH_COLUMNS = ("batch_id, file_name, format, naaccr_version, record_type, status, tumors_read, "
                 "tumors_loaded, tumors_rejected, tumors_unchanged, patients_read, patients_loaded, patients_rejected, "
                 "patients_unchanged, warnings, loaded_by, started_at, finished_at, sha256, message")
# The record counts of a batch, released together (read = loaded + rejected + re-sent unchanged); its
# warnings (item problems, not records) are withheld with them.
BATCH_COUNTS = ("tumors_read", "tumors_loaded", "tumors_rejected", "tumors_unchanged", "patients_read",
                "patients_loaded", "patients_rejected", "patients_unchanged")


def list_batches(principal: Principal, db_path: Path | None = None, *, limit: int = 1000) -> pd.DataFrame:
    """Ingest batches, newest first (registrars and administrators; small per-file counts withheld for
    administrators, flagged in `suppressed`)."""
    require(principal, VIEW_INGEST_BATCHES)
    with read_connection(db_path) as con:
        frame = con.execute(f"SELECT {BATCH_COLUMNS} FROM ingest_batch ORDER BY batch_id DESC LIMIT ?",
                            [limit]).df()
    return bare(release_row_counts(principal, frame, counts=BATCH_COUNTS, key="batch_id", withheld_with=("warnings",)))


def rejects_by_rule(principal: Principal, db_path: Path | None = None, *,
                    batch_id: int | None = None) -> pd.DataFrame:
    """Rejected records per batch and rule (no record content: counts only; registrars and administrators,
    counts of 1-15 withheld for administrators)."""
    require(principal, VIEW_INGEST_BATCHES)
    with read_connection(db_path) as con:
        frame = con.execute(
            """SELECT batch_id, rule, count(DISTINCT (patient_seq, tumor_seq)) AS records, min(reason) AS example
               FROM reject WHERE ? IS NULL OR batch_id = ? GROUP BY batch_id, rule ORDER BY batch_id, records DESC""",
            [batch_id, batch_id]).df()
    return bare(apply_policy(principal, frame, kind="aggregate", count_column="records",
                             dimensions=["batch_id", "rule"]))


@dataclass(frozen=True)
class StoreInfo:
    """Headline facts about a store."""

    path: Path
    size_bytes: int
    schema_version: int
    batches_loaded: int
    batches_failed: int
    patients: int | None   # registry patients (each person once); None: withheld (1-15) for this caller
    tumors: int | None     # registry tumors (each cancer once)
    patient_reports: int | None   # source patient records (one per facility's report of a person)
    tumor_reports: int | None     # source tumor records
    unlinked_reports: int | None  # tumor reports not yet linked (run `registry link`)
    pending_reviews: int | None   # pairs waiting for a reviewer's decision
    rejects: int | None
    first_diagnosis_year: int | None
    last_diagnosis_year: int | None
    last_loaded_at: datetime | None


def store_info(principal: Principal, db_path: Path) -> StoreInfo:
    """Size, schema version, reports, registry entities and pending reviews of the store at db_path (every
    role; a count of 1-15 is None for researchers and administrators)."""
    require(principal, VIEW_STORE_OVERVIEW)
    with read_connection(db_path) as con:
        row = con.execute("""
            SELECT (SELECT count(*) FROM ingest_batch WHERE status = 'loaded'),
                   (SELECT count(*) FROM ingest_batch WHERE status = 'failed'),
                   (SELECT count(DISTINCT (batch_id, patient_seq, tumor_seq)) FROM reject),
                   (SELECT min(diagnosis_year) FROM registry_tumor), (SELECT max(diagnosis_year) FROM registry_tumor),
                   (SELECT max(finished_at) FROM ingest_batch WHERE status = 'loaded')""").fetchall()[0]
        counts = entity_counts(con)
        version = schema_version(con)
    assert row is not None
    pending = sum(pending_counts(open_operational_store(db_path)).values())
    def released(value: int) -> int | None:
        return release_total(principal, value)

    return StoreInfo(db_path, db_path.stat().st_size, version, int(row[0]), int(row[1]),
                     patients=released(counts.registry_patients), tumors=released(counts.registry_tumors),
                     patient_reports=released(counts.patient_reports), tumor_reports=released(counts.tumor_reports),
                     unlinked_reports=released(counts.unlinked_reports), pending_reviews=released(pending),
                     rejects=released(int(row[2])), first_diagnosis_year=row[3], last_diagnosis_year=row[4],
                     last_loaded_at=row[5])


def records_loaded_by_month(db_path: Path) -> pd.DataFrame:
    """Tumor records loaded per person and month (UTC) of the load: ``person``, ``month`` (YYYY-MM), ``count``
    (for the registrar workload of `registry.program_statistics`; released there)."""
    with read_connection(db_path) as con:
        return con.execute(
            """SELECT coalesce(loaded_by, 'unknown') AS person,
                      strftime(coalesce(finished_at, started_at) AT TIME ZONE 'UTC', '%Y-%m') AS month,
                      CAST(sum(tumors_loaded) AS BIGINT) AS count
               FROM ingest_batch WHERE status = 'loaded' AND coalesce(finished_at, started_at) IS NOT NULL
               GROUP BY ALL ORDER BY month, person""").df()
