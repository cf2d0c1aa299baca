"""Tests of the CSV/Excel reader (pipelines/readers/tabular.py) and the data-entry template writer."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from pipelines.readers import open_reader
from pipelines.readers.tabular import TabularReader, excel_text, sniff_delimiter
from pipelines.records import PATIENT, TUMOR
from pipelines.template import template_columns, write_template
from registry.errors import SourceFileError
from registry.naaccr import LATEST_VERSION, SUPPORTED_VERSIONS, base_dictionary
from tests.naaccr_fixtures import read_all

ROWS_26 = [
    {"patientIdNumber": "00000123", "nameLast": "Nguyen", "nameFirst": "Anh", "dateOfBirth": "19560312",
     "sexAssignedAtBirth": "2", "race1": "01", "countyAtDx": "001", "tumorRecordNumber": "01",
     "dateOfDiagnosis": "20250407", "primarySite": "C509", "histologicTypeIcdO3": "8500",
     "behaviorCodeIcdO3": "3", "rxSummSurgPrimSite2023": "A200", "rxDateSurgery": "20250502"},
    {"patientIdNumber": "00000123", "tumorRecordNumber": "02", "dateOfDiagnosis": "2025",
     "primarySite": "C180"},
    {"patientIdNumber": "00000456", "nameLast": "O'Neil, Jr.", "sexAssignedAtBirth": "1",
     "primarySite": "C619", "vitalStatus": "1"},
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, delimiter: str = ",",
              encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def fill_csv_template(path: Path, rows: list[dict[str, str]]) -> list[str]:
    """Append rows to a CSV template as a spreadsheet user would; return the header."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    with path.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
    return header


def fill_xlsx_template(path: Path, rows: list[dict[str, str]]) -> list[str]:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for row in rows:
        sheet.append([row.get(column) for column in header])
    workbook.save(path)
    return header


def expected_items(rows: list[dict[str, str]], version: str = "260") -> tuple[dict[int, dict[str, str]],
                                                                             dict[int, dict[str, str]]]:
    """Patient and tumor items the reader should produce for rows whose patients are consecutive."""
    levels = {i.naaccr_id: i.level for i in base_dictionary(version).items.values()}
    patients: dict[int, dict[str, str]] = {}
    tumors: dict[int, dict[str, str]] = {}
    seq, last = 0, None
    for number, row in enumerate(rows, start=1):
        if row.get("patientIdNumber") != last or last is None:
            seq += 1
            last = row.get("patientIdNumber")
        for key, value in row.items():
            if levels[key] == "Patient":
                patients.setdefault(seq, {}).setdefault(key, value)
            elif levels[key] == "Tumor":
                tumors.setdefault(number, {})[key] = value
    return patients, tumors


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_round_trip(tmp_path: Path, fmt: str) -> None:
    path = write_template(tmp_path / f"cases.{fmt}", fmt=fmt)
    fill = fill_csv_template if fmt == "csv" else fill_xlsx_template
    header = fill(path, ROWS_26)
    assert header == template_columns(LATEST_VERSION)
    reader = open_reader(path)
    assert isinstance(reader, TabularReader)
    result = read_all(reader)

    source = reader.source
    assert (source.format, source.naaccr_version, source.record_type) == (
        "csv" if fmt == "csv" else "excel", "260", "A")
    assert source.warnings == [] and source.root_items == {}
    assert result.issues == []
    assert result.kinds() == [(PATIENT, 1, 0, 2), (TUMOR, 1, 1, 2), (TUMOR, 1, 2, 3),
                              (PATIENT, 2, 0, 4), (TUMOR, 2, 3, 4)]
    patients, tumors = expected_items(ROWS_26)
    assert result.patient_items() == patients
    assert result.tumor_items() == tumors
    # leading zeros survive because the template's cells are text
    assert result.patient_items()[1]["race1"] == "01"
    assert result.tumor_items()[1]["countyAtDx"] == "001"
    raw = result.entities[1]["raw"]
    assert next(csv.reader([raw]))[:3] == ["00000123", "01", "Nguyen"]


@pytest.mark.parametrize("version", ["140", "180", "250", "260"])
def test_template_columns_exist_in_their_version(version: str) -> None:
    items = base_dictionary(version).items
    columns = template_columns(version)
    assert all(c in items for c in columns)
    assert len(columns) == len(set(columns))
    assert ("sexAssignedAtBirth" in columns) == (version == "260")
    assert ("sex" in columns) == (version != "260")
    assert ("grade" in columns) == (version == "140")
    assert ("summaryStage2018" in columns) == (version != "140")


def test_xlsx_template_layout(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.xlsx", naaccr_version="180", fmt="xlsx")
    workbook = openpyxl.load_workbook(path)
    data, dictionary = workbook["data"], workbook["dictionary"]
    columns = template_columns("180")
    assert [c.value for c in data[1]] == columns
    assert data.freeze_panes == "A2"
    assert all(data.column_dimensions[c.column_letter].number_format == "@" for c in data[1])
    assert data.column_dimensions["A"].width >= len("patientIdNumber")
    rows = list(dictionary.iter_rows(values_only=True))
    assert rows[0] == ("naaccrId", "itemNumber", "name", "level", "length", "dataType")
    assert rows[1] == ("patientIdNumber", 20, "Patient ID Number", "Patient", 8, "digits")
    assert [r[0] for r in rows[1:]] == columns


def test_csv_template_is_header_only(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.csv", naaccr_version="250")
    assert path.read_text(encoding="utf-8-sig").splitlines() == [",".join(template_columns("250"))]
    with pytest.raises(ValueError, match="unknown template format"):
        write_template(tmp_path / "t.ods", fmt="ods")


def test_unknown_headers_are_all_listed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", ["patientIdNumber", "primarysite", "dateOfDiagnosys", "sex", "colour"],
                     [["1", "C509", "2020", "1", "red"]])
    with pytest.raises(SourceFileError) as info:
        read_all(TabularReader(path))
    message = str(info.value)
    assert "4 column header(s) are not naaccrIds of NAACCR v26" in message
    assert "'primarysite' (did you mean 'primarySite'?)" in message
    assert "'dateOfDiagnosys' (did you mean 'dateOfDiagnosis'" in message
    assert "'sex' (" in message and "an item of NAACCR v14" in message and "v25" in message
    assert "'colour'" in message
    assert info.value.line == 1


def test_duplicate_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", ["patientIdNumber", "primarySite", "primarySite"], [["1", "C1", "C2"]])
    with pytest.raises(SourceFileError, match=r"duplicate column header\(s\): 'primarySite' \(columns B, C\)"):
        read_all(TabularReader(path))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceFileError, match="no header row"):
        read_all(TabularReader(path))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_and_bom(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "f.csv", ["patientIdNumber", "primarySite", "nameLast"],
                     [["0001", "C509", "Dupont; Durand"]], delimiter=delimiter, encoding="utf-8-sig")
    result = read_all(TabularReader(path))
    assert result.patient_items() == {1: {"patientIdNumber": "0001", "nameLast": "Dupont; Durand"}}
    assert result.tumor_items() == {1: {"primarySite": "C509"}}


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a;b;c\n") == ";"
    assert sniff_delimiter("a\tb\n") == "\t"
    assert sniff_delimiter("patientIdNumber\n") == ","


def test_version_from_column_and_root_items(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", ["naaccrRecordVersion", "registryId", "patientIdNumber", "sex"],
                     [["180", "0000001234", "1", "2"], ["180", "0000009999", "2", "1"]])
    reader = TabularReader(path, naaccr_version="250")
    result = read_all(reader)
    assert reader.source.naaccr_version == "180"
    assert reader.source.record_type == "I"
    assert reader.source.root_items == {"naaccrRecordVersion": "180", "registryId": "0000001234"}
    assert len(reader.source.warnings) == 1 and "overrides the requested version 250" in reader.source.warnings[0]
    assert [(i["severity"], i["line"], i["naaccr_id"]) for i in result.issues] == [("warning", 3, "registryId")]
    assert not any(r["naaccr_id"] in ("registryId", "naaccrRecordVersion") for r in result.items)


def test_version_argument_and_invalid_versions(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", ["patientIdNumber", "sex"], [["1", "2"]])
    reader = TabularReader(path, naaccr_version="210")
    read_all(reader)
    assert reader.source.naaccr_version == "210" and reader.source.warnings == []
    with pytest.raises(SourceFileError, match="'999' is not supported"):
        read_all(TabularReader(path, naaccr_version="999"))
    bad = write_csv(tmp_path / "g.csv", ["naaccrRecordVersion", "patientIdNumber"], [["170", "1"]])
    with pytest.raises(SourceFileError, match="naaccrRecordVersion '170' is not a supported") as info:
        read_all(TabularReader(bad))
    assert info.value.line == 2


def test_record_type_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", ["recordType", "patientIdNumber"], [["C", "1"]])
    reader = TabularReader(path)
    read_all(reader)
    assert reader.source.record_type == "C"
    assert reader.source.root_items == {"recordType": "C"}
    bad = write_csv(tmp_path / "g.csv", ["recordType", "patientIdNumber"], [["Z", "1"]])
    with pytest.raises(SourceFileError, match="recordType 'Z'"):
        read_all(TabularReader(bad))


def test_grouping_blank_repeats_and_conflicts(tmp_path: Path) -> None:
    header = ["patientIdNumber", "sexAssignedAtBirth", "dateOfBirth", "primarySite"]
    rows = [["1", "2", "", "C509"],
            ["1", "", "19500101", "C180"],
            ["1", "1", "", "C619"],
            ["", "1", "", "C340"],
            ["", "2", "", "C341"],
            ["1", "2", "", "C500"]]
    result = read_all(TabularReader(write_csv(tmp_path / "f.csv", header, rows)))
    patients = [k for k in result.kinds() if k[0] == PATIENT]
    assert patients == [(PATIENT, 1, 0, 2), (PATIENT, 2, 0, 5), (PATIENT, 3, 0, 6), (PATIENT, 4, 0, 7)]
    assert result.patient_items()[1] == {"patientIdNumber": "1", "sexAssignedAtBirth": "2",
                                         "dateOfBirth": "19500101"}
    dob_line = [r["line"] for r in result.items if r["naaccr_id"] == "dateOfBirth"]
    assert dob_line == [3]
    assert [(i["severity"], i["line"], i["naaccr_id"], i["reason"]) for i in result.issues] == [
        ("warning", 4, "sexAssignedAtBirth", "patient-level item sexAssignedAtBirth differs from the "
                                             "patient's first record (line 2); first value kept")]


def test_rows_cells_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text('patientIdNumber,primarySite,,textRemarks\n'
                    '\n'
                    '1, C509 ,,"two\nlines"\n'
                    ',,,\n'
                    '2,C180,oops,\n', encoding="utf-8")
    result = read_all(TabularReader(path))
    tumors = [e for e in result.entities if e["kind"] == TUMOR]
    assert [(t["line"], t["raw"]) for t in tumors] == [(3, '1, C509 ,,"two\nlines"'), (5, "2,C180,oops")]
    assert result.tumor_items()[1] == {"primarySite": " C509 ", "textRemarks": "two\nlines"}
    assert [(i["severity"], i["line"], i["reason"]) for i in result.issues] == [
        ("warning", 5, "values in column(s) C have no naaccrId header and were ignored")]


def test_cp1252_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", ["patientIdNumber", "nameLast"], [["1", "Bédard"]], encoding="cp1252")
    reader = TabularReader(path)
    result = read_all(reader)
    assert result.patient_items()[1]["nameLast"] == "Bédard"
    assert len(reader.source.warnings) == 1 and "Windows-1252" in reader.source.warnings[0]


def test_excel_cell_types(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["patientIdNumber", "race1", "dateOfBirth", "tumorSizeSummary", "dateOfDiagnosis", "nameLast"])
    sheet.append([123, 1.0, dt.datetime(1950, 3, 1), 2.5, dt.date(2020, 1, 31), "  "])
    sheet.append(["00000124", "01", "19500301", "025", "2020", None])
    path = tmp_path / "f.xlsx"
    workbook.save(path)
    result = read_all(TabularReader(path, naaccr_version="250"))
    assert result.patient_items() == {
        1: {"patientIdNumber": "123", "race1": "1", "dateOfBirth": "19500301"},   # numbers lose zeros
        2: {"patientIdNumber": "00000124", "race1": "01", "dateOfBirth": "19500301"},
    }
    assert result.tumor_items() == {1: {"tumorSizeSummary": "2.5", "dateOfDiagnosis": "20200131"},
                                    2: {"tumorSizeSummary": "025", "dateOfDiagnosis": "2020"}}


def test_excel_row_numbers_skip_empty_rows(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["patientIdNumber", "primarySite"])
    sheet.cell(row=4, column=1, value="1")
    sheet.cell(row=4, column=2, value="C509")
    sheet.cell(row=6, column=2, value="C180")
    path = tmp_path / "f.xlsx"
    workbook.save(path)
    result = read_all(TabularReader(path))
    assert result.kinds() == [(PATIENT, 1, 0, 4), (TUMOR, 1, 1, 4), (PATIENT, 2, 0, 6), (TUMOR, 2, 2, 6)]


def test_excel_text() -> None:
    assert excel_text(12.0) == "12"
    assert excel_text(0.1 + 0.2) == "0.3"
    assert excel_text(dt.datetime(2021, 5, 6, 14, 30)) == "2021-05-06T14:30:00"
    assert excel_text(True) == "TRUE"
    assert excel_text(None) is None


def test_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(SourceFileError, match="not a readable .xlsx workbook"):
        read_all(TabularReader(path))


def test_chunks_break_only_between_patients(tmp_path: Path) -> None:
    rows = [[p, site] for p, site in [("1", "C1"), ("1", "C2"), ("1", "C3"), ("2", "C4"), ("3", "C5")]]
    reader = TabularReader(write_csv(tmp_path / "f.csv", ["patientIdNumber", "primarySite"], rows),
                           chunk_rows=2)
    chunks = list(reader.chunks())
    assert [sorted(set(c.entities.column("patient_seq").to_pylist())) for c in chunks] == [[1], [2, 3]]
    # patient-level items travel in their patient's chunk
    assert [sorted(set(c.items.column("patient_seq").to_pylist())) for c in chunks] == [[1], [2, 3]]


def test_supported_versions_have_template_columns() -> None:
    for version in SUPPORTED_VERSIONS:
        assert "patientIdNumber" in template_columns(version)


def test_a_value_holding_the_unit_separator_loads_with_it_replaced_and_a_warning(tmp_path: Path) -> None:
    """U+001F joins the packed items of a record in the store; a CSV value holding it (no NAACCR value may)
    loads with a space in its place and a warning naming the record and the item."""
    from pipelines.load import ingest_file
    from registry.store import read_connection

    path = write_csv(tmp_path / "f.csv", ["patientIdNumber", "primarySite", "nameLast"],
                     [["00000001", "C509", "O\x1fBrien"], ["00000002", "C180", "Smith"]])
    db = tmp_path / "r.duckdb"
    result = ingest_file(path, db_path=db, naaccr_version="250", link=False)
    assert (result.tumors_loaded, result.warnings_by_rule.get("reader")) == (2, 1)
    assert any("nameLast" in m and "U+001F" in m for m in result.messages)
    with read_connection(db) as con:
        names = con.execute("SELECT value FROM source_item WHERE naaccr_id = 'nameLast' ORDER BY value").fetchall()
    assert names == [("O Brien",), ("Smith",)]


def test_a_patient_whose_every_line_is_rejected_is_rejected_too(tmp_path: Path) -> None:
    """Lines of one patient are that patient's tumors: when all of them are rejected the patient has nothing
    left to load (`no-record-loaded`); a patient with one good line keeps it."""
    from pipelines.load import ingest_file

    path = write_csv(tmp_path / "f.csv", ["patientIdNumber", "primarySite"],
                     [["00000001", "C5099"], ["00000001", "C18999"], ["00000002", "C5099"], ["00000002", "C180"]])
    result = ingest_file(path, db_path=tmp_path / "r.duckdb", naaccr_version="250", link=False)
    assert (result.patients_loaded, result.patients_rejected) == (1, 1)
    assert (result.tumors_loaded, result.tumors_rejected) == (1, 3)
    assert result.rejects_by_rule.get("no-record-loaded") == 1
