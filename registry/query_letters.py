"""Query letters: what the registry asks one reporting facility, one row per work item queried of it.

A letter lists each open query (work item status `queried`) whose facility is the addressee: the registry
tumor, the facility's own patient id number and tumor record number (so it can find its abstract), the
items and values in question with the edits that failed, the question and its due date. It is produced as
CSV or as a printable PDF (`registry.printable`); every letter is audited as an export with its rows.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pandas as pd

from registry.access import require
from registry.audit import record_event
from registry.errors import InvalidRequest
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.printable import Document, Section, render
from registry.worklist import WORKLIST, WorkItem, facility_queries

FORMATS = ("csv", "pdf")
LETTER_COLUMNS = {"work_item_id": "Work item", "registry_tumor_id": "Registry tumor",
                  "patient_id_number": "Patient id number", "tumor_record_number": "Tumor record number",
                  "in_question": "Items and values in question", "question": "Question", "due_date": "Due date"}


def _joined(values: list[Any]) -> str:
    return ", ".join(dict.fromkeys(str(v) for v in values if v))


def _in_question(issues: list[dict[str, Any]]) -> str:
    """"N0441 Primary Site, Morphology-Type Check: primarySite=C619; ..." per issue, one per line."""
    lines = []
    for issue in issues:
        if issue["kind"] == "edit":
            lines.append(f"{issue['edit_id']} {issue['message']}: {issue['values']}")
        else:
            lines.append(f"linkage review {issue['review_id']}: is this the same "
                         f"{'person' if issue['question'] == 'patient' else 'tumor'} as another report?")
    return "\n".join(dict.fromkeys(lines))


def letter_table(items: list[WorkItem], facility: str) -> pd.DataFrame:
    """One row per queried item: the facility's numbers for its reports and what is asked."""
    rows = []
    for item in items:
        own = [i for i in item.issues if i.get("facility") == facility] or item.issues
        rows.append({"work_item_id": item.work_item_id, "registry_tumor_id": item.registry_tumor_id,
                     "patient_id_number": _joined([i.get("patient_id_number") for i in own]),
                     "tumor_record_number": _joined([i.get("tumor_record_number") for i in own]),
                     "in_question": _in_question(own), "question": item.query_text or "",
                     "due_date": item.due_date or ""})
    return pd.DataFrame(rows, columns=list(LETTER_COLUMNS))


def _csv(table: pd.DataFrame, facility: str, generated: datetime) -> bytes:
    buffer = io.StringIO()
    buffer.write(f"# Queries to reporting facility {facility}\n# generated {generated.isoformat(timespec='seconds')}\n")
    table.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def _pdf(table: pd.DataFrame, facility: str, generated: datetime) -> bytes:
    shown = table.rename(columns=LETTER_COLUMNS)
    document = Document(
        title=f"Cancer registry queries to reporting facility {facility}",
        lines=[f"{len(table)} open {'query' if len(table) == 1 else 'queries'} as of "
               f"{generated.strftime('%Y-%m-%d')}.",
               "Please answer each query by its due date, naming the work item; find the abstract by your "
               "patient id number and tumor record number."],
        sections=[Section("Open queries", table=shown, column_widths=(7, 7, 10, 9, 40, 30, 9))])
    return render(document, generated=generated)


def query_letter(principal: Principal, ops: OperationalStore, facility: str, *, format: str = "csv",
                 file: str | None = None) -> bytes:
    """The query letter to `facility` as CSV or PDF bytes (registrars; audited as an export, with the `file` the
    caller writes it to when it writes one: the command line does, the dashboard hands it to a browser)."""
    require(principal, WORKLIST)
    if format not in FORMATS:
        raise InvalidRequest(f"unknown letter format {format!r}; use csv or pdf")
    name = (facility or "").strip()
    if not name:
        raise InvalidRequest("a query letter needs the reporting facility it goes to")
    table = letter_table(facility_queries(ops, name), name)
    generated = ops.now()
    document = _csv(table, name, generated) if format == "csv" else _pdf(table, name, generated)
    record_event(ops, principal, "export", document="query-letter", facility=name, format=format, rows=len(table),
                 work_items=[int(i) for i in table["work_item_id"]], **({"file": file} if file else {}))
    return document
