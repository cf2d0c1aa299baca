"""What the discrepancy worklist reads from the analytic store: the error-level edit failures and the
records of the pending linkage questions, each placed on its registry tumor with the source report it
names (natural key, reporting facility, the facility's patient id number and tumor record number).

All of the worklist's analytic SQL is here; `registry.worklist` (the operational store) holds none.
A report-level failure (level 2) sits on the registry tumor its report is linked to; a registry-tumor
failure (level 3) sits on its tumor directly and names the tumor's first report (the lowest source tumor
id) as the one to ask about. Reports not linked yet have no registry tumor and are left for the next sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from registry.linkage_store import PATIENT_KEYS, TUMOR_FACTS
from registry.store import read_connection

# The facility's numbers of a source tumor report, beside its natural key.
_REPORT_COLUMNS = """k.natural_key AS report_key, t.reporting_facility AS facility,
                     p.patient_id_number, t.tumor_record_number"""

ERROR_FAILURES = f"""
    WITH failing AS (   -- a report superseded by a newer version of it is no longer followed up
        SELECT * FROM edit_failure WHERE severity = 'error'
          AND NOT (level = 2 AND record_id IN (SELECT tumor_id FROM source_tumor_superseded))),
    first_report AS (
        SELECT registry_tumor_id, min(source_tumor_id) AS source_tumor_id FROM tumor_link
        WHERE registry_tumor_id IN (SELECT record_id FROM failing WHERE level = 3)
          AND source_tumor_id NOT IN (SELECT tumor_id FROM source_tumor_superseded)
        GROUP BY registry_tumor_id),
    placed AS (
        SELECT f.*, CASE WHEN f.level = 3 THEN f.record_id ELSE l.registry_tumor_id END AS registry_tumor_id,
               CASE WHEN f.level = 3 THEN r.source_tumor_id ELSE f.record_id END AS source_tumor_id
        FROM failing f
        LEFT JOIN tumor_link l ON f.level = 2 AND l.source_tumor_id = f.record_id
        LEFT JOIN first_report r ON f.level = 3 AND r.registry_tumor_id = f.record_id)
    SELECT x.registry_tumor_id, rt.patient_id AS registry_patient_id, x.level, x.source_tumor_id,
           x.edit_id, x.edit_set, x.severity, x.items, x.item_values, x.message, {_REPORT_COLUMNS}
    FROM placed x
    LEFT JOIN registry_tumor rt ON rt.tumor_id = x.registry_tumor_id
    LEFT JOIN tumor t ON t.tumor_id = x.source_tumor_id
    LEFT JOIN patient p ON p.patient_id = t.patient_id
    LEFT JOIN ({TUMOR_FACTS}) k ON k.source_tumor_id = x.source_tumor_id
    ORDER BY x.registry_tumor_id, x.source_tumor_id, x.edit_id"""

# Source tumor reports named by the questions' natural keys: a tumor key names its report, a patient key
# every tumor report of that patient record.
QUESTION_REPORTS = f"""
    WITH named AS (
        SELECT q.review_id, q.kind, q.natural_key, k.source_tumor_id FROM worklist_question q
        JOIN ({TUMOR_FACTS}) k ON q.kind = 'tumor' AND k.natural_key = q.natural_key
        UNION ALL
        SELECT q.review_id, q.kind, q.natural_key, t.tumor_id FROM worklist_question q
        JOIN ({PATIENT_KEYS}) pk ON q.kind = 'patient' AND pk.natural_key = q.natural_key
        JOIN tumor t ON t.patient_id = pk.source_patient_id)
    SELECT l.registry_tumor_id, rt.patient_id AS registry_patient_id, n.review_id, n.kind, n.natural_key,
           n.source_tumor_id, {_REPORT_COLUMNS}
    FROM named n
    JOIN tumor_link l ON l.source_tumor_id = n.source_tumor_id
    LEFT JOIN registry_tumor rt ON rt.tumor_id = l.registry_tumor_id
    JOIN tumor t ON t.tumor_id = n.source_tumor_id
    JOIN patient p ON p.patient_id = t.patient_id
    JOIN ({TUMOR_FACTS}) k ON k.source_tumor_id = n.source_tumor_id
    ORDER BY l.registry_tumor_id, n.review_id, n.source_tumor_id"""


@dataclass(frozen=True)
class Question:
    """One side of a pending linkage or multiple-primary question: the review and a record's natural key."""

    review_id: int
    kind: str            # patient | tumor
    natural_key: str


def error_failures(db_path: Path) -> pd.DataFrame:
    """Every error-level edit failure on its registry tumor (null when its report is not linked yet)."""
    with read_connection(db_path) as con:
        return con.execute(ERROR_FAILURES).df()


def question_reports(db_path: Path, questions: Sequence[Question]) -> pd.DataFrame:
    """The linked source tumor reports each question's records name, with their registry tumor."""
    table = pa.table({"review_id": pa.array([q.review_id for q in questions], pa.int64()),
                      "kind": pa.array([q.kind for q in questions], pa.string()),
                      "natural_key": pa.array([q.natural_key for q in questions], pa.string())})
    with read_connection(db_path) as con:
        con.register("worklist_question", table)
        try:
            return con.execute(QUESTION_REPORTS).df()
        finally:
            con.unregister("worklist_question")
