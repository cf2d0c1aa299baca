"""Flat and spreadsheet files go through the same loader: accounting, rejects with raw lines, typed core."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.load import ingest_file
from pipelines.template import template_columns
from registry_cli.app import app
from tests.conftest import export_identified
from tests.naaccr_fixtures import flat_line, write_lines

PATIENT = {"patientIdNumber": "00000001", "sex": "2", "dateOfBirth": "19500612"}
TUMOR = {"primarySite": "C509", "histologicTypeIcdO3": "8500", "behaviorCodeIcdO3": "3",
         "dateOfDiagnosis": "20170315", "addrAtDxState": "NC", "countyAtDx": "063", "rxSummChemo": "03"}


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("version", ["160", "180"])
def test_flat_file_loads_and_rejects_a_short_line_with_its_raw_text(tmp_path, db_path, version):
    lines = [flat_line(version, "I", {**PATIENT, **TUMOR}),
             flat_line(version, "I", {**PATIENT, **TUMOR, "primarySite": "C504"}),
             flat_line(version, "I", {**PATIENT, "patientIdNumber": "00000002", **TUMOR})]
    lines.append(lines[0][:-10])
    path = write_lines(tmp_path / f"v{version}.txt", lines)
    result = ingest_file(path, db_path=db_path)
    assert (result.format, result.naaccr_version) == ("naaccr-flat", version)
    assert (result.tumors_read, result.tumors_loaded, result.tumors_rejected) == (4, 3, 1)
    assert (result.patients_loaded, result.patients_rejected) == (2, 1)
    rejected = query(db_path, "SELECT line, rule, raw_record FROM reject")
    assert rejected[0][0] == 4 and rejected[0][2] == lines[0][:-10]
    typed = query(db_path, "SELECT primary_site, county_fips, date_of_diagnosis::VARCHAR FROM tumor ORDER BY tumor_seq")
    assert typed == [("C509", "37063", "2017-03-15"), ("C504", "37063", "2017-03-15"),
                     ("C509", "37063", "2017-03-15")]


def test_flat_file_exports_as_naaccr_xml_with_the_same_items(tmp_path, db_path):
    path = write_lines(tmp_path / "v18.txt", [flat_line("180", "C", {**PATIENT, **TUMOR, "nameLast": "SMITH"})])
    first = ingest_file(path, db_path=db_path)
    export_identified(db_path, first.batch_id, tmp_path / "out.xml")
    second = ingest_file(tmp_path / "out.xml", db_path=db_path)
    items = "SELECT level, entity_seq, naaccr_id, value FROM source_item WHERE batch_id = {} ORDER BY ALL"
    assert query(db_path, items.format(1)) == query(db_path, items.format(2))
    assert second.naaccr_version == "180"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_filled_in_loads(tmp_path, db_path, suffix):
    template = tmp_path / f"template{suffix}"
    runner = CliRunner(env={"COLUMNS": "200"})
    assert runner.invoke(app, ["template", "--output", str(template), "--naaccr-version", "250"]).exit_code == 0
    columns = template_columns("250")
    row = {**PATIENT, **TUMOR, "nameLast": "Doe"}
    if suffix == ".csv":
        with template.open("a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow([row.get(c, "") for c in columns])
    else:
        from openpyxl import load_workbook
        book = load_workbook(template)
        book.worksheets[0].append([row.get(c, "") for c in columns])
        book.save(template)
    result = ingest_file(template, db_path=db_path)
    assert result.status == "loaded", result.messages
    assert (result.tumors_loaded, result.tumors_rejected) == (1, 0)
    assert query(db_path, "SELECT primary_site, sex FROM tumor JOIN patient USING (patient_id)") == [("C509", "2")]
