"""`registry export naaccr-xml`: one file as named, direct identifiers only on request, always audited."""

from __future__ import annotations

import getpass
import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from pipelines.load import ingest_file
from registry.audit import events
from registry.naaccr import NAACCR_NAMESPACE
from registry.operational_store import open_operational_store
from registry.principal import console_operator
from registry.user_dictionary import parse_user_dictionary
from registry_cli.app import app
from tests.naaccr_fixtures import flat_line

runner = CliRunner(env={"COLUMNS": "200"})
ANN = ({"patientIdNumber": "00000001", "sex": "2", "nameLast": "Smith", "nameFirst": "Ann",
        "socialSecurityNumber": "123456789"}, [{"primarySite": "C509", "dateOfDiagnosis": "20200101"}])
BOB = ({"patientIdNumber": "00000002", "sex": "1", "nameLast": "Jones", "socialSecurityNumber": "987654321"},
       [{"primarySite": "C619", "dateOfDiagnosis": "20210101"}, {"primarySite": "C189"}])


def _load(write_xml, db_path, name, patients, **kwargs):  # type: ignore[no-untyped-def]
    result = ingest_file(write_xml(name, patients, **kwargs), db_path=db_path)
    assert result.status == "loaded", result.messages
    return result


def test_all_batches_go_into_exactly_the_file_named(tmp_path, write_xml, db_path):
    _load(write_xml, db_path, "a.xml", [ANN], record_type="A")
    _load(write_xml, db_path, "b.xml", [BOB], record_type="A")
    target = tmp_path / "out" / "export.xml"
    target.parent.mkdir()
    result = runner.invoke(app, ["export", "naaccr-xml", "-o", str(target), "--db", str(db_path), "--identified"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.parent.iterdir()) == ["export.xml"]
    text = target.read_text()
    assert text.count("<NaaccrData") == 1 and text.count("<Patient>") == 2 and text.count("<Tumor>") == 3
    again = ingest_file(target, db_path=db_path)
    assert (again.status, again.patients_read, again.tumors_read) == ("loaded", 2, 3)


def test_direct_identifiers_are_left_out_unless_asked_for(tmp_path, write_xml, db_path):
    _load(write_xml, db_path, "a.xml", [ANN, BOB], record_type="A")
    plain, identified = tmp_path / "plain.xml", tmp_path / "identified.xml"
    assert runner.invoke(app, ["export", "naaccr-xml", "-o", str(plain), "--db", str(db_path)]).exit_code == 0
    assert runner.invoke(app, ["export", "naaccr-xml", "-o", str(identified), "--db", str(db_path),
                               "--identified"]).exit_code == 0
    deidentified = plain.read_text()
    for secret in ("Smith", "Jones", "123456789", "nameLast", "socialSecurityNumber", "patientIdNumber"):
        assert secret not in deidentified
    assert 'recordType="I"' in deidentified and "C619" in deidentified and "20200101" in deidentified
    full = identified.read_text()
    assert "Smith" in full and "123456789" in full and 'recordType="A"' in full


def test_every_export_writes_one_audit_event(tmp_path, write_xml, db_path):
    _load(write_xml, db_path, "a.xml", [ANN, BOB], record_type="A")
    target = tmp_path / "export.xml.gz"
    result = runner.invoke(app, ["export", "naaccr-xml", "-o", str(target), "--db", str(db_path), "--identified"])
    assert result.exit_code == 0, result.output
    found = events(open_operational_store(db_path), action="export")
    assert len(found) == 1
    event = found[0]
    assert event.user == console_operator().user == f"console:{getpass.getuser()}"
    assert event.role == "administrator"
    assert event.detail == {"document": "naaccr-xml", "format": "naaccr-xml", "file": str(target.resolve()),
                            "rows": 3, "patients": 2, "identified": True, "records": "received", "batches": [1]}
    registry = tmp_path / "registry.xml"
    result = runner.invoke(app, ["export", "naaccr-xml", "-o", str(registry), "--db", str(db_path),
                                 "--records", "registry"])
    assert result.exit_code == 0, result.output
    event = events(open_operational_store(db_path), action="export")[0]
    assert event.user == f"console:{getpass.getuser()}"
    assert {k: event.detail[k] for k in ("document", "format", "file", "identified", "records")} == {
        "document": "naaccr-xml", "format": "naaccr-xml", "file": str(registry.resolve()), "identified": False,
        "records": "registry"}
    assert event.detail["rows"] > 0


def test_export_file_is_owner_only(tmp_path, write_xml, db_path):
    _load(write_xml, db_path, "a.xml", [ANN])
    target = tmp_path / "export.xml"
    target.write_text("old")
    target.chmod(0o644)
    saved = os.umask(0o022)
    try:
        assert runner.invoke(app, ["export", "naaccr-xml", "-o", str(target), "--db", str(db_path)]).exit_code == 0
    finally:
        os.umask(saved)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_batches_that_cannot_share_one_root_are_refused(tmp_path, write_xml, db_path):
    _load(write_xml, db_path, "v25.xml", [ANN], version="250")
    _load(write_xml, db_path, "v26.xml", [BOB], version="260")
    target = tmp_path / "export.xml"
    result = runner.invoke(app, ["export", "naaccr-xml", "-o", str(target), "--db", str(db_path)])
    assert result.exit_code == 2
    assert "cannot share one NAACCR XML file" in result.output and "--batch" in result.output
    assert not list(tmp_path.glob("export*"))
    assert events(open_operational_store(db_path), action="export") == []
    one = runner.invoke(app, ["export", "naaccr-xml", "-o", str(target), "--db", str(db_path), "--batch", "2"])
    assert one.exit_code == 0, one.output
    assert "naaccr-dictionary-260" in target.read_text()


def test_batch_numbers_are_shown_as_ranges():
    from pipelines.export import batch_ranges

    assert batch_ranges([5, 1, 2, 3, 7, 8]) == "1-3, 5, 7-8"


def test_a_flat_report_with_a_user_dictionary_exports_its_items_and_only_that_version_s_dictionary(
        tmp_path, db_path):  # type: ignore[no-untyped-def]
    def user(name: str, root: str, item: str) -> Path:
        path = tmp_path / f"{name}.xml"
        path.write_text(f'<NaaccrDictionary dictionaryUri="http://registry.example/{name}.xml" {root} '
                        f'xmlns="{NAACCR_NAMESPACE}"><ItemDefs>{item}</ItemDefs></NaaccrDictionary>', encoding="utf-8")
        return path
    ours = user("ours", 'naaccrVersion="180" specificationVersion="1.5"', '<ItemDef naaccrId="myFlag" '
                'naaccrNum="10001" parentXmlElement="Tumor" length="4" startColumn="1647"/>')
    newer = user("newer", 'naaccrVersion="240" specificationVersion="1.7"', '<ItemDef naaccrId="myOther" '
                 'naaccrNum="10002" parentXmlElement="Tumor" length="2"/>')
    text = flat_line("180", "A", {"patientIdNumber": "1", "primarySite": "C509", "nameLast": "Smith"})
    data = tmp_path / "cases.txt"
    data.write_text(text[:1646] + "AB12" + text[1650:] + "\n", encoding="latin-1")
    loaded = ingest_file(data, db_path=db_path, user_dictionaries=[parse_user_dictionary(ours)])
    assert loaded.status == "loaded", loaded.messages

    target = tmp_path / "export.xml"
    result = runner.invoke(app, ["export", "naaccr-xml", "-o", str(target), "--db", str(db_path), "--identified",
                                 "--dictionary", str(ours), "--dictionary", str(newer)])
    assert result.exit_code == 0, result.output
    written = target.read_text()
    assert '<Item naaccrId="myFlag">AB12</Item>' in written
    assert "http://registry.example/ours.xml" in written and "newer.xml" not in written
