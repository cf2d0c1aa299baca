"""Import, export, import again: the items of every record are identical."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.load import ingest_file
from sample_data.synthetic_xml import generate_naaccr_xml
from tests.conftest import export_identified, naaccr_xml

ITEMS_BY_BATCH = """
    SELECT level, entity_seq, naaccr_id, value FROM source_item WHERE batch_id = ?
    ORDER BY level, entity_seq, naaccr_id
"""


def _items(db: Path, batch_id: int) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(ITEMS_BY_BATCH, [batch_id]).fetchall()


def _root(db: Path, batch_id: int) -> object:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT root_items, naaccr_version, record_type FROM ingest_batch WHERE batch_id = ?",
                           [batch_id]).fetchall()


@pytest.mark.parametrize(("version", "record_type"), [("250", "A"), ("260", "I"), ("180", "C"), ("210", "M")])
def test_generated_registry_round_trips(tmp_path, db_path, version, record_type):
    source = tmp_path / "in.xml"
    generate_naaccr_xml(source, tumors=300, seed=7, naaccr_version=version, record_type=record_type)
    first = ingest_file(source, db_path=db_path)
    assert first.status == "loaded" and first.tumors_rejected == 0
    exported = tmp_path / "out.xml.gz"
    export_identified(db_path, first.batch_id, exported)
    again = tmp_path / "again" / "registry.duckdb"   # into the same store, the same reports would add nothing
    second = ingest_file(exported, db_path=again)
    assert second.status == "loaded" and second.batch_id == first.batch_id
    assert (second.tumors_read, second.patients_read) == (first.tumors_read, first.patients_read)
    assert _items(db_path, first.batch_id) == _items(again, second.batch_id)
    assert _root(db_path, first.batch_id) == _root(again, second.batch_id)
    resent = ingest_file(exported, db_path=db_path)
    assert (resent.tumors_loaded, resent.tumors_unchanged) == (0, first.tumors_loaded)


def test_special_characters_and_multiline_text_round_trip(tmp_path, db_path):
    remarks = "Line one & <two>\nline \"three\" 'four'  "
    text = naaccr_xml([({"patientIdNumber": "00000001", "nameLast": "O'Brien & <Sons>"},
                        [{"primarySite": "C509", "textRemarks": remarks}])], record_type="A")
    source = tmp_path / "special.xml"
    source.write_text(text)
    first = ingest_file(source, db_path=db_path)
    assert first.status == "loaded", first.messages
    export_identified(db_path, first.batch_id, tmp_path / "out.xml")
    second = ingest_file(tmp_path / "out.xml", db_path=db_path)
    assert _items(db_path, 1) == _items(db_path, 2)
    values = {row[2]: row[3] for row in _items(db_path, 2)}
    assert values["textRemarks"] == remarks
    assert values["nameLast"] == "O'Brien & <Sons>"
    assert second.tumors_loaded == 1


def test_fast_and_general_readers_stage_the_same_items(tmp_path, db_path):
    source = tmp_path / "fast.xml"
    generate_naaccr_xml(source, tumors=200, seed=3)
    # The same content on a single line cannot take the line-structured fast path.
    one_line = tmp_path / "general.xml"
    one_line.write_bytes(source.read_bytes().replace(b"\n", b" ").replace(b"?> ", b"?>\n", 1))
    again = tmp_path / "again" / "registry.duckdb"   # into the same store, the same reports would add nothing
    ingest_file(source, db_path=db_path)
    ingest_file(one_line, db_path=again)
    assert _items(db_path, 1) == _items(again, 1)
