"""Files the reference NAACCR XML reader reads with validation errors load here with warnings naming file, record
and item: no NAACCR namespace, items at the wrong level, unknown items, invalid file-level items."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.load import ingest_file
from pipelines.readers.flat import NaaccrFlatReader
from pipelines.readers.xml import NaaccrXmlReader
from pipelines.readers.xml_bulk import stage_line_structured_xml
from pipelines.records import SourceFile
from pipelines.staging import SPILLS, BatchStager
from registry_cli.app import app
from tests.conftest import export_identified, naaccr_xml
from tests.naaccr_fixtures import flat_line, read_all, write_lines

NAMESPACE = ' xmlns="http://naaccr.org/naaccrxml"'
PATIENT = {"patientIdNumber": "00000001", "sex": "2", "dateOfBirth": "19500612"}
TUMOR = {"tumorRecordNumber": "01", "primarySite": "C509", "histologicTypeIcdO3": "8500",
         "dateOfDiagnosis": "20200101"}
runner = CliRunner(env={"COLUMNS": "200"})


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _one_line(text: str) -> str:
    """The same document on one line after the declaration: only the general reader takes it."""
    return text.replace("\n", " ").replace("?> ", "?>\n", 1)


# --- a file without the NAACCR namespace ----------------------------------------------------------------

def _no_namespace(patients: int, spec: str = "1.5") -> str:
    text = naaccr_xml([({"patientIdNumber": f"{n:08d}", "sex": "1"},
                        [{"primarySite": "C619", "dateOfDiagnosis": "20210304", "laterality": "0"}])
                       for n in range(1, patients + 1)], spec=spec, root_items={"registryId": "0000001234"})
    return text.replace(NAMESPACE, "")


def test_a_file_without_namespace_loads_every_record_with_one_file_warning(tmp_path, db_path):
    path = tmp_path / "no-namespace.xml"
    path.write_text(_no_namespace(3))
    result = ingest_file(path, db_path=db_path)
    assert (result.status, result.tumors_loaded, result.tumors_rejected) == ("loaded", 3, 0)
    assert result.warnings_by_rule == {"file": 1}
    message = next(m for m in result.messages if "namespace" in m)
    assert str(path) in message and "no namespace" in message and "specification 1.5" in message
    assert _query(db_path, "SELECT count(*) FROM source_item WHERE level = 2") == [(9,)]
    again = tmp_path / "again.xml"
    again.write_text(_no_namespace(2, spec="1.8"))
    ingested = runner.invoke(app, ["ingest", str(again), "--db", str(db_path)])
    assert ingested.exit_code == 1 and "no namespace" in ingested.output


def _staged(path: Path, work: Path, *, fast: bool) -> tuple[SourceFile, tuple[list[tuple[object, ...]], ...]]:
    """What the loader keeps of a file read by the line fast path or by the general reader."""
    work.mkdir()
    con = duckdb.connect(str(work / "stage.duckdb"))
    stager = BatchStager(con, work)
    if fast:
        found = stage_line_structured_xml(stager, path, work)
        assert found is not None, "the fast path declined a one-element-per-line file without namespace"
        source = found
    else:
        reader = NaaccrXmlReader(path)
        for chunk in reader.chunks():
            stager.add(chunk, reader.source)
        source = reader.source
    stager.finish(source)
    return source, tuple(con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
                         for name in ("entity", "problem", *SPILLS))


def test_the_line_fast_path_reads_a_file_without_namespace_as_the_general_reader(tmp_path):
    path = tmp_path / "hundred.xml"
    path.write_text(_no_namespace(100))
    source, fast = _staged(path, tmp_path / "fast", fast=True)
    assert any("no namespace" in w for w in source.warnings)
    assert source.root_items == {"registryId": "0000001234"}
    _, general = _staged(path, tmp_path / "general", fast=False)
    assert len(fast[0]) == 200 and fast == general


# --- items at the wrong level -------------------------------------------------------------------------

MISPLACED = [
    # (where, the item, the level it sits at in the store, the level its dictionary gives)
    ("Tumor", {"sex": "1"}, 2, "Patient"),
    ("Patient", {"primarySite": "C340"}, 1, "Tumor"),
    ("Patient", {"registryId": "0000005678"}, 1, "NaaccrData"),
]


@pytest.mark.parametrize("layout", ["one element per line", "one line"])
@pytest.mark.parametrize(("where", "item", "stored_level", "belongs"), MISPLACED)
def test_an_item_at_the_wrong_level_loads_its_record_and_is_reported(tmp_path, db_path, layout, where, item,
                                                                     stored_level, belongs):
    patient, tumor = (PATIENT, {**TUMOR, **item}) if where == "Tumor" else ({**PATIENT, **item}, TUMOR)
    text = naaccr_xml([(patient, [tumor]), ({**PATIENT, "patientIdNumber": "00000002"}, [TUMOR])])
    path = tmp_path / "misplaced.xml"
    path.write_text(text if layout == "one element per line" else _one_line(text))
    result = ingest_file(path, db_path=db_path)
    assert (result.status, result.tumors_loaded, result.patients_loaded, result.tumors_rejected) == \
        ("loaded", 2, 2, 0)
    (naaccr_id, value), = item.items()
    assert result.warnings_by_rule == {"wrong-level": 1}
    message = next(m for m in result.messages if "wrong-level" in m or "belongs at" in m)
    record = "patient #1 tumor #1" if where == "Tumor" else "patient #1,"
    assert str(path) in message and "line" in message and record in message and f"item {naaccr_id}" in message
    assert f"belongs at {belongs} level but appears in a {where}" in message
    # the lossless layer keeps the value where it was received
    assert _query(db_path, f"SELECT value FROM source_item WHERE naaccr_id = '{naaccr_id}' "
                           f"AND level = {stored_level} AND entity_seq = 1") == [(value,)]


def test_the_typed_core_reads_no_value_from_the_wrong_level(tmp_path, db_path):
    patients = [({"patientIdNumber": "00000001", "primarySite": "C340", "cancerStatus": "2"},
                 [{**TUMOR, "sex": "1", "dateOfBirth": "19400101"}])]
    path = tmp_path / "typed.xml"
    path.write_text(naaccr_xml(patients))
    assert ingest_file(path, db_path=db_path).tumors_loaded == 1
    assert _query(db_path, "SELECT sex, date_of_birth FROM patient") == [(None, None)]
    assert _query(db_path, "SELECT primary_site, cancer_status FROM tumor") == [("C509", None)]


def test_date_of_last_cancer_status_at_patient_level_reaches_every_tumor(tmp_path, db_path):
    """The one level change the reference reader moves itself (patient to tumor in the N18/N21 dictionaries)."""
    patients = [({"patientIdNumber": "00000001", "dateOfLastCancerStatus": "20220101"},
                 [TUMOR, {**TUMOR, "tumorRecordNumber": "02"}])]
    path = tmp_path / "n18.xml"
    path.write_text(naaccr_xml(patients, version="180"))
    result = ingest_file(path, db_path=db_path)
    assert (result.tumors_loaded, result.warnings_by_rule) == (2, {"wrong-level": 1})
    assert {str(r[0]) for r in _query(db_path, "SELECT date_of_last_cancer_status FROM tumor")} == {"2022-01-01"}


# --- unknown items ------------------------------------------------------------------------------------

def test_an_unknown_item_loads_its_record_and_is_reported(tmp_path, db_path):
    text = naaccr_xml([(PATIENT, [{**TUMOR, "madeUpItem": "X1"}])])
    path = tmp_path / "unknown.xml"
    path.write_text(text)
    result = ingest_file(path, db_path=db_path)
    assert (result.tumors_loaded, result.tumors_rejected, result.warnings_by_rule) == (1, 0, {"unknown-item": 1})
    message = next(m for m in result.messages if "madeUpItem" in m)
    assert str(path) in message and "patient #1 tumor #1" in message and "item madeUpItem" in message
    assert "not in the NAACCR v250 dictionary" in message
    assert _query(db_path, "SELECT level, value FROM source_item WHERE naaccr_id = 'madeUpItem'") == [(2, "X1")]


def test_unknown_and_misplaced_items_are_exported_where_they_were_received(tmp_path, db_path):
    text = naaccr_xml([({**PATIENT, "primarySite": "C340"}, [{**TUMOR, "madeUpItem": "X1", "sex": "1"}])],
                      root_items={"patientIdNumber": "00000009"})
    source = tmp_path / "in.xml"
    source.write_text(text)
    first = ingest_file(source, db_path=db_path)
    exported = tmp_path / "out.xml"
    export_identified(db_path, first.batch_id, exported)
    second = ingest_file(exported, db_path=db_path)
    items = "SELECT level, entity_seq, naaccr_id, value FROM source_item WHERE batch_id = {} ORDER BY ALL"
    assert _query(db_path, items.format(first.batch_id)) == _query(db_path, items.format(second.batch_id))
    assert second.warnings_by_rule == first.warnings_by_rule == {"wrong-level": 2, "unknown-item": 1,
                                                                 "file-level-item": 1}


# --- invalid file-level items -------------------------------------------------------------------------

def test_an_invalid_file_level_item_of_an_xml_file_is_a_file_warning(tmp_path, db_path):
    text = naaccr_xml([(PATIENT, [TUMOR])], root_items={"registryId": "12AB", "naaccrRecordVersion": "180"})
    path = tmp_path / "root.xml"
    path.write_text(text)
    result = ingest_file(path, db_path=db_path)
    assert (result.tumors_loaded, result.warnings_by_rule) == (1, {"file-level-item": 2})
    messages = [m for m in result.messages if "file-level value" in m]
    assert any("item registryId" in m and "'12AB' is not valid for data type digits of length 10" in m
               for m in messages)
    assert any("item naaccrRecordVersion" in m and "contradicts the NAACCR version 250" in m for m in messages)


def _flat(path: Path, *lines: str) -> Path:
    return write_lines(path, list(lines))


def test_an_invalid_file_level_item_of_a_flat_file_is_a_file_warning(tmp_path, db_path):
    first = flat_line("180", "I", {"patientIdNumber": "1", "registryId": "00000012AB", "primarySite": "C509"})
    path = _flat(tmp_path / "flat.txt", first, flat_line("180", "I", {"patientIdNumber": "2",
                                                                         "registryId": "00000012AB"}))
    reader = NaaccrFlatReader(path)
    read_all(reader)
    assert reader.source.root_items["registryId"] == "00000012AB"
    result = ingest_file(path, db_path=db_path)
    assert (result.status, result.tumors_loaded, result.warnings_by_rule) == ("loaded", 2, {"file-level-item": 1})
    message = next(m for m in result.messages if "registryId" in m)
    assert str(path) in message and "'00000012AB' is not valid for data type digits" in message
    assert runner.invoke(app, ["ingest", str(_flat(tmp_path / "again.txt", first)), "--db",
                               str(db_path)]).exit_code == 1


def test_file_level_values_that_differ_between_flat_lines_are_warnings(tmp_path, db_path):
    path = _flat(tmp_path / "two-registries.txt",
                 flat_line("180", "I", {"patientIdNumber": "1", "registryId": "0000001234"}),
                 flat_line("180", "I", {"patientIdNumber": "2", "registryId": "0000005678"}),
                 flat_line("180", "I", {"patientIdNumber": "3", "registryId": "0000001234"}))
    result = ingest_file(path, db_path=db_path)
    assert (result.tumors_loaded, result.tumors_rejected, result.warnings_by_rule) == \
        (3, 0, {"file-level-item": 1})
    message = next(m for m in result.messages if "registryId" in m)
    assert "line 2" in message and "patient #2 tumor #2" in message and "'0000005678' here but '0000001234'" in message
    assert _query(db_path, "SELECT root_items FROM ingest_batch") == [({"registryId": "0000001234",
                                                                        "recordType": "I",
                                                                        "naaccrRecordVersion": "180"},)]


def test_the_coding_edits_read_no_value_from_the_wrong_level(tmp_path, db_path):
    from registry.edits.reading import read_reports, report_chunks
    from registry.store import read_connection

    patients = [({"patientIdNumber": "00000001", "primarySite": "C340"}, [{**TUMOR, "sex": "1"}])]
    path = tmp_path / "edits.xml"
    path.write_text(naaccr_xml(patients))
    ingest_file(path, db_path=db_path, link=False)
    with read_connection(db_path) as con:
        chunk, = report_chunks(con, None, None)
        frame = read_reports(con, chunk, ["primarySite", "sex", "patientIdNumber"], None)
    assert frame[["primarySite", "sex", "patientIdNumber"]].values.tolist() == [["C509", "", "00000001"]]
