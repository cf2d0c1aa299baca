"""Edit reports: what the coding edits found in what one facility sent, to send back to it.

A report covers the source tumor reports of one ingest batch (a submitted file) or of one reporting facility
(all its files): the failures counted by edit (edit id, severity, message, failures, reports), then every
failing report with the facility's patient id number and tumor record number, each item the edit read with
its value, and the message. Registry-tumor failures (level 3) concern the registry's consolidated values,
not a facility's submission: they are followed on the worklist instead. CSV or printable PDF
(`registry.printable`); registrars only, every report audited as an export with its row counts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from registry.access import require
from registry.audit import record_event
from registry.errors import InvalidRequest
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.printable import Document, Section, render
from registry.store import read_connection
from registry.worklist import WORKLIST

FORMATS = ("csv", "pdf")
REPORT_FAILURES = """
    SELECT t.batch_id, b.file_name, t.reporting_facility, p.patient_id_number, t.tumor_record_number,
           f.record_id AS source_tumor_id, f.edit_id, f.edit_set, f.severity, f.items, f.item_values, f.message
    FROM edit_failure f
    JOIN tumor t ON f.level = 2 AND t.tumor_id = f.record_id
    JOIN patient p ON p.patient_id = t.patient_id
    JOIN ingest_batch b ON b.batch_id = t.batch_id
    WHERE (CAST(? AS INTEGER) IS NULL OR t.batch_id = ?) AND (CAST(? AS VARCHAR) IS NULL OR t.reporting_facility = ?)
    ORDER BY f.severity, f.edit_id, t.batch_id, t.tumor_seq"""
COUNT_COLUMNS = ["edit_id", "severity", "message", "failures", "reports"]
RECORD_COLUMNS = ["file_name", "patient_id_number", "tumor_record_number", "edit_id", "severity", "item", "value",
                  "message"]
LABELS = {"edit_id": "Edit", "severity": "Severity", "message": "Message", "failures": "Failures",
          "reports": "Reports", "file_name": "File", "patient_id_number": "Patient id number",
          "tumor_record_number": "Tumor record number", "item": "Item", "value": "Value"}


@dataclass(frozen=True)
class EditReport:
    """An edit report's two tables and what it covers."""

    scope: str                   # "ingest batch 3 (h1.xml)" or "reporting facility 1000000001"
    counts: pd.DataFrame         # COUNT_COLUMNS
    records: pd.DataFrame        # RECORD_COLUMNS: one row per failing report, edit and item


def _item_values(items: str, values: str) -> list[tuple[str, str]]:
    """[(item, value)] of an edit failure: every item it read, with its value when the failure gives it."""
    given = dict(part.split("=", 1) for part in (p.strip() for p in values.split(";")) if "=" in part)
    names = [i.strip() for i in items.split(",") if i.strip()]
    return [(name, given.get(name, "")) for name in names] or [("", values)]


def edit_report_tables(db_path: Path, *, batch_id: int | None = None, facility: str | None = None) -> EditReport:
    """The counts by edit and the failing records of one batch or one facility (no access check: callers)."""
    if (batch_id is None) == (facility is None):
        raise InvalidRequest("an edit report covers one ingest batch or one reporting facility: give one of them")
    with read_connection(db_path) as con:
        scope = f"reporting facility {facility}"
        if batch_id is not None:
            found = con.execute("SELECT file_name FROM ingest_batch WHERE batch_id = ?", [batch_id]).fetchall()
            if not found:
                raise InvalidRequest(f"there is no ingest batch {batch_id}")
            scope = f"ingest batch {batch_id} ({Path(str(found[0][0])).name})"
        failures = con.execute(REPORT_FAILURES, [batch_id, batch_id, facility, facility]).df()
    counts = (failures.groupby(["edit_id", "severity", "message"], sort=False)
              .agg(failures=("source_tumor_id", "size"), reports=("source_tumor_id", "nunique")).reset_index()
              if not failures.empty else pd.DataFrame(columns=COUNT_COLUMNS))
    rows = [{"file_name": Path(str(f["file_name"])).name, "patient_id_number": f["patient_id_number"],
             "tumor_record_number": f["tumor_record_number"], "edit_id": f["edit_id"], "severity": f["severity"],
             "item": item, "value": value, "message": f["message"]}
            for f in failures.to_dict("records") for item, value in _item_values(str(f["items"]), str(f["item_values"]))]
    return EditReport(scope, counts[COUNT_COLUMNS], pd.DataFrame(rows, columns=RECORD_COLUMNS))


def _csv(report: EditReport, generated: datetime) -> bytes:
    buffer = io.StringIO()
    buffer.write(f"# Edit report: {report.scope}\n# generated {generated.isoformat(timespec='seconds')}\n")
    for row in report.counts.to_dict("records"):
        buffer.write(f"# {row['edit_id']} ({row['severity']}): {row['failures']} failures in {row['reports']} "
                     f"reports - {row['message']}\n")
    report.records.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def _pdf(report: EditReport, generated: datetime) -> bytes:
    failures = int(report.counts["failures"].sum()) if not report.counts.empty else 0
    document = Document(
        title=f"Edit report: {report.scope}",
        lines=[f"{failures} edit failures as of {generated.strftime('%Y-%m-%d')}.",
               "Errors must be corrected (or confirmed with the override the edit names) and the records resubmitted."],
        sections=[Section("Failures by edit", table=report.counts.rename(columns=LABELS),
                          column_widths=(12, 10, 60, 9, 9)),
                  Section("Failing records", table=report.records.rename(columns=LABELS),
                          column_widths=(18, 12, 10, 9, 8, 18, 10, 40))])
    return render(document, generated=generated)


def edit_report(principal: Principal, db_path: Path, ops: OperationalStore, *, batch_id: int | None = None,
                facility: str | None = None, format: str = "csv", file: str | None = None) -> bytes:
    """The edit report of one ingest batch or one reporting facility as CSV or PDF (registrars; audited as an
    export, with the `file` the caller writes it to when it writes one)."""
    require(principal, WORKLIST)
    if format not in FORMATS:
        raise InvalidRequest(f"unknown report format {format!r}; use csv or pdf")
    report = edit_report_tables(db_path, batch_id=batch_id, facility=facility)
    generated = ops.now()
    document = _csv(report, generated) if format == "csv" else _pdf(report, generated)
    record_event(ops, principal, "export", document="edit-report", batch_id=batch_id, facility=facility,
                 format=format, rows=len(report.records), edits=len(report.counts), **({"file": file} if file else {}))
    return document
