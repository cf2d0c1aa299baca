"""How well the coding edits find the defects a synthetic sample injected, and how quiet they stay elsewhere.

Usage: python -m bench.edits_truth_check --db STORE --sample SAMPLE_FOLDER

The store must have had its edits run (`registry edits run`, or an ingest). Each truth report
(`truth/reports.csv`) is mapped to its stored source tumor report by file, facility, patient id number and
tumor record number. Reports:

* per kind of injected defect (`truth/defects.csv`), the share of defects whose report carries an
  error-level `incoming` failure of an edit that reads the defect's item;
* the share of clean reports with any error-level failure, and with any warning. A defect in a
  patient-level item (sex, birth date, race, last contact, names, SSN) is written into every report of that
  patient record (patient id number, across files) but counted on one report only (`sample_data/defects.py`); the other reports of
  that patient record carry it too and are left out of the clean reports. The share over every report
  without a truth row of its own is printed as well;
* the worklist: every registry tumor with an error-level failure (of a report linked to it, or of its own
  values) should have exactly one unfinished work item.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pandas as pd

from registry.operational import ops_path_for
from registry.store import read_connection

KINDS = ("invalid-code", "impossible-sex-site", "impossible-site-histology", "birth-after-diagnosis",
         "treatment-before-diagnosis", "last-contact-before-diagnosis", "missing-item")
PATIENT_LEVEL_ITEMS = {"sex", "dateOfBirth", "race1", "dateOfLastContact"}


def stored_reports(db: Path, sample: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per truth report found in the store (report_id, tumor_id, and the patient record: the
    patient id number, which the sample's defects follow across files), and the `incoming` failures."""
    reports = pd.read_csv(sample / "truth" / "reports.csv", dtype=str,
                          usecols=["report_id", "file", "patientIdNumber", "tumorRecordNumber", "reportingFacility"])
    with read_connection(db) as con:
        con.register("truth_reports", reports)
        frame = con.sql("""
            SELECT CAST(r.report_id AS BIGINT) AS report_id, t.tumor_id,
                   r.patientIdNumber AS patient_record
            FROM tumor t JOIN patient p ON p.patient_id = t.patient_id
            JOIN ingest_batch b ON b.batch_id = t.batch_id
            JOIN truth_reports r ON ends_with(b.file_name, '/' || r.file) AND r.patientIdNumber = p.patient_id_number
             AND r.reportingFacility = t.reporting_facility AND r.tumorRecordNumber = t.tumor_record_number""").df()
        con.unregister("truth_reports")
        failures = con.sql("SELECT record_id AS tumor_id, edit_id, severity, items FROM edit_failure "
                           "WHERE level = 2 AND edit_set = 'incoming'").df()
    return frame, failures


def measure(db: Path, sample: Path) -> dict[str, object]:
    reports, failures = stored_reports(db, sample)
    defects = pd.read_csv(sample / "truth" / "defects.csv", dtype={"item": str}, keep_default_na=False)
    defects = defects.merge(reports, on="report_id", how="inner")
    errors = failures[failures["severity"] == "error"]
    error_items = errors.assign(item=errors["items"].str.split(",")).explode("item")[["tumor_id", "item"]]
    joined = defects.merge(error_items.drop_duplicates(), on=["tumor_id", "item"], how="left", indicator=True)
    joined["_merge"] = joined["_merge"] == "both"
    flagged = joined.groupby(["report_id", "defect", "item"], as_index=False)["_merge"].max()
    detection: dict[str, object] = {}
    for kind in KINDS:
        rows = flagged[flagged["defect"] == kind]
        detection[kind] = {"defects": len(rows), "flagged": int(rows["_merge"].sum()),
                           "share": float(rows["_merge"].mean()) if len(rows) else None}
    scored = flagged[flagged["defect"].isin(KINDS)]
    with_truth = set(defects["report_id"])
    patient_level = defects[defects["item"].isin(PATIENT_LEVEL_ITEMS) | ~defects["defect"].isin(KINDS)]
    touched_records = set(patient_level["patient_record"])
    no_row = reports[~reports["report_id"].isin(with_truth)]
    clean = no_row[~no_row["patient_record"].isin(touched_records)]
    error_ids = set(errors["tumor_id"])
    warning_ids = set(failures.loc[failures["severity"] == "warning", "tumor_id"])
    error_edits = {str(k): int(v) for k, v in
                   errors[errors["tumor_id"].isin(set(clean["tumor_id"]))]["edit_id"].value_counts().head(10).items()}
    return {
        "reports_matched": len(reports),
        "detection": detection,
        "overall_detection": float(scored["_merge"].mean()) if len(scored) else None,
        "clean_reports": len(clean),
        "clean_with_error": float(clean["tumor_id"].isin(error_ids).mean()),
        "clean_with_warning": float(clean["tumor_id"].isin(warning_ids).mean()),
        "clean_error_edits": error_edits,
        "reports_without_truth_row": len(no_row),
        "without_truth_row_with_error": float(no_row["tumor_id"].isin(error_ids).mean()),
    }


def worklist(db: Path) -> dict[str, int]:
    """Registry tumors flagged at error level, and how many unfinished work items each has."""
    with read_connection(db) as con:
        flagged = {int(row[0]) for row in con.execute(
            "SELECT DISTINCT coalesce(l.registry_tumor_id, CASE WHEN f.level = 3 THEN f.record_id END) "
            "FROM edit_failure f LEFT JOIN tumor_link l ON f.level = 2 AND l.source_tumor_id = f.record_id "
            "WHERE f.severity = 'error'").fetchall() if row[0] is not None}
    with sqlite3.connect(ops_path_for(db)) as con:
        items = dict(con.execute("SELECT registry_tumor_id, count(*) FROM work_item "
                                 "WHERE status IN ('open', 'queried', 'answered') GROUP BY 1").fetchall())
    return {"flagged_tumors": len(flagged), "flagged_with_one_item": sum(items.get(t) == 1 for t in flagged),
            "flagged_without_item": sum(t not in items for t in flagged),
            "tumors_with_several_items": sum(n > 1 for n in items.values()),
            "items_for_questions_only": sum(t not in flagged for t in items)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--sample", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps({**measure(args.db, args.sample), "worklist": worklist(args.db)}, indent=2, default=str))   # noqa: T201 - a command-line report


if __name__ == "__main__":
    main()
