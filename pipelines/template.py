"""Data-entry templates (CSV or Excel) for registries that keep their cases in a spreadsheet.

The template's header row holds the naaccrIds of the items a small registry needs, restricted to those
the chosen NAACCR version defines, so a filled template is read back by ``TabularReader`` without any
mapping. In the Excel template every column is formatted as text ("@"): otherwise Excel turns codes
such as patientIdNumber ``00001234``, race ``01`` or county ``001`` into numbers and drops their leading
zeros. A second sheet, "dictionary", describes each column. The CSV template is the header row only.
"""

from __future__ import annotations

import csv
from pathlib import Path

from registry.naaccr import LATEST_VERSION, Dictionary, base_dictionary

# Wanted columns in sheet order; alternatives in a tuple: the first the version defines is used.
_WANTED: tuple[str | tuple[str, ...], ...] = (
    "patientIdNumber", "tumorRecordNumber",
    "nameLast", "nameFirst", "dateOfBirth",
    ("sex", "sexAssignedAtBirth"),
    "race1", "spanishHispanicOrigin",
    "addrAtDxState", "countyAtDx", "addrAtDxPostalCode",
    "dateOfDiagnosis", "primarySite", "laterality", "histologicTypeIcdO3", "behaviorCodeIcdO3",
    "grade",  # used only by versions without the 2018 grade items (see template_columns)
    "gradeClinical", "gradePathological", "gradePostTherapyClin", "gradePostTherapy",
    "diagnosticConfirmation", "typeOfReportingSource", "sequenceNumberCentral",
    "summaryStage2018", "reportingFacility",
    ("rxSummSurgPrimSite2023", "rxSummSurgPrimSite"), "rxSummScopeRegLnSur", "rxSummSurgOthRegDis",
    "rxDateSurgery",
    "rxSummRadiation", "rxDateRadiation",
    "rxSummChemo", "rxDateChemo",
    "rxSummHormone", "rxDateHormone",
    "rxSummBrm", "rxDateBrm",
    "rxSummTransplntEndocr",
    "rxSummOther", "rxDateOther",
    "dateOfLastContact", "vitalStatus",
)
_MAX_WIDTH = 40


def template_columns(naaccr_version: str = LATEST_VERSION) -> list[str]:
    """The template's naaccrIds for a NAACCR version, in sheet order."""
    items = base_dictionary(naaccr_version).items
    has_2018_grades = "gradeClinical" in items
    columns: list[str] = []
    for wanted in _WANTED:
        choices = wanted if isinstance(wanted, tuple) else (wanted,)
        found = next((c for c in choices if c in items), None)
        # the pre-2018 single grade item is kept in later dictionaries for old cases only
        if found is None or (found == "grade" and has_2018_grades):
            continue
        columns.append(found)
    return columns


def write_template(path: Path, *, naaccr_version: str = LATEST_VERSION, fmt: str = "csv") -> Path:
    """Write a data-entry template ("csv": header only; "xlsx": text-formatted sheet + dictionary)."""
    path = Path(path)
    columns = template_columns(naaccr_version)
    if fmt == "csv":
        # a BOM makes Excel open (and re-save) the file as UTF-8 rather than the local code page
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerow(columns)
    elif fmt == "xlsx":
        _write_xlsx(path, columns, base_dictionary(naaccr_version))
    else:
        raise ValueError(f"unknown template format {fmt!r} (expected 'csv' or 'xlsx')")
    return path


def _write_xlsx(path: Path, columns: list[str], dictionary: Dictionary) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    bold = Font(bold=True)
    for i, naaccr_id in enumerate(columns, start=1):
        letter = get_column_letter(i)
        cell = sheet.cell(row=1, column=i, value=naaccr_id)
        cell.font = bold
        cell.number_format = "@"
        dimension = sheet.column_dimensions[letter]
        dimension.number_format = "@"  # column default style: cells typed later are text
        dimension.width = min(_MAX_WIDTH, max(len(naaccr_id), dictionary.items[naaccr_id].length) + 2)
    sheet.freeze_panes = "A2"

    described = workbook.create_sheet("dictionary")
    header = ("naaccrId", "itemNumber", "name", "level", "length", "dataType")
    described.append(header)
    for cell in described[1]:
        cell.font = bold
    for naaccr_id in columns:
        item = dictionary.items[naaccr_id]
        described.append((item.naaccr_id, item.naaccr_num, item.name, item.level, item.length, item.data_type))
    for i, width in enumerate((26, 12, 50, 10, 8, 10), start=1):
        described.column_dimensions[get_column_letter(i)].width = width
    described.freeze_panes = "A2"
    workbook.save(path)
