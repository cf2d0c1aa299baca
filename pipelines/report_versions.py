"""Re-sent reports: recognise a tumor report a facility sends again, in the loader's staging database.

A report's key is its reporting facility (`reportingFacility`, tumor level), the facility's patient id number
(`patientIdNumber`, patient level) and its tumor record number (`tumorRecordNumber`, tumor level), as
received; a report lacking any of the three (blank counts as lacking) has no key and loads as any report.

A report's content is the set of its (naaccrId, value) pairs and those of its patient record, blank values
left out (file-level items are not part of it). Two contents are compared by a digest computed in this one
DuckDB process for both sides: the number of pairs and two sums of 64-bit hashes of each pair. The digest is
never stored, so it needs no stability across DuckDB versions; and it is computed only for the reports whose
key is already in the store or appears more than once in the file, so a file of new reports pays only for
finding its keys.

A keyed report whose content equals that of the previous version of its key (the store's newest current
version, or the key's previous report earlier in the same file) adds nothing: it is set aside as unchanged
(`unchanged_tumor`), and so is a patient record all of whose loaded tumor records are unchanged
(`unchanged_patient`). They are no longer `loaded` in the staging `entity` table (so the batch counts them
apart), their warnings are deleted, and the commit leaves their packed records and typed-core rows out. The keys are read from the typed core (`typed_tumor`,
`typed_patient`: text columns hold the values as received), which costs next to nothing.

Any other keyed report loads and is listed in `keyed_report`; at commit, `SUPERSEDED_SELECT` (one of the
loader's copies, run by `registry.store_writes.commit_batch` with the store attached, inside the batch's
transaction, so two batches staged at once cannot both supersede the same version) marks every earlier
current version of its key superseded. Within one file the later report of a key is the newer version.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from registry.store import read_connection
from registry.store_writes import STORE_ALIAS

if TYPE_CHECKING:
    from pipelines.batch_result import BatchResult

KEY = ("reporting_facility", "patient_id_number", "tumor_record_number")
_KEY_COLUMNS = ", ".join(KEY)

# The keyed tumor records among the loaded ones, with their key as received (the typed core's text columns
# are the items' values as received).
_REPORT_KEYS = """
CREATE OR REPLACE TEMP TABLE report_key AS
SELECT t.tumor_seq, t.patient_seq, t.reporting_facility, p.patient_id_number, t.tumor_record_number
FROM typed_tumor t JOIN typed_patient p USING (patient_seq)
WHERE trim(t.reporting_facility) <> '' AND trim(p.patient_id_number) <> '' AND trim(t.tumor_record_number) <> ''
"""


def _digest(tumors: str, entities: str) -> str:
    """SELECT of the key, tumor_seq and content digest (n, h1, h2) of each tumor of `tumors` (key columns,
    tumor_seq, patient_seq, batch_id), from the per-record digests `entities` (batch_id, level, entity_seq,
    n, h1, h2): its own record's plus its patient record's."""
    return f"""
        SELECT {_KEY_COLUMNS}, c.tumor_seq, t.n + coalesce(p.n, 0) AS n, t.h1 + coalesce(p.h1, 0) AS h1,
               t.h2 + coalesce(p.h2, 0) AS h2
        FROM {tumors} c
        JOIN {entities} t ON t.batch_id = c.batch_id AND t.level = 2 AND t.entity_seq = c.tumor_seq
        LEFT JOIN {entities} p ON p.batch_id = c.batch_id AND p.level = 1 AND p.entity_seq = c.patient_seq"""


# The digest of one record's items: grouped by small integers first, so the 120-odd items of a report are
# summed once whatever the number of reports.
_RECORD_DIGEST = ("count(*) AS n, sum(hash(naaccr_id, value)) AS h1, sum(hash(value, naaccr_id)) AS h2")

# A packed record's items as rows (`registry/migrations/0010_item_layouts.sql`: record `s`, its layout `l`), for
# the few records whose content is compared: unpacked after they are chosen, not through the `source_item` view
# of every record. The content is its items whatever the layout's number, which differs from batch to batch.
_UNPACKED = ("unnest(string_split(l.naaccr_ids, chr(31))) AS naaccr_id, "
             "unnest(string_split(s.item_values, chr(31))) AS value")

# The store's newest current version of each staged key (staged keys registered as `staged_key`), with its
# content digest from the lossless layer.
_STORED_VERSIONS = f"""
WITH newest AS (
    SELECT k.reporting_facility, k.patient_id_number, k.tumor_record_number,
           arg_max(t.batch_id, t.tumor_id) AS batch_id, arg_max(t.tumor_seq, t.tumor_id) AS tumor_seq,
           arg_max(p.patient_seq, t.tumor_id) AS patient_seq
    FROM staged_key k
    JOIN tumor t ON t.reporting_facility = k.reporting_facility AND t.tumor_record_number = k.tumor_record_number
    JOIN patient p ON p.patient_id = t.patient_id AND p.patient_id_number = k.patient_id_number
    WHERE t.tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded)
    GROUP BY ALL),
wanted AS (
    SELECT batch_id, 2 AS level, tumor_seq AS entity_seq FROM newest
    UNION ALL
    SELECT batch_id, 1 AS level, patient_seq AS entity_seq FROM newest),
record AS (
    SELECT batch_id, level, entity_seq, {_RECORD_DIGEST}
    FROM (SELECT s.batch_id, 2 AS level, s.tumor_seq AS entity_seq, {_UNPACKED}
          FROM source_tumor s SEMI JOIN wanted w ON w.batch_id = s.batch_id AND w.level = 2 AND w.entity_seq = s.tumor_seq
          JOIN source_item_layout l ON l.batch_id = s.batch_id AND l.level = 2 AND l.layout_seq = s.layout_seq
          UNION ALL
          SELECT s.batch_id, 1 AS level, s.patient_seq AS entity_seq, {_UNPACKED}
          FROM source_patient s
          SEMI JOIN wanted w ON w.batch_id = s.batch_id AND w.level = 1 AND w.entity_seq = s.patient_seq
          JOIN source_item_layout l ON l.batch_id = s.batch_id AND l.level = 1 AND l.layout_seq = s.layout_seq)
    WHERE value <> ''
    GROUP BY ALL)
SELECT * EXCLUDE (tumor_seq) FROM ({_digest('newest', 'record')})"""

# At commit (the store attached as STORE_ALIAS, this batch's typed core already copied): every version of the
# keys this batch loaded that can have earlier versions, numbered in load order; each that has a later version
# and is not yet superseded is. A key can have earlier versions when it was in the store or repeated in the file
# at staging (`earlier`), or when a batch committed since staging (`staged_against`) brought it; any other key
# is new, so the store's tumors are read only for those keys.
SUPERSEDED_SELECT = f"""
WITH recent AS (
    SELECT t.reporting_facility, p.patient_id_number, t.tumor_record_number
    FROM {STORE_ALIAS}.tumor t JOIN {STORE_ALIAS}.patient p ON p.patient_id = t.patient_id
    WHERE t.batch_id > (SELECT last_batch FROM staged_against) AND t.batch_id <> $batch_id
      AND p.batch_id > (SELECT last_batch FROM staged_against)),
version_key AS (
    SELECT {_KEY_COLUMNS} FROM keyed_report WHERE earlier
    UNION
    SELECT {_KEY_COLUMNS} FROM keyed_report SEMI JOIN recent USING ({_KEY_COLUMNS})),
versions AS (
    SELECT t.tumor_id, t.patient_id, t.reporting_facility, p.patient_id_number, t.tumor_record_number,
           row_number() OVER w AS version, lead(t.tumor_id) OVER w AS superseded_by
    FROM {STORE_ALIAS}.tumor t
    JOIN {STORE_ALIAS}.patient p ON p.patient_id = t.patient_id
    SEMI JOIN version_key k
        ON k.reporting_facility = t.reporting_facility AND k.patient_id_number = p.patient_id_number
       AND k.tumor_record_number = t.tumor_record_number
    WINDOW w AS (PARTITION BY t.reporting_facility, p.patient_id_number, t.tumor_record_number ORDER BY t.tumor_id))
SELECT tumor_id, patient_id, {_KEY_COLUMNS}, version, superseded_by, now() AS superseded_at
FROM versions
WHERE superseded_by IS NOT NULL AND tumor_id NOT IN (SELECT tumor_id FROM {STORE_ALIAS}.source_tumor_superseded)"""


def _stored_versions(stage: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Stage `stored_version` (key, n, h1, h2): the store's newest current version of each key staged, and
    `staged_against` (last_batch): the store's last batch when it was read."""
    keys = stage.sql(f"SELECT DISTINCT {_KEY_COLUMNS} FROM report_key").to_arrow_table()
    if not keys.num_rows:
        stage.execute(f"CREATE OR REPLACE TEMP TABLE stored_version AS SELECT {_KEY_COLUMNS}, 0::BIGINT AS n, "
                      "0::HUGEINT AS h1, 0::HUGEINT AS h2 FROM report_key WHERE false")
        stage.execute("CREATE OR REPLACE TEMP TABLE staged_against AS SELECT 0 AS last_batch")
        return
    with read_connection(db_path) as con:
        last_batch = int(con.execute("SELECT coalesce(max(batch_id), 0) FROM ingest_batch").fetchall()[0][0])
        con.register("staged_key", keys)
        found = con.sql(_STORED_VERSIONS).to_arrow_table()
        con.unregister("staged_key")
    stage.execute("CREATE OR REPLACE TEMP TABLE staged_against AS SELECT ?::INTEGER AS last_batch", [last_batch])
    stage.register("stored_version_arrow", found)
    stage.execute("CREATE OR REPLACE TEMP TABLE stored_version AS SELECT * FROM stored_version_arrow")
    stage.unregister("stored_version_arrow")


def set_aside_resent(stage: duckdb.DuckDBPyConnection, db_path: Path, result: BatchResult) -> None:
    """After validation and the typed core: set aside the reports re-sent unchanged (counted in `result`)
    and stage `keyed_report`, the keyed reports that load (see the module docstring)."""
    stage.execute(_REPORT_KEYS)
    _stored_versions(stage, db_path)
    stage.execute(f"""
        CREATE OR REPLACE TEMP TABLE candidate AS
        SELECT * FROM report_key
        WHERE ({_KEY_COLUMNS}) IN (SELECT {_KEY_COLUMNS} FROM stored_version
                                   UNION ALL
                                   SELECT {_KEY_COLUMNS} FROM report_key GROUP BY ALL HAVING count(*) > 1)""")
    stage.execute("CREATE OR REPLACE TEMP TABLE unchanged_tumor AS SELECT tumor_seq FROM report_key WHERE false")
    stage.execute("CREATE OR REPLACE TEMP TABLE unchanged_patient AS SELECT patient_seq FROM report_key WHERE false")
    stage.execute("CREATE OR REPLACE TEMP TABLE keyed_report AS SELECT *, tumor_seq IN (SELECT tumor_seq FROM candidate) "
                  "AS earlier FROM report_key")
    if not stage.execute("SELECT count(*) FROM candidate").fetchall()[0][0]:
        return   # every keyed report is new: nothing to compare
    stage.execute(f"""
        INSERT INTO unchanged_tumor
        WITH record AS (
            SELECT 0 AS batch_id, level, entity_seq, {_RECORD_DIGEST}
            FROM (SELECT 2 AS level, s.tumor_seq AS entity_seq, {_UNPACKED}
                  FROM source_tumor_records s JOIN source_item_layouts l ON l.level = 2 AND l.layout_seq = s.layout_seq
                  WHERE s.patient_seq IN (SELECT patient_seq FROM candidate)
                  UNION ALL
                  SELECT 1 AS level, s.patient_seq AS entity_seq, {_UNPACKED}
                  FROM source_patient_records s JOIN source_item_layouts l ON l.level = 1 AND l.layout_seq = s.layout_seq
                  WHERE s.patient_seq IN (SELECT patient_seq FROM candidate))
            WHERE value <> ''
            GROUP BY ALL),
        sequence AS (
            SELECT {_KEY_COLUMNS}, 0 AS tumor_seq, n, h1, h2 FROM stored_version
            UNION ALL
            SELECT * FROM ({_digest('(SELECT *, 0 AS batch_id FROM candidate)', 'record')}))
        SELECT tumor_seq FROM (
            SELECT *, lag((n, h1, h2)) OVER (PARTITION BY {_KEY_COLUMNS} ORDER BY tumor_seq) AS previous
            FROM sequence)
        WHERE tumor_seq > 0 AND (n, h1, h2) = previous""")
    stage.execute("""
        INSERT INTO unchanged_patient
        SELECT DISTINCT e.patient_seq FROM loaded_entity e
        WHERE e.kind = 2 AND e.tumor_seq IN (SELECT tumor_seq FROM unchanged_tumor)
          AND NOT EXISTS (SELECT 1 FROM loaded_entity o WHERE o.kind = 2 AND o.patient_seq = e.patient_seq
                          AND o.tumor_seq NOT IN (SELECT tumor_seq FROM unchanged_tumor))""")
    stage.execute("DELETE FROM keyed_report WHERE tumor_seq IN (SELECT tumor_seq FROM unchanged_tumor)")
    tumors, patients = (int(v) for v in stage.execute(
        "SELECT (SELECT count(*) FROM unchanged_tumor), (SELECT count(*) FROM unchanged_patient)").fetchall()[0])
    result.tumors_unchanged, result.patients_unchanged = tumors, patients
    if not tumors:
        return
    # What loads no longer holds them (the packed records are filtered at commit, `pipelines.load`).
    stage.execute("""
        UPDATE entity SET loaded = false
        WHERE (kind = 2 AND tumor_seq IN (SELECT tumor_seq FROM unchanged_tumor))
           OR (kind = 1 AND patient_seq IN (SELECT patient_seq FROM unchanged_patient))""")
    # Warnings about records that add nothing are not kept either (they were given when the report loaded).
    stage.execute("""
        DELETE FROM warning_row
        WHERE tumor_seq IN (SELECT tumor_seq FROM unchanged_tumor)
           OR (tumor_seq = 0 AND patient_seq IN (SELECT patient_seq FROM unchanged_patient))""")
