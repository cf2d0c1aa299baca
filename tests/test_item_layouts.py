"""Item layouts (`registry/migrations/0010_item_layouts.sql`): each distinct list of naaccrIds of a batch and
level is stored once and named by its records, whichever reader read the file; `source_item` reads the same,
a re-sent report is recognised whatever its layout's number, and an older store is upgraded in place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.load import ingest_file
from registry.store import read_connection
from registry.store_writes import ensure_store, write_connection
from tests.conftest import export_identified, naaccr_xml
from tests.registry_reports import report, write_reports
from tests.store_versions import back_before_item_layouts

# Patients 1 and 2 send the same items (other values), patient 3 the same items in another order; patient 4's
# tumor has no item at all.
PATIENTS = [
    ({"patientIdNumber": "00000001", "sex": "1"}, [{"primarySite": "C509", "laterality": "1"}]),
    ({"patientIdNumber": "00000002", "sex": "2"}, [{"primarySite": "C180", "laterality": "0"}]),
    ({"sex": "2", "patientIdNumber": "00000003"}, [{"laterality": "2", "primarySite": "C504"}]),
    ({"patientIdNumber": "00000004"}, [{}]),
]
SEP = "\x1f"
ITEMS = "SELECT batch_id, level, entity_seq, naaccr_id, value FROM source_item ORDER BY ALL"


def _layouts(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    with read_connection(db) as con:
        return (con.execute("SELECT level, layout_seq, naaccr_ids FROM source_item_layout ORDER BY ALL").fetchall(),
                con.execute("SELECT patient_seq, layout_seq FROM source_patient ORDER BY 1").fetchall(),
                con.execute("SELECT tumor_seq, layout_seq FROM source_tumor ORDER BY 1").fetchall())


def _untimed(path: Path) -> str:
    return re.sub(r'timeGenerated="[^"]*"', "", path.read_text())


@pytest.mark.parametrize("path", ["native", "sql", "general"])
def test_records_with_the_same_items_share_a_layout_and_another_order_is_another(tmp_path, monkeypatch, path):
    from pipelines.readers import xml_bulk
    text = naaccr_xml(PATIENTS)
    if path == "sql":
        monkeypatch.setattr(xml_bulk, "_xmlscan", None)
    elif path == "general":   # one line: not for the line-structured fast path
        text = text.replace("\n", " ").replace("?> ", "?>\n", 1)
    source = tmp_path / "layouts.xml"
    source.write_text(text)
    db = tmp_path / "registry.duckdb"
    result = ingest_file(source, db_path=db, link=False)
    assert (result.patients_loaded, result.tumors_loaded) == (4, 4)
    layouts, patients, tumors = _layouts(db)
    assert layouts == [(1, 1, f"patientIdNumber{SEP}sex"), (1, 2, f"sex{SEP}patientIdNumber"), (1, 3, "patientIdNumber"),
                       (2, 1, f"primarySite{SEP}laterality"), (2, 2, f"laterality{SEP}primarySite")]
    assert patients == [(1, 1), (2, 1), (3, 2), (4, 3)]
    assert tumors == [(1, 1), (2, 1), (3, 2), (4, None)]
    with read_connection(db) as con:
        items = con.execute(ITEMS).fetchall()
    assert items == sorted([(1, 1, seq, name, value) for seq, (patient, _) in enumerate(PATIENTS, 1)
                            for name, value in patient.items()] +
                           [(1, 2, seq, name, value) for seq, (_, [tumor]) in enumerate(PATIENTS, 1)
                            for name, value in tumor.items()])


def test_a_report_sent_again_is_recognised_whatever_the_number_of_its_layout(tmp_path):
    first = report("1000000001", "00000101", nameLast="BRANDT", dateOfBirth="19600101")
    second = report("1000000001", "00000102", nameLast="MARSH", nameFirst="LEO", dateOfBirth="19450707",
                    tumorSizeSummary="010")
    db = tmp_path / "registry.duckdb"
    ingest_file(write_reports(tmp_path / "both.xml", [first, second]), db_path=db, link=False)
    again = ingest_file(write_reports(tmp_path / "again.xml", [second]), db_path=db, link=False)
    assert (again.tumors_unchanged, again.patients_unchanged, again.tumors_loaded) == (1, 1, 0)
    with read_connection(db) as con:
        numbers = con.execute("""SELECT l.batch_id, l.layout_seq FROM source_item_layout l
                                 WHERE l.level = 2 AND l.naaccr_ids LIKE '%tumorSizeSummary%'""").fetchall()
    assert numbers == [(1, 2)]   # the second report's layout is number 2 in batch 1; batch 2 added nothing


def test_a_store_from_before_layouts_is_upgraded_in_place_with_every_item(tmp_path):
    db = tmp_path / "registry.duckdb"
    layouts = tmp_path / "layouts.xml"
    layouts.write_text(naaccr_xml(PATIENTS))
    reports = [report("1000000001", f"0000010{k}", nameLast="BRANDT", dateOfBirth=f"1960010{k}") for k in range(1, 4)]
    ingest_file(layouts, db_path=db, link=False)
    ingest_file(write_reports(tmp_path / "reports.xml", reports), db_path=db, link=False)
    for batch in (1, 2):
        export_identified(db, batch, tmp_path / f"before{batch}.xml")
    with read_connection(db) as con:
        before = con.execute(ITEMS).fetchall()
    stored = _layouts(db)
    with write_connection(db) as con:
        back_before_item_layouts(con)
        con.execute("DELETE FROM schema_migration WHERE number >= 10")
    assert ensure_store(db) == ["0010_item_layouts.sql"]
    with read_connection(db) as con:
        assert con.execute(ITEMS).fetchall() == before and len(before) > 40
        assert con.execute("SELECT count(*) FROM source_item_layout WHERE batch_id = 2").fetchall() == [(2,)]
    assert _layouts(db) == stored   # numbered as a load numbers them: in the order of their first record
    for batch in (1, 2):   # the same files, but for the time each was generated
        export_identified(db, batch, tmp_path / f"after{batch}.xml")
        assert _untimed(tmp_path / f"after{batch}.xml") == _untimed(tmp_path / f"before{batch}.xml")
    again = ingest_file(write_reports(tmp_path / "again.xml", reports[1:]), db_path=db, link=False)
    assert (again.tumors_unchanged, again.tumors_loaded) == (2, 0)
