"""What the linkage reads from the analytic store: links, candidate pairs, the current model, the natural
keys of source records and the facts the multiple-primary rules compare.

Natural keys name a source record the way a registry and a reporting facility both can: a patient record
by its reporting facility and the facility's patient id number, a tumor record by those and the tumor
record number. A record lacking them is named by its file's SHA-256 and its place in the file. Reviewers'
decisions are kept under these keys, so they hold across relinks and re-ingests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

# The reporting facility of a source patient record: that of its first tumor record.
_PATIENT_FACILITY = """(SELECT patient_id, arg_min(reporting_facility, tumor_id) AS reporting_facility
                        FROM tumor GROUP BY patient_id)"""

PATIENT_KEYS = f"""
    SELECT p.patient_id AS source_patient_id,
           coalesce(nullif(f.reporting_facility, '') || '/' || nullif(p.patient_id_number, ''),
                    b.sha256 || '#' || p.patient_seq) AS natural_key
    FROM patient p
    JOIN ingest_batch b USING (batch_id)
    LEFT JOIN {_PATIENT_FACILITY} f USING (patient_id)"""

TUMOR_FACTS = """
    SELECT t.tumor_id AS source_tumor_id, t.patient_id AS source_patient_id,
           coalesce(nullif(t.reporting_facility, '') || '/' || nullif(p.patient_id_number, '') || '/'
                        || nullif(t.tumor_record_number, ''),
                    b.sha256 || '#' || t.tumor_seq) AS natural_key,
           t.primary_site, t.histology, t.behavior, t.laterality, t.date_of_diagnosis,
           t.date_of_diagnosis_precision
    FROM tumor t
    JOIN patient p USING (patient_id)
    JOIN ingest_batch b ON b.batch_id = t.batch_id"""


@dataclass(frozen=True)
class StoredModel:
    """The linkage model kept with the store (the latest version)."""

    version: int
    settings: str
    upper_threshold: float
    lower_threshold: float
    records: int
    trained_at: str


@contextmanager
def _region(con: duckdb.DuckDBPyConnection, ids: Sequence[int] | None) -> Iterator[str]:
    """A condition on a source patient id column `{}`: true for every record, or for the records of `ids`
    (registered on the connection for the statement)."""
    if ids is None:
        yield "true"
        return
    con.register("linkage_region", pa.table({"id": pa.array(sorted(set(ids)), pa.int64())}))
    try:
        yield "{} IN (SELECT id FROM linkage_region)"
    finally:
        con.unregister("linkage_region")


def patient_keys(con: duckdb.DuckDBPyConnection, ids: Sequence[int] | None = None) -> pd.DataFrame:
    """source_patient_id, natural_key of every source patient record (or of those of `ids`)."""
    with _region(con, ids) as where:
        return con.execute(f"{PATIENT_KEYS} WHERE {where.format('p.patient_id')} ORDER BY p.patient_id").df()


def tumor_facts(con: duckdb.DuckDBPyConnection, ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Source tumor records (of the source patients `ids`) with their source patient, natural key and what
    the rules compare."""
    with _region(con, ids) as where:
        return con.execute(f"{TUMOR_FACTS} WHERE {where.format('t.patient_id')} ORDER BY t.tumor_id").df()


def patient_links(con: duckdb.DuckDBPyConnection, ids: Sequence[int] | None = None) -> pd.DataFrame:
    """The current link of every linked source patient record (of `ids`)."""
    with _region(con, ids) as where:
        return con.execute(f"SELECT * FROM patient_link WHERE {where.format('source_patient_id')} "
                           "ORDER BY source_patient_id").df()


def tumor_links(con: duckdb.DuckDBPyConnection, ids: Sequence[int] | None = None) -> pd.DataFrame:
    """The current link of every linked source tumor record (of the source patients `ids`)."""
    with _region(con, ids) as where:
        return con.execute(f"""SELECT l.* FROM tumor_link l JOIN tumor t ON t.tumor_id = l.source_tumor_id
                               WHERE {where.format('t.patient_id')} ORDER BY l.source_tumor_id""").df()


def candidate_pairs(con: duckdb.DuckDBPyConnection, ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Stored candidate pairs (left_id, right_id, method, match_weight, comparison_weights), all or those
    with both records in `ids`."""
    with _region(con, ids) as where:
        return con.execute(f"SELECT * FROM patient_pair WHERE {where.format('left_id')} "
                           f"AND {where.format('right_id')} ORDER BY left_id, right_id").df()


def linked_region(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> list[int]:
    """`ids` and every source patient record linked to the same registry patient as one of them."""
    with _region(con, ids) as where:
        rows = con.execute(f"""SELECT source_patient_id FROM patient_link WHERE registry_patient_id IN
                                   (SELECT registry_patient_id FROM patient_link
                                    WHERE {where.format('source_patient_id')})""").fetchall()
    return sorted({int(r[0]) for r in rows} | {int(i) for i in ids})


def largest_registry_ids(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """The largest registry patient and tumor ids ever linked (0 before the first link)."""
    row = con.execute("SELECT (SELECT coalesce(max(registry_patient_id), 0) FROM patient_link), "
                      "(SELECT coalesce(max(registry_tumor_id), 0) FROM tumor_link)").fetchall()[0]
    return int(row[0]), int(row[1])


def current_model(con: duckdb.DuckDBPyConnection) -> StoredModel | None:
    """The latest linkage model, or None before the first training."""
    row = con.execute("SELECT version, settings, upper_threshold, lower_threshold, records, CAST(trained_at AS VARCHAR) "
                      "FROM linkage_model ORDER BY version DESC LIMIT 1").fetchall()
    if not row:
        return None
    version, settings, upper, lower, records, trained_at = row[0]
    return StoredModel(int(version), str(settings), float(upper), float(lower), int(records), str(trained_at))


def unlinked_patient_ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Source patient records not yet linked to a registry patient (superseded ones never are)."""
    return [int(r[0]) for r in con.execute(
        "SELECT patient_id FROM patient WHERE patient_id NOT IN (SELECT source_patient_id FROM patient_link) "
        "AND patient_id NOT IN (SELECT patient_id FROM source_patient_superseded) ORDER BY patient_id").fetchall()]


@dataclass(frozen=True)
class Superseded:
    """Source records superseded by a newer version of their report, which take no part in linkage, and the
    registry ids each newest version inherits from the latest linked earlier version of its report."""

    patients: set[int]
    tumors: set[int]
    patient_heir: dict[int, int]   # source patient id of a newest version -> registry patient id
    tumor_heir: dict[int, int]     # source tumor id of a newest version -> registry tumor id


def superseded(con: duckdb.DuckDBPyConnection) -> Superseded:
    """The superseded source records and what their newest versions inherit (see `Superseded`)."""
    patients = {int(r[0]) for r in con.execute("SELECT patient_id FROM source_patient_superseded").fetchall()}
    tumors = {int(r[0]) for r in con.execute("SELECT tumor_id FROM source_tumor_superseded").fetchall()}
    heirs = con.execute("""
        SELECT c.superseded_by, any_value(t.patient_id), arg_max(l.registry_tumor_id, s.tumor_id),
               arg_max(pl.registry_patient_id, s.tumor_id)
        FROM source_tumor_superseded c
        JOIN source_tumor_superseded s USING (reporting_facility, patient_id_number, tumor_record_number)
        JOIN tumor_link l ON l.source_tumor_id = s.tumor_id
        JOIN patient_link pl ON pl.source_patient_id = s.patient_id
        JOIN tumor t ON t.tumor_id = c.superseded_by
        WHERE c.superseded_by NOT IN (SELECT tumor_id FROM source_tumor_superseded)
        GROUP BY c.superseded_by""").fetchall()
    return Superseded(patients, tumors, {int(r[1]): int(r[3]) for r in heirs}, {int(r[0]): int(r[2]) for r in heirs})


@dataclass(frozen=True)
class EntityCounts:
    """Reports against registry entities: what `registry info` and the overview show."""

    patient_reports: int
    tumor_reports: int
    registry_patients: int
    registry_tumors: int
    unlinked_reports: int


def entity_counts(con: duckdb.DuckDBPyConnection) -> EntityCounts:
    """How many source records and registry entities the store holds, and how many reports wait for linkage."""
    row = con.execute("""SELECT (SELECT count(*) FROM patient), (SELECT count(*) FROM tumor),
                                (SELECT count(*) FROM registry_patient), (SELECT count(*) FROM registry_tumor),
                                (SELECT count(*) FROM tumor WHERE tumor_id NOT IN
                                    (SELECT source_tumor_id FROM tumor_link)
                                 AND tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded))""").fetchall()[0]
    return EntityCounts(*(int(value) for value in row))
