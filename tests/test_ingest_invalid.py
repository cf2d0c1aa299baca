"""Each kind of invalid input ends in a clear message naming file, record and item, and nothing half-loaded."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from pipelines.load import ingest_file
from tests.conftest import naaccr_xml

PATIENT = {"patientIdNumber": "00000001", "sex": "2"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101", "histologicTypeIcdO3": "8500"}
GOOD = naaccr_xml([(PATIENT, [TUMOR]), ({**PATIENT, "patientIdNumber": "00000002"}, [TUMOR])])

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<NaaccrData baseDictionaryUri="http://naaccr.org/naaccrxml/naaccr-dictionary-250.xml" recordType="I"
 specificationVersion="1.8" xmlns="http://naaccr.org/naaccrxml">
  <Patient><Item naaccrId="nameLast">&lol9;</Item></Patient>
</NaaccrData>
"""
EXTERNAL = BOMB.split("<!DOCTYPE")[0] + '<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>' + \
    BOMB.split("]>", 1)[1].replace("&lol9;", "&ext;")

FILE_FAILURES = [
    ("bad-root", GOOD.replace("NaaccrData", "NaacrData"), "NaacrData"),
    ("wrong-namespace", GOOD.replace('xmlns="http://naaccr.org/naaccrxml"', 'xmlns="http://example.org/x"'),
     "http://example.org/x"),
    ("truncated", GOOD[: len(GOOD) - 40], "truncated"),
    ("entity-bomb", BOMB, "DOCTYPE"),
    ("external-entity", EXTERNAL, "DOCTYPE"),
]


def _store_counts(db: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT (SELECT count(*) FROM source_item), (SELECT count(*) FROM tumor), "
                           "(SELECT count(*) FROM reject)").fetchall()
    return rows[0]


@pytest.mark.parametrize(("name", "text", "expected"), FILE_FAILURES)
def test_unreadable_files_fail_whole_and_quickly(tmp_path, db_path, name, text, expected):
    path = tmp_path / f"{name}.xml"
    path.write_text(text)
    started = time.monotonic()
    result = ingest_file(path, db_path=db_path)
    assert time.monotonic() - started < 5
    assert result.status == "failed"
    assert str(path) in (result.message or "") and expected in (result.message or "")
    assert _store_counts(db_path) == (0, 0, 0)


def test_entity_bomb_is_refused_within_a_second(tmp_path, db_path):
    path = tmp_path / "bomb.xml"
    path.write_text(BOMB)
    ingest_file(path, db_path=db_path)  # creates the store and warms imports; the timed run is the second
    again = tmp_path / "bomb2.xml"
    again.write_text(BOMB + "\n")
    started = time.monotonic()
    result = ingest_file(again, db_path=db_path)
    assert time.monotonic() - started < 1.0
    assert result.status == "failed"


def test_wrong_encoding_fails_with_the_line(tmp_path, db_path):
    path = tmp_path / "latin1.xml"
    path.write_bytes(GOOD.replace("C509", "C50\xe9").encode("latin-1"))
    result = ingest_file(path, db_path=db_path)
    assert result.status == "failed"
    assert "latin1.xml" in (result.message or "") and "line" in (result.message or "")
    assert _store_counts(db_path) == (0, 0, 0)


def test_control_characters_load_with_a_warning(tmp_path, db_path):
    path = tmp_path / "ctrl.xml"
    path.write_text(GOOD.replace("C509", "C5\x0709"))
    result = ingest_file(path, db_path=db_path)
    assert result.status == "loaded" and result.tumors_loaded == 2
    assert result.warnings_by_rule.get("file") == 1
    assert any("control" in m for m in result.messages)


@pytest.mark.parametrize(("tumor_xml", "rule", "item"), [
    ('<Item naaccrId="laterality">12</Item>', "too-long", "laterality"),
    ('<Item naaccrId="dateOfDiagnosis">20200101</Item>', "duplicate-item", "dateOfDiagnosis"),
])
def test_record_level_problems_reject_only_that_record(tmp_path, db_path, tumor_xml, rule, item):
    text = GOOD.replace("<Tumor>", "<Tumor>" + tumor_xml, 1)
    path = tmp_path / f"{rule}.xml"
    path.write_text(text)
    result = ingest_file(path, db_path=db_path)
    assert (result.status, result.tumors_read, result.tumors_loaded, result.tumors_rejected) == ("loaded", 2, 1, 1)
    assert result.rejects_by_rule == {rule: 1}
    message = next(m for m in result.messages if rule.split("-")[0] in m or item in m)
    assert str(path) in message and "line" in message and f"item {item}" in message


ATTRIBUTES = """<?xml version="1.0"?>
<NaaccrData baseDictionaryUri="http://naaccr.org/naaccrxml/naaccr-dictionary-250.xml" recordType="I"
 specificationVersion="1.4" xmlns="http://naaccr.org/naaccrxml" xmlns:x="http://example.org/x">
<Patient>
<Item naaccrId="patientIdNumber">00000001</Item>
<Tumor status="draft">
<Item naaccrId="primarySite">C509</Item>
</Tumor>
<Tumor x:note="kept">
<Item naaccrId="primarySite">C619</Item>
</Tumor>
</Patient>
<Patient id="7">
<Item naaccrId="patientIdNumber">00000002</Item>
<Tumor>
<Item naaccrId="primarySite">C509</Item>
</Tumor>
</Patient>
</NaaccrData>
"""


@pytest.mark.parametrize("layout", ["one element per line", "one line"])
def test_an_attribute_on_patient_or_tumor_rejects_that_record_and_says_so(tmp_path: Path, layout: str) -> None:
    """NAACCR XML allows no attribute of its own on Patient or Tumor: the record is rejected with the attribute
    named (not dropped without a word); an extension attribute in another namespace is ignored. Both readers
    (the line fast path and the general one) give the same outcome."""
    path = tmp_path / "attributes.xml"
    path.write_text(ATTRIBUTES if layout == "one element per line" else ATTRIBUTES.replace("\n<", "<"),
                    encoding="utf-8")
    result = ingest_file(path, db_path=tmp_path / "registry.duckdb", link=False)
    assert (result.status, result.tumors_read, result.tumors_loaded) == ("loaded", 3, 1)
    assert result.rejects_by_rule == {"unknown-attribute": 2, "patient-rejected": 1}
    text = "\n".join(result.messages)
    assert "<Tumor> has the attribute 'status'" in text and "<Patient> has the attribute 'id'" in text
    assert "attributes.xml" in text and "note" not in text
    with duckdb.connect(str(tmp_path / "registry.duckdb"), read_only=True) as con:
        assert con.execute("SELECT primary_site FROM tumor").fetchall() == [("C619",)]


@pytest.mark.parametrize(("value", "valid"), [
    ("2020-07-31T12:17:58.9115847-04:00", True), ("2024-03-01T09:30:00Z", True), ("2024-03-01T09:30:00", True),
    ("2024-03-01T9:30:00", False), ("2024-13-01T09:30:00", False), ("2024-02-30T09:30:00", False),
    ("yesterday", False), ("2024-03-01", False), ("2024-03-01T09:30:00+25:00", False),
])
def test_time_generated_is_checked_and_a_bad_one_warns_without_losing_a_record(tmp_path: Path, value: str,
                                                                                valid: bool) -> None:
    path = tmp_path / "generated.xml"
    path.write_text(GOOD.replace('specificationVersion=', f'timeGenerated="{value}" specificationVersion=', 1),
                    encoding="utf-8")
    result = ingest_file(path, db_path=tmp_path / "registry.duckdb", link=False)
    assert (result.status, result.tumors_loaded) == ("loaded", 2)
    warned = [m for m in result.messages if "timeGenerated" in m]
    assert bool(warned) is not valid, result.messages
    if warned:
        assert "generated.xml" in warned[0] and repr(value) in warned[0]
