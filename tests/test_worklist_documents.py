"""Documents sent to reporting facilities, read back: the query letter (the items queried of a facility) and
the edit report of a batch or a facility, as CSV rows and PDF text; each audited as an export."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from registry.audit import events
from registry.edit_reports import edit_report
from registry.errors import AccessDenied, InvalidRequest
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.query_letters import query_letter
from registry.worklist import list_items, query_item, sync_worklist
from tests.test_worklist import GRADE, PAYER, REGISTRAR, SITE_MORPH, WARNING, add_failures, db, linked

__all__ = ["db", "linked"]   # the fixtures, shared with the worklist's tests


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def csv_rows(document: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(document), comment="#", dtype=str, keep_default_na=False)


def queried_store(db: Path) -> int:
    """Thomas's tumor queried of the first hospital; returns its work item."""
    add_failures(db, [SITE_MORPH, PAYER, GRADE])
    ops = open_operational_store(db)
    sync_worklist(db, ops)
    item = next(i for i in list_items(REGISTRAR, ops) if i.registry_tumor_id == 2)
    query_item(REGISTRAR, ops, item.work_item_id, "Is the histology 8070 right for a prostate primary?")
    return item.work_item_id


def test_the_query_letter_lists_the_facilitys_open_queries(db: Path) -> None:
    item_id = queried_store(db)
    ops = open_operational_store(db)
    rows = csv_rows(query_letter(REGISTRAR, ops, "1000000001", format="csv"))
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["work_item_id"], row["registry_tumor_id"]) == (str(item_id), "2")
    assert (row["patient_id_number"], row["tumor_record_number"]) == ("00000102", "01")
    assert "N0441" in row["in_question"] and "histologicTypeIcdO3=8070" in row["in_question"]
    assert "N2001" not in row["in_question"]                  # the other hospital's report is not this one's
    assert row["question"] == "Is the histology 8070 right for a prostate primary?" and row["due_date"]
    text = pdf_text(query_letter(REGISTRAR, ops, "1000000001", format="pdf"))
    for expected in ("queries to reporting facility 1000000001", "1 open query", "00000102",
                     "Is the histology 8070 right", row["due_date"]):
        assert expected in text
    assert csv_rows(query_letter(REGISTRAR, ops, "2000000002")).empty   # nothing queried of the other one
    exported = [e.detail for e in events(ops, action="export")]
    assert [(e["document"], e["facility"], e["format"], e["rows"]) for e in reversed(exported)] == [
        ("query-letter", "1000000001", "csv", 1), ("query-letter", "1000000001", "pdf", 1),
        ("query-letter", "2000000002", "csv", 0)]


def test_the_edit_report_of_a_batch_counts_by_edit_and_lists_each_item(db: Path) -> None:
    add_failures(db, [SITE_MORPH, PAYER, WARNING, GRADE])
    ops = open_operational_store(db)
    first = csv_rows(edit_report(REGISTRAR, db, ops, batch_id=1, format="csv"))
    assert list(first["edit_id"]) == ["N0441", "N0441"]       # one row per item the edit read
    assert list(zip(first["item"], first["value"], strict=True)) == [("primarySite", "C619"),
                                                                     ("histologicTypeIcdO3", "8070")]
    assert set(first["patient_id_number"]) == {"00000102"} and set(first["file_name"]) == {"h1.xml"}
    second = edit_report(REGISTRAR, db, ops, batch_id=2, format="csv").decode()
    assert "# N2001 (error): 1 failures in 1 reports" in second and "# N0999 (warning)" in second
    assert "R0100" not in second                              # registry-tumor edits are the worklist's
    text = pdf_text(edit_report(REGISTRAR, db, ops, facility="2000000002", format="pdf"))
    for expected in ("Edit report: reporting facility 2000000002", "Failures by edit", "N2001",
                     "Primary Payer at DX: not a valid code", "Failing records", "00007004", "primaryPayerAtDx", "77"):
        assert expected in text
    exported = [(e.detail["document"], e.detail["batch_id"], e.detail["facility"], e.detail["rows"])
                for e in reversed(events(ops, action="export"))]
    assert exported == [("edit-report", 1, None, 2), ("edit-report", 2, None, 2),
                        ("edit-report", None, "2000000002", 2)]


def test_bad_requests_are_clear_errors(db: Path) -> None:
    ops = open_operational_store(db)
    with pytest.raises(InvalidRequest, match="there is no ingest batch 9"):
        edit_report(REGISTRAR, db, ops, batch_id=9)
    with pytest.raises(InvalidRequest, match="give one of them"):
        edit_report(REGISTRAR, db, ops, batch_id=1, facility="1000000001")
    with pytest.raises(InvalidRequest, match="unknown report format 'xls'"):
        edit_report(REGISTRAR, db, ops, batch_id=1, format="xls")
    with pytest.raises(InvalidRequest, match="needs the reporting facility"):
        query_letter(REGISTRAR, ops, " ")
    assert not events(ops, action="export")


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_only_registrars_get_letters_and_reports(db: Path, role: str) -> None:
    ops = open_operational_store(db)
    with pytest.raises(AccessDenied):
        query_letter(Principal("someone", role), ops, "1000000001")
    with pytest.raises(AccessDenied):
        edit_report(Principal("someone", role), db, ops, batch_id=1)
    assert not events(ops, action="export")
