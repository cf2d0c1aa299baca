"""The NAACCR export of the registry's own records (one Patient per registry patient, one Tumor per registry
tumor, consolidated and corrected) beside the export of the reports as received, which corrections never touch."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from pipelines.export import export_naaccr_xml
from pipelines.load import ingest_file
from registry.audit import events
from registry.corrections import correct
from registry.errors import RegistryError
from registry.operational_store import open_operational_store
from registry.principal import Principal, console_operator
from registry.store import read_connection
from registry_cli.app import app
from tests.registry_reports import two_hospitals_store

NS = {"n": "http://naaccr.org/naaccrxml"}
REGISTRAR = Principal("registrar1", "registrar")


def export(db: Path, output: Path, **kwargs: object) -> Path:
    export_naaccr_xml(db, output, principal=console_operator(), ops=open_operational_store(db), **kwargs)  # type: ignore[arg-type]
    return output


def body(path: Path) -> str:
    """An export's records: everything after the root element's start tag (which carries the time written)."""
    text = path.read_text(encoding="utf-8")
    return text[text.index("<Patient>"):]


def tumors(path: Path) -> list[dict[str, str]]:
    """Every Tumor of an export with its Patient's items, item by item."""
    root = etree.parse(str(path)).getroot()
    found = []
    for patient in root.iterfind("n:Patient", NS):
        items = {i.get("naaccrId"): i.text for i in patient.iterfind("n:Item", NS)}
        for tumor in patient.iterfind("n:Tumor", NS):
            found.append({**items, **{i.get("naaccrId"): i.text for i in tumor.iterfind("n:Item", NS)}})
    return found


def test_the_registry_export_carries_corrections_and_the_received_export_does_not(tmp_path: Path) -> None:
    db = two_hospitals_store(tmp_path)
    ops = open_operational_store(db)
    received_before = body(export(db, tmp_path / "received-before.xml", identified=True))
    with read_connection(db) as con:
        thomas, patient, patients, registry_tumors = con.execute("""
            SELECT (SELECT DISTINCT l.registry_tumor_id FROM tumor_link l JOIN tumor s ON s.tumor_id = l.source_tumor_id
                    JOIN patient p ON p.patient_id = s.patient_id WHERE p.patient_id_number = '00000102'),
                   (SELECT DISTINCT registry_patient_id FROM patient_link l JOIN patient p
                    ON p.patient_id = l.source_patient_id WHERE p.patient_id_number = '00000102'),
                   (SELECT count(*) FROM registry_patient), (SELECT count(*) FROM registry_tumor)""").fetchall()[0]
    correct(REGISTRAR, db, ops, tumor_id=thomas, item="histologicTypeIcdO3", new_value="8550", reason="slides")
    correct(REGISTRAR, db, ops, tumor_id=thomas, item="overRideHistology", new_value="1", reason="confirmed")
    correct(REGISTRAR, db, ops, patient_id=patient, item="race1", new_value="02", reason="self-reported")

    registry = tumors(export(db, tmp_path / "registry.xml", identified=True, records="registry"))
    assert len(registry) == registry_tumors
    root = etree.parse(str(tmp_path / "registry.xml")).getroot()
    assert len(root.findall("n:Patient", NS)) == patients
    [his] = [t for t in registry if t.get("patientIdNumber") in ("00000102", "00007004")]
    assert his["histologicTypeIcdO3"] == "8550" and his["overRideHistology"] == "1" and his["race1"] == "02"
    assert his["primarySite"] == "C619" and his["sequenceNumberCentral"] == "00"
    assert his["dateOfDiagnosis"] == "20160520" and his["nameLast"] == "OKAFOR"

    assert body(export(db, tmp_path / "received-after.xml", identified=True)) == received_before
    assert "8550" not in received_before and "OKAFOR" in received_before
    again = ingest_file(tmp_path / "registry.xml", db_path=tmp_path / "other" / "registry.duckdb", link=False)
    assert (again.status, again.tumors_read) == ("loaded", registry_tumors)
    [audited] = [e for e in events(ops, action="export") if e.detail.get("records") == "registry"]
    assert audited.detail["rows"] == registry_tumors


def test_deidentified_registry_export_and_the_command(tmp_path: Path) -> None:
    db = two_hospitals_store(tmp_path)
    plain = export(db, tmp_path / "plain.xml", records="registry").read_text()
    assert 'recordType="I"' in plain and "WHITFIELD" not in plain and "412556789" not in plain
    assert "C619" in plain
    with pytest.raises(RegistryError, match="every batch"):
        export(db, tmp_path / "x.xml", records="registry", batch_ids=[1])
    with pytest.raises(RegistryError, match="received, registry"):
        export(db, tmp_path / "x.xml", records="mine")
    target = tmp_path / "cli.xml"
    result = CliRunner().invoke(app, ["export", "naaccr-xml", "-o", str(target), "--db", str(db),
                                      "--records", "registry"])
    assert result.exit_code == 0, result.output
    assert "the registry's records" in result.output and target.exists()
