"""Reading what the coding edits check, in chunks, from the analytic store (read-only).

Source tumor reports are edited on their items as received: the lossless layer (`source_item`) is pivoted in
DuckDB to one column per item the edits read, patient-level items joined to each of the patient's tumors,
one chunk of batches (or of one batch's tumors) at a time. Registry tumors are edited on their consolidated
values (`registry_tumor`, `registry_patient`, first-course treatment start dates from `registry_treatment`),
dates written back in NAACCR form at their precision.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from registry.naaccr import SUPPORTED_VERSIONS, base_dictionary

REPORT_CHUNK = 100_000        # source tumor reports per chunk
TUMOR_CHUNK = 200_000         # registry tumors per chunk
READ_MEMORY_LIMIT = "512MB"
SEQ_SHIFT = 2 ** 32           # tumor_id = batch_id * 2^32 + tumor_seq
VERSION_COLUMN = "naaccrVersion"   # the report's NAACCR version (of its file), e.g. 180, 250

# Registry tumor columns -> the NAACCR items they hold.
TUMOR_COLUMNS = {"primary_site": "primarySite", "histology": "histologicTypeIcdO3", "behavior": "behaviorCodeIcdO3",
                 "laterality": "laterality", "grade": "grade", "grade_clinical": "gradeClinical",
                 "grade_pathological": "gradePathological", "diagnostic_confirmation": "diagnosticConfirmation",
                 "type_of_reporting_source": "typeOfReportingSource", "addr_at_dx_state": "addrAtDxState",
                 "county_at_dx": "countyAtDx", "addr_at_dx_postal_code": "addrAtDxPostalCode",
                 "primary_payer_at_dx": "primaryPayerAtDx", "summary_stage_2018": "summaryStage2018",
                 "seer_summary_stage_2000": "seerSummaryStage2000"}
PATIENT_COLUMNS = {"sex": "sex", "race1": "race1", "vital_status": "vitalStatus"}
DATE_COLUMNS = {"t.date_of_diagnosis": "dateOfDiagnosis", "p.date_of_birth": "dateOfBirth",
                "p.date_of_last_contact": "dateOfLastContact"}
TREATMENT_DATES = {"surgery": "rxDateSurgery", "radiation": "rxDateRadiation", "chemotherapy": "rxDateChemo",
                   "hormone": "rxDateHormone", "immunotherapy": "rxDateBrm", "other": "rxDateOther"}


@dataclass(frozen=True)
class ReportChunk:
    """Source tumor reports of some batches, or of one batch's range of tumor sequence numbers."""

    batch_ids: tuple[int, ...]
    first_seq: int | None = None
    last_seq: int | None = None


def _naaccr_date(column: str) -> str:
    """SQL: a DATE column and its precision column as NAACCR text (YYYYMMDD, YYYYMM or YYYY)."""
    return (f"CASE {column}_precision WHEN 'Y' THEN strftime({column}, '%Y') WHEN 'M' THEN strftime({column}, '%Y%m') "
            f"ELSE strftime({column}, '%Y%m%d') END")


def report_chunks(con: duckdb.DuckDBPyConnection, batch_ids: Sequence[int] | None,
                  scope_table: str | None) -> list[ReportChunk]:
    """Chunks of at most REPORT_CHUNK reports covering the batches (every batch when None), restricted to
    the reports in `scope_table` (column tumor_id) when given."""
    where, params = [], []
    if batch_ids is not None:
        where.append("batch_id IN (SELECT unnest(?::INTEGER[]))")
        params.append(list(batch_ids))
    if scope_table is not None:
        where.append(f"tumor_id IN (SELECT tumor_id FROM {scope_table})")
    sql = "SELECT batch_id, count(*), min(tumor_seq), max(tumor_seq) FROM tumor"
    sql += (" WHERE " + " AND ".join(where)) if where else ""
    counts = con.execute(sql + " GROUP BY batch_id ORDER BY batch_id", params).fetchall()
    chunks: list[ReportChunk] = []
    pending: list[int] = []
    size = 0
    for batch_id, count, low, high in counts:
        if count > REPORT_CHUNK:
            step = max((high - low + 1) * REPORT_CHUNK // count, 1)
            chunks += [ReportChunk((batch_id,), start, min(start + step - 1, high)) for start in range(low, high + 1, step)]
            continue
        if size + count > REPORT_CHUNK and pending:
            chunks.append(ReportChunk(tuple(pending)))
            pending, size = [], 0
        pending.append(batch_id)
        size += count
    if pending:
        chunks.append(ReportChunk(tuple(pending)))
    return chunks


def _place(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each key among the sorted `wanted` keys, and whether it is there at all."""
    rows = np.searchsorted(wanted, keys)
    rows = np.minimum(rows, max(len(wanted) - 1, 0))
    found = (wanted[rows] == keys) if len(wanted) else np.zeros(len(keys), dtype=bool)
    return rows, found


def _item_levels(con: duckdb.DuckDBPyConnection, batch_ids: Sequence[int], items: Sequence[str]) -> pa.Table:
    """(batch_id, naaccr_id, level) of the wanted items in each batch's NAACCR version (1 patient, 2 tumor)."""
    levels: dict[str, dict[str, int]] = {}
    rows: dict[str, list[object]] = {"batch_id": [], "naaccr_id": [], "level": []}
    for batch_id, version in con.execute("SELECT batch_id, naaccr_version FROM ingest_batch WHERE batch_id IN "
                                         "(SELECT unnest(?::INTEGER[]))", [list(batch_ids)]).fetchall():
        if version not in SUPPORTED_VERSIONS:
            continue
        if version not in levels:
            defined = base_dictionary(version).items
            levels[version] = {i: 1 if defined[i].level == "Patient" else 2 for i in items
                               if i in defined and defined[i].level in ("Patient", "Tumor")}
        for naaccr_id, level in levels[version].items():
            rows["batch_id"].append(batch_id)
            rows["naaccr_id"].append(naaccr_id)
            rows["level"].append(level)
    return pa.table({"batch_id": pa.array(rows["batch_id"], pa.int32()),
                     "naaccr_id": pa.array(rows["naaccr_id"], pa.string()),
                     "level": pa.array(rows["level"], pa.int8())})


def read_reports(con: duckdb.DuckDBPyConnection, chunk: ReportChunk, items: Sequence[str],
                 scope_table: str | None) -> pd.DataFrame:
    """One row per source tumor report of the chunk: record_id (tumor.tumor_id), registry_tumor_id (null when
    not linked yet) and one text column per item ('' when blank), from the tumor's items or its patient's.

    The lossless layer is read in long form (only the items asked for) and pivoted in numpy: a value's row is
    found by its (batch, level, sequence) key among the chunk's tumors and their patients."""
    seq = ""
    params: list[object] = [list(chunk.batch_ids)]
    if chunk.first_seq is not None:
        seq = " AND tumor_seq BETWEEN ? AND ?"
        params += [chunk.first_seq, chunk.last_seq]
    scope = f" AND tumor_id IN (SELECT tumor_id FROM {scope_table})" if scope_table else ""
    # The range lets DuckDB skip row groups of other batches (the lossless layer is stored in batch order).
    low, high = int(min(chunk.batch_ids)), int(max(chunk.batch_ids))
    tumors = con.execute(f"""
        SELECT t.tumor_id, l.registry_tumor_id, coalesce(b.naaccr_version, '') AS naaccr_version,
               t.batch_id::BIGINT * {2 * SEQ_SHIFT} + 2 * {SEQ_SHIFT} + t.tumor_seq AS tumor_key,
               t.batch_id::BIGINT * {2 * SEQ_SHIFT} + {SEQ_SHIFT} + (t.patient_id - t.batch_id::BIGINT * {SEQ_SHIFT})
                   AS patient_key
        FROM tumor t LEFT JOIN tumor_link l ON l.source_tumor_id = t.tumor_id
        JOIN ingest_batch b ON b.batch_id = t.batch_id
        WHERE t.batch_id BETWEEN {low} AND {high} AND t.batch_id IN (SELECT unnest(?::INTEGER[])){seq}{scope}
        ORDER BY tumor_key""", params).df()
    con.register("edit_wanted_items", pa.table({"naaccr_id": list(items), "col": list(range(len(items)))}))
    con.register("edit_item_level", _item_levels(con, chunk.batch_ids, items))
    try:
        # An item received at a level its dictionary does not give it (loaded with a wrong-level warning) is
        # not read: the value at the item's own level is the one edited.
        values = con.sql(f"""
            SELECT si.batch_id::BIGINT * {2 * SEQ_SHIFT} + si.level::BIGINT * {SEQ_SHIFT} + si.entity_seq AS key,
                   w.col, si.value
            FROM source_item si JOIN edit_wanted_items w ON w.naaccr_id = si.naaccr_id
            LEFT JOIN edit_item_level v ON v.batch_id = si.batch_id AND v.naaccr_id = si.naaccr_id
            WHERE si.batch_id BETWEEN {low} AND {high} AND si.batch_id IN (SELECT unnest($batches::INTEGER[]))
              AND si.level IN (1, 2) AND coalesce(v.level = si.level, true)""",
                         params={"batches": list(chunk.batch_ids)}).to_arrow_table()
    finally:
        con.unregister("edit_wanted_items")
        con.unregister("edit_item_level")
    keys = values.column("key").to_numpy()
    cols = values.column("col").to_numpy()
    texts = values.column("value").to_numpy(zero_copy_only=False)
    out = np.full((len(tumors), len(items)), "", dtype=object)
    rows, found = _place(keys, tumors["tumor_key"].to_numpy())
    out[rows[found], cols[found]] = texts[found]
    # Patient items go to every tumor row of the patient: tumors ordered by patient, each value repeated over
    # its patient's range of rows (an item is read at its own level only, so nothing is overwritten).
    patient_keys = tumors["patient_key"].to_numpy()
    order = np.argsort(patient_keys, kind="stable")
    ordered = patient_keys[order]
    low = np.searchsorted(ordered, keys, side="left")
    counts = np.searchsorted(ordered, keys, side="right") - low
    starts = np.repeat(low, counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    targets = order[starts + offsets]
    out[targets, np.repeat(cols, counts)] = np.repeat(texts, counts)
    frame = pd.DataFrame(out, columns=list(items))
    frame.insert(0, "record_id", tumors["tumor_id"].to_numpy())
    frame.insert(1, "registry_tumor_id", tumors["registry_tumor_id"].to_numpy())
    frame[VERSION_COLUMN] = tumors["naaccr_version"].to_numpy(dtype=object)
    return frame


def tumor_chunks(con: duckdb.DuckDBPyConnection, scope_table: str | None) -> Iterator[list[int]]:
    """Registry tumor ids in scope (every registry tumor when `scope_table` is None), TUMOR_CHUNK at a time."""
    sql = "SELECT tumor_id FROM registry_tumor"
    sql += f" WHERE tumor_id IN (SELECT tumor_id FROM {scope_table})" if scope_table else ""
    ids = [int(i) for (i,) in con.execute(sql + " ORDER BY tumor_id").fetchall()]
    for start in range(0, len(ids), TUMOR_CHUNK):
        yield ids[start:start + TUMOR_CHUNK]


def read_tumors(con: duckdb.DuckDBPyConnection, tumor_ids: list[int]) -> pd.DataFrame:
    """One row per registry tumor: record_id, registry_patient_id and its consolidated values as NAACCR text."""
    con.register("edit_tumor_ids", pa.table({"tumor_id": pa.array(tumor_ids, pa.int64())}))
    columns = [f"coalesce(t.{c}, '') AS \"{item}\"" for c, item in TUMOR_COLUMNS.items()]
    columns += [f"coalesce(p.{c}, '') AS \"{item}\"" for c, item in PATIENT_COLUMNS.items()]
    columns += [f"coalesce({_naaccr_date(c)}, '') AS \"{item}\"" for c, item in DATE_COLUMNS.items()]
    columns.append("coalesce(lpad(CAST(t.age_at_diagnosis AS VARCHAR), 3, '0'), '') AS \"ageAtDiagnosis\"")
    columns += [f"coalesce(rx.\"{item}\", '') AS \"{item}\"" for item in TREATMENT_DATES.values()]
    treatment = ", ".join(f"min({_naaccr_date('start_date')}) FILTER (WHERE modality = '{m}') AS \"{item}\""
                          for m, item in TREATMENT_DATES.items())
    try:
        return con.execute(f"""
            WITH rx AS (SELECT tumor_id, {treatment} FROM registry_treatment
                        WHERE tumor_id IN (SELECT tumor_id FROM edit_tumor_ids) AND start_date IS NOT NULL
                        GROUP BY tumor_id)
            SELECT t.tumor_id AS record_id, t.patient_id AS registry_patient_id, {", ".join(columns)}
            FROM registry_tumor t JOIN registry_patient p ON p.patient_id = t.patient_id
            LEFT JOIN rx ON rx.tumor_id = t.tumor_id
            WHERE t.tumor_id IN (SELECT tumor_id FROM edit_tumor_ids)""").df()
    finally:
        con.unregister("edit_tumor_ids")


def disagreeing_patients(con: duckdb.DuckDBPyConnection, tumor_ids: list[int], item: str,
                         unknown: Sequence[str]) -> pd.DataFrame:
    """Registry patients of these registry tumors whose current source patient records (superseded ones aside)
    hold more than one known value of the item (sex, dateOfBirth or race1; `unknown` values aside):
    registry_patient_id and the values."""
    column = {"sex": "p.sex", "race1": "p.race1", "dateOfBirth": _naaccr_date("p.date_of_birth")}[item]
    con.register("edit_tumor_ids", pa.table({"tumor_id": pa.array(tumor_ids, pa.int64())}))
    try:
        return con.execute(f"""
            SELECT l.registry_patient_id, string_agg(DISTINCT {column}, ', ' ORDER BY {column}) AS "values"
            FROM patient p JOIN patient_link l ON l.source_patient_id = p.patient_id
            WHERE l.registry_patient_id IN (SELECT patient_id FROM registry_tumor
                                            WHERE tumor_id IN (SELECT tumor_id FROM edit_tumor_ids))
              AND coalesce({column}, '') NOT IN (SELECT unnest(?::VARCHAR[]))
              AND p.patient_id NOT IN (SELECT patient_id FROM source_patient_superseded)
            GROUP BY l.registry_patient_id HAVING count(DISTINCT {column}) > 1""", [list(unknown)]).df()
    finally:
        con.unregister("edit_tumor_ids")


def registry_overrides(con: duckdb.DuckDBPyConnection, flags: Sequence[str]) -> dict[str, set[int]]:
    """Override flags set by registry-level corrections: flag -> registry tumors whose latest correction of
    that flag is '1'."""
    if not flags:
        return {}
    rows = con.execute("""
        SELECT item, entity_id FROM (
            SELECT item, entity_id, new_value,
                   row_number() OVER (PARTITION BY item, entity_id ORDER BY corrected_at DESC, correction_id DESC) AS n
            FROM registry_correction WHERE level = 2 AND item IN (SELECT unnest(?::VARCHAR[])))
        WHERE n = 1 AND new_value = '1'""", [list(flags)]).fetchall()
    found: dict[str, set[int]] = {}
    for item, entity in rows:
        found.setdefault(item, set()).add(int(entity))
    return found


def report_overrides(con: duckdb.DuckDBPyConnection, flags: Sequence[str]) -> dict[str, set[int]]:
    """Override flags set to '1' on a source report, by the registry tumor the report is linked to: a
    facility's reviewed override holds for the registry tumor its values are consolidated into."""
    if not flags:
        return {}
    rows = con.execute(f"""
        SELECT DISTINCT si.naaccr_id, l.registry_tumor_id FROM source_item si
        JOIN tumor_link l ON l.source_tumor_id = si.batch_id::BIGINT * {SEQ_SHIFT} + si.entity_seq
        WHERE si.level = 2 AND si.value = '1' AND si.naaccr_id IN (SELECT unnest(?::VARCHAR[]))
          AND l.source_tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded)""",
                       [list(flags)]).fetchall()
    found: dict[str, set[int]] = {}
    for item, tumor in rows:
        found.setdefault(item, set()).add(int(tumor))
    return found
