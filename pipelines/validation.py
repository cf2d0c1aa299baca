"""Structural checks of a staged batch, the same for every input format.

Every item is checked against the dictionaries that apply to the file: it must exist, sit at its level,
fit its length and match its item number; data-type and record-type mismatches are warnings. Problems
the readers found while reading (duplicate items, flat line lengths...) join the same list. A rejected
patient takes its tumors with it. The outcome is staged as ``loaded_entity``, ``loaded_item``,
``reject_row`` and ``warning_row``; coding edits (site/histology, dates) are a separate stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from registry.naaccr import DATA_TYPE_PATTERNS, FULL_LENGTH_TYPES

if TYPE_CHECKING:
    from pipelines.batch_result import BatchResult
    from pipelines.records import SourceFile

# Formats whose patients are runs of lines with the same patientIdNumber (not elements of their own).
LINE_FORMATS = ("naaccr-flat", "csv", "excel")
MAX_MESSAGES = 20

# The data-type patterns as constants, so each is compiled once (registry.naaccr.DATA_TYPE_PATTERNS).
_TYPE_OK = "CASE d.data_type " + " ".join(
    f"WHEN '{name}' THEN regexp_full_match(i.value, '{pattern[1:-1]}')"
    for name, pattern in DATA_TYPE_PATTERNS.items()) + " ELSE true END"

# Item checks in order of precedence: (rule, severity, condition, reason). Each item is reported
# under the first rule it breaks; all are evaluated in one pass over the items joined to the dictionary.
ITEM_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("unknown-item", "reject", "d.naaccr_num IS NULL",
     "'unknown item ''' || naaccr_id || ''': not in the NAACCR v' || $version "
     "|| ' dictionary nor in the user dictionaries the file declares'"),
    ("wrong-level", "reject", "d.level <> CASE i.level WHEN 1 THEN 'Patient' ELSE 'Tumor' END",
     "'item ''' || naaccr_id || ''' belongs at ' || dict_level || ' level but appears in a ' "
     "|| CASE level WHEN 1 THEN 'Patient' ELSE 'Tumor' END"),
    ("too-long", "reject", "length(i.value) > d.length",
     "'value of ' || length(value) || ' characters is longer than the item''s length ' || dict_length"),
    ("item-number-mismatch", "reject", "i.naaccr_num <> d.naaccr_num",
     "'naaccrNum ' || naaccr_num || ' does not match item number ' || dict_num || ' of ''' || naaccr_id || ''''"),
    ("invalid-for-data-type", "warning",
     f"NOT ({_TYPE_OK}) OR (d.full_length AND length(i.value) <> d.length)",
     "'value ''' || value || ''' is not valid for data type ' || data_type "
     "|| CASE WHEN full_length THEN ' of length ' || dict_length ELSE '' END"),
    ("not-in-record-type", "warning", "NOT list_contains(d.record_types, $record_type)",
     "'item ''' || naaccr_id || ''' is not part of record type ' || $record_type"),
)

_ITEM_PROBLEMS = (
    "INSERT INTO problem\n"
    "SELECT CASE rule " + " ".join(f"WHEN '{r}' THEN '{s}'" for r, s, _, _ in ITEM_RULES) + " END,\n"
    "       rule, patient_seq, tumor_seq, line, naaccr_id,\n"
    "       CASE rule " + " ".join(f"WHEN '{r}' THEN {why}" for r, _, _, why in ITEM_RULES) + " END\n"
    "FROM (SELECT i.*, d.naaccr_num AS dict_num, d.level AS dict_level, d.length AS dict_length,\n"
    "             d.data_type, d.full_length,\n"
    "             CASE " + " ".join(f"WHEN {cond} THEN '{r}'" for r, _, cond, _ in ITEM_RULES) + " END AS rule\n"
    "      FROM item i LEFT JOIN dict_item d USING (naaccr_id))\n"
    "WHERE rule IS NOT NULL"
)

def _dictionary_table(source: SourceFile) -> pa.Table:
    items = list(source.dictionary.items.values())
    return pa.table({
        "naaccr_id": [i.naaccr_id for i in items],
        "naaccr_num": pa.array([i.naaccr_num for i in items], pa.int32()),
        "level": [i.level for i in items],
        "length": pa.array([i.length for i in items], pa.int32()),
        "data_type": [i.data_type for i in items],
        "full_length": [i.data_type in FULL_LENGTH_TYPES for i in items],
        "record_types": [list(i.record_types) for i in items],
    })


def _root_item_problems(source: SourceFile) -> list[tuple[str, str]]:
    problems = []
    for naaccr_id, value in source.root_items.items():
        item = source.dictionary.items.get(naaccr_id)
        if item is None:
            problems.append((naaccr_id, f"unknown file-level item '{naaccr_id}'"))
        elif item.level != "NaaccrData":
            problems.append((naaccr_id, f"item '{naaccr_id}' belongs at {item.level} level, "
                                        "not in NaaccrData"))
        elif len(value) > item.length:
            problems.append((naaccr_id, f"file-level value of {len(value)} characters is longer than "
                                        f"the item's length {item.length}"))
    return problems


def validate_batch(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Run the checks and stage loaded and rejected records (see module docstring)."""
    con.register("dict_arrow", _dictionary_table(source))
    con.execute("CREATE OR REPLACE TABLE dict_item AS SELECT * FROM dict_arrow")
    con.unregister("dict_arrow")
    con.register("root_arrow", pa.table({"naaccr_id": list(source.root_items),
                                         "value": list(source.root_items.values())}, schema=pa.schema(
                                             [("naaccr_id", pa.string()), ("value", pa.string())])))
    con.execute("CREATE OR REPLACE TABLE root_item AS SELECT * FROM root_arrow")
    con.unregister("root_arrow")

    con.execute("""CREATE OR REPLACE TABLE problem (severity VARCHAR, rule VARCHAR, patient_seq INTEGER,
                   tumor_seq INTEGER, line BIGINT, naaccr_id VARCHAR, reason VARCHAR)""")
    con.execute("""INSERT INTO problem SELECT severity, rule, patient_seq, tumor_seq, line, naaccr_id, reason
                   FROM issue""")
    con.execute(_ITEM_PROBLEMS, {"version": source.naaccr_version, "record_type": source.record_type})
    file_warnings: list[tuple[str, str | None, str]] = [("file", None, w) for w in source.warnings]
    file_warnings += [("file-level-item", item, reason) for item, reason in _root_item_problems(source)]
    for rule, naaccr_id, reason in file_warnings:
        con.execute("INSERT INTO problem VALUES ('warning', ?, 0, 0, NULL, ?, ?)", [rule, naaccr_id, reason])

    con.execute("""
        CREATE OR REPLACE TABLE rejected_patient AS
        SELECT DISTINCT patient_seq FROM problem
        WHERE severity = 'reject' AND tumor_seq = 0 AND patient_seq > 0""")
    con.execute("""
        CREATE OR REPLACE TABLE rejected_tumor AS
        SELECT DISTINCT tumor_seq FROM problem WHERE severity = 'reject' AND tumor_seq > 0
        UNION
        SELECT e.tumor_seq FROM entity e SEMI JOIN rejected_patient r USING (patient_seq) WHERE e.kind = 2""")
    if source.format in LINE_FORMATS:
        # A patient made only of rejected lines has nothing left to load: reject it too.
        con.execute("""
            INSERT INTO problem
            SELECT 'reject', 'no-record-loaded', p.patient_seq, 0, p.line, NULL,
                   'none of the patient''s records could be loaded'
            FROM entity p
            WHERE p.kind = 1 AND p.patient_seq NOT IN (SELECT patient_seq FROM rejected_patient)
              AND EXISTS (SELECT 1 FROM entity t WHERE t.kind = 2 AND t.patient_seq = p.patient_seq)
              AND NOT EXISTS (SELECT 1 FROM entity t WHERE t.kind = 2 AND t.patient_seq = p.patient_seq
                              AND t.tumor_seq NOT IN (SELECT tumor_seq FROM rejected_tumor))""")
        con.execute("""INSERT INTO rejected_patient SELECT patient_seq FROM problem
                       WHERE rule = 'no-record-loaded'""")
    con.execute("""
        CREATE OR REPLACE VIEW loaded_entity AS
        SELECT * FROM entity e
        WHERE NOT (e.kind = 1 AND e.patient_seq IN (SELECT patient_seq FROM rejected_patient))
          AND NOT (e.kind = 2 AND e.tumor_seq IN (SELECT tumor_seq FROM rejected_tumor))""")
    con.execute("""
        CREATE OR REPLACE VIEW loaded_item AS
        SELECT level, patient_seq, tumor_seq, naaccr_id, value FROM item i
        WHERE i.patient_seq NOT IN (SELECT patient_seq FROM rejected_patient)
          AND (i.tumor_seq = 0 OR i.tumor_seq NOT IN (SELECT tumor_seq FROM rejected_tumor))""")
    _stage_reject_rows(con)
    con.execute("""
        CREATE OR REPLACE TABLE warning_row AS
        SELECT patient_seq, tumor_seq, line, naaccr_id, rule, reason FROM problem w
        WHERE severity = 'warning'
          AND (tumor_seq = 0 OR tumor_seq NOT IN (SELECT tumor_seq FROM rejected_tumor))
          AND (patient_seq = 0 OR patient_seq NOT IN (SELECT patient_seq FROM rejected_patient))""")


def _stage_reject_rows(con: duckdb.DuckDBPyConnection) -> None:
    """One row per reason per rejected record, with the record as received (or rebuilt as XML)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE rebuilt AS
        WITH escaped AS (
            SELECT level, patient_seq, tumor_seq, line,
                   '<Item naaccrId="' || naaccr_id || '">'
                   || replace(replace(replace(value, '&', '&amp;'), '<', '&lt;'), '>', '&gt;') || '</Item>' AS xml
            FROM item
            WHERE patient_seq IN (SELECT patient_seq FROM rejected_patient)
               OR tumor_seq IN (SELECT tumor_seq FROM rejected_tumor)),
        tumors AS (
            SELECT patient_seq, tumor_seq, '<Tumor>' || string_agg(xml, '' ORDER BY line) || '</Tumor>' AS xml
            FROM escaped WHERE level = 2 GROUP BY patient_seq, tumor_seq)
        SELECT 2 AS kind, patient_seq, tumor_seq, xml FROM tumors
        UNION ALL
        SELECT 1, p.patient_seq, 0,
               '<Patient>' || coalesce((SELECT string_agg(xml, '' ORDER BY line) FROM escaped e
                                       WHERE e.level = 1 AND e.patient_seq = p.patient_seq), '')
               || coalesce((SELECT string_agg(xml, '' ORDER BY tumor_seq) FROM tumors t
                            WHERE t.patient_seq = p.patient_seq), '') || '</Patient>'
        FROM rejected_patient p""")
    con.execute("""
        CREATE OR REPLACE TABLE reject_row AS
        WITH reasons AS (
            SELECT patient_seq, tumor_seq, line, naaccr_id, rule, reason FROM problem
            WHERE severity = 'reject' AND patient_seq > 0
            UNION ALL
            SELECT e.patient_seq, e.tumor_seq, e.line, NULL, 'patient-rejected',
                   'its patient record (line ' || coalesce(pe.line::VARCHAR, '?') || ') was rejected'
            FROM entity e JOIN rejected_patient USING (patient_seq)
            LEFT JOIN entity pe ON pe.kind = 1 AND pe.patient_seq = e.patient_seq
            WHERE e.kind = 2)
        SELECT r.patient_seq, r.tumor_seq, r.line, r.naaccr_id, r.rule, r.reason,
               coalesce(CASE WHEN r.tumor_seq > 0 THEN te.raw END,
                        CASE WHEN r.tumor_seq = 0
                             THEN (SELECT string_agg(raw, chr(10) ORDER BY tumor_seq) FROM entity x
                                   WHERE x.kind = 2 AND x.patient_seq = r.patient_seq) END,
                        rb.xml) AS raw_record
        FROM reasons r
        LEFT JOIN entity te ON te.kind = 2 AND te.tumor_seq = r.tumor_seq AND r.tumor_seq > 0
        LEFT JOIN rebuilt rb ON rb.patient_seq = r.patient_seq AND rb.tumor_seq = r.tumor_seq""")


def summarise(con: duckdb.DuckDBPyConnection, source: SourceFile, result: BatchResult) -> None:
    """Fill the batch result's counts, per-rule tallies and first messages."""
    row = con.execute("""
        SELECT (SELECT count(*) FROM entity WHERE kind = 1), (SELECT count(*) FROM loaded_entity WHERE kind = 1),
               (SELECT count(*) FROM entity WHERE kind = 2), (SELECT count(*) FROM loaded_entity WHERE kind = 2),
               (SELECT count(*) FROM warning_row)""").fetchall()[0]
    assert row is not None
    result.patients_read, result.patients_loaded, result.tumors_read, result.tumors_loaded, result.warnings = (
        int(v) for v in row)
    # Read = loaded + rejected + re-sent unchanged (`pipelines.report_versions` counts the last).
    result.patients_rejected = result.patients_read - result.patients_loaded - result.patients_unchanged
    result.tumors_rejected = result.tumors_read - result.tumors_loaded - result.tumors_unchanged
    result.rejects_by_rule = dict(con.execute(
        "SELECT rule, count(DISTINCT (patient_seq, tumor_seq)) FROM reject_row GROUP BY rule ORDER BY 2 DESC"
    ).fetchall())
    result.warnings_by_rule = dict(con.execute(
        "SELECT rule, count(*) FROM warning_row GROUP BY rule ORDER BY 2 DESC").fetchall())
    for severity, table in (("rejected", "reject_row"), ("warning", "warning_row")):
        for p_seq, t_seq, line, naaccr_id, reason in con.execute(
                f"SELECT patient_seq, tumor_seq, line, naaccr_id, reason FROM {table} "
                f"ORDER BY line NULLS FIRST LIMIT {MAX_MESSAGES}").fetchall():
            result.messages.append(describe(source, severity, p_seq, t_seq, line, naaccr_id, reason))


def describe(source: SourceFile, severity: str, patient_seq: int | None, tumor_seq: int | None,
             line: int | None, naaccr_id: str | None, reason: str) -> str:
    """A problem as one line naming the file, the record and the item."""
    where = [str(source.path)]
    if line:
        where.append(f"line {line}")
    if patient_seq:
        where.append(f"patient #{patient_seq}" + (f" tumor #{tumor_seq}" if tumor_seq else ""))
    if naaccr_id:
        where.append(f"item {naaccr_id}")
    return f"{', '.join(where)}: {severity}: {reason}"
