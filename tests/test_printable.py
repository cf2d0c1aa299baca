"""Printable documents read back: every title line, heading and table cell is in the PDF's text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pandas as pd
from pypdf import PdfReader

from registry.printable import Document, Section, render


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_document_reads_back_with_its_lines_sections_and_cells():
    table = pd.DataFrame({"edit": ["E001", "E002"], "failures": [3, 12], "message": ["Site C999 is not valid", None]})
    pdf = render(Document("Edit report", ["Facility 0000012345", "Batch 7"],
                          [Section("Counts by edit", ["Errors first."], table), Section("Empty", (), table.iloc[:0])]),
                 generated=datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    for expected in ("Edit report", "Facility 0000012345", "Batch 7", "Counts by edit", "Errors first.", "E001",
                     "E002", "12", "Site C999 is not valid", "None.", "2026-12-07 09:30", "page 1 of 1"):
        assert expected in text


def test_a_long_table_runs_over_pages_and_characters_outside_latin1_do_not_fail():
    table = pd.DataFrame({"record": [f"R{n:04d}" for n in range(300)], "name": ["Zoë Łukasz"] * 300})
    text = _text(render(Document("Query letter", ["Żabka"], [Section("Open queries", (), table)])))
    assert "R0000" in text and "R0299" in text
    assert "page 2 of" in text
    assert "Zo" in text and "ukasz" in text
