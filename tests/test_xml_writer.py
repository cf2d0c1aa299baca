"""The streaming NAACCR XML writer and the synthetic file generator built on it."""

from __future__ import annotations

import gzip
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from registry.naaccr import DATA_TYPE_PATTERNS, FULL_LENGTH_TYPES, NAACCR_NAMESPACE, base_dictionary
from sample_data.synthetic_xml import generate_naaccr_xml

NS = f"{{{NAACCR_NAMESPACE}}}"
STAMP = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def write(patients, *, version: str = "250", record_type: str = "I", root_items=None, **kwargs) -> bytes:
    buffer = io.BytesIO()
    with NaaccrXmlWriter(buffer, dictionary=base_dictionary(version), record_type=record_type,
                         root_items=root_items, time_generated=STAMP, **kwargs) as writer:
        for patient, tumors in patients:
            writer.write_patient(patient, tumors)
    return buffer.getvalue()


def items_of(element: etree._Element) -> list[tuple[str, str]]:
    return [(i.get("naaccrId"), i.text) for i in element.findall(f"{NS}Item")]


@pytest.mark.parametrize("value", [
    "a & b", "x<y>z", "<![CDATA[x]]>", 'say "hi"', "it's", "line1\r\nline2", "cr\ronly", "lf\nonly",
    "  leading", "trailing  ", " both ", "tab\there", "Zoë – ünïcødé 😀", "&amp; already escaped",
])
def test_values_round_trip_through_lxml(value: str) -> None:
    data = write([({"patientIdNumber": "00000001"}, [{"npcrSpecificField": value}])], version="210")
    root = etree.fromstring(data)
    assert items_of(root.find(f"{NS}Patient/{NS}Tumor")) == [("npcrSpecificField", value)]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x0b", "\x1f", "\ufffe", "\ud800"])
def test_illegal_xml_character_raises_naming_the_item(char: str) -> None:
    buffer = io.BytesIO()
    with NaaccrXmlWriter(buffer, dictionary=base_dictionary("250"), record_type="I",
                         time_generated=STAMP) as writer:
        with pytest.raises(ValueError, match="primarySite"):
            writer.write_patient({"patientIdNumber": "1"}, [{"primarySite": f"C5{char}9"}])
        writer.write_patient({"patientIdNumber": "2"}, [{"primarySite": "C509"}])
    root = etree.fromstring(buffer.getvalue())  # the refused patient left nothing behind
    assert [items_of(p) for p in root.findall(f"{NS}Patient")] == [[("patientIdNumber", "2")]]
    assert writer.counts.patients == 1


def test_items_in_dictionary_order_at_their_levels_one_per_line() -> None:
    tumor = {"primarySite": "C509", "dateOfDiagnosis": "20200101", "laterality": "1", "ageAtDiagnosis": "061"}
    patient = {"vitalStatus": "1", "patientIdNumber": "00000001", "dateOfBirth": "19590301", "sex": "2"}
    root_items = {"registryId": "0000001234", "recordType": "I"}
    data = write([(patient, [tumor, {"primarySite": "C619"}])], root_items=root_items)
    dictionary = base_dictionary("250")
    rank = {item.naaccr_id: n for n, item in enumerate(dictionary.ordered())}
    root = etree.fromstring(data)
    root_ids = [k for k, _ in items_of(root)]
    patient_ids = [k for k, _ in items_of(root.find(f"{NS}Patient"))]
    tumor_ids = [k for k, _ in items_of(root.find(f"{NS}Patient/{NS}Tumor"))]
    for ids, expected in ((root_ids, root_items), (patient_ids, patient), (tumor_ids, tumor)):
        assert sorted(ids) == sorted(expected)
        assert ids == sorted(ids, key=rank.__getitem__)
    assert len(root.findall(f"{NS}Patient/{NS}Tumor")) == 2
    lines = data.decode().splitlines()
    assert lines[0] == '<?xml version="1.0" encoding="UTF-8"?>'
    assert lines[1].startswith("<NaaccrData ") and lines[-1] == "</NaaccrData>"
    body = [line.strip() for line in lines[2:-1]]
    assert all(line in ("<Patient>", "</Patient>", "<Tumor>", "</Tumor>")
               or re.fullmatch(r'<Item naaccrId="\w+">[^<]*</Item>', line) for line in body)
    assert all(line.startswith(" ") for line in lines[2:-1])


def test_root_attributes() -> None:
    root = etree.fromstring(write([], version="210", record_type="A", specification_version="1.6"))
    assert root.tag == f"{NS}NaaccrData"
    assert root.get("baseDictionaryUri") == "http://naaccr.org/naaccrxml/naaccr-dictionary-210.xml"
    assert root.get("userDictionaryUri") == "http://naaccr.org/naaccrxml/user-defined-naaccr-dictionary-210.xml"
    assert root.get("recordType") == "A"
    assert root.get("specificationVersion") == "1.6"
    assert root.get("timeGenerated") == "2025-01-02T03:04:05+00:00"
    assert etree.fromstring(write([])).get("userDictionaryUri") is None  # v25 has no default user dictionary


def test_blank_values_are_omitted() -> None:
    data = write([({"patientIdNumber": "00000001", "race1": "", "race2": "  "},
                   [{"primarySite": "C509", "laterality": "", "grade": " \t "}])])
    root = etree.fromstring(data)
    assert items_of(root.find(f"{NS}Patient")) == [("patientIdNumber", "00000001")]
    assert items_of(root.find(f"{NS}Patient/{NS}Tumor")) == [("primarySite", "C509")]
    assert data.count(b"<Item ") == 2


@pytest.mark.parametrize(("patient", "tumor", "message"), [
    ({"primarySite": "C509"}, {}, "primarySite.*Tumor.*Patient"),
    ({}, {"patientIdNumber": "1"}, "patientIdNumber.*Patient.*Tumor"),
    ({}, {"registryId": "0000000001"}, "registryId.*NaaccrData.*Tumor"),
    ({}, {"noSuchItem": "1"}, "noSuchItem.*Tumor.*not in the dictionary"),
    ({"sexAssignedAtBirth": "2"}, {}, "sexAssignedAtBirth.*not in the dictionary"),  # v26 only
])
def test_misplaced_or_unknown_items_raise(patient, tumor, message) -> None:
    with pytest.raises(ValueError, match=message):
        write([(patient, [tumor])])


def test_root_item_at_wrong_level_raises() -> None:
    with pytest.raises(ValueError, match="patientIdNumber.*Patient.*NaaccrData"):
        write([], root_items={"patientIdNumber": "1"})


def test_gzip_by_suffix_and_reproducible(tmp_path: Path) -> None:
    patients = [({"patientIdNumber": f"{n:08d}"}, [{"primarySite": "C509"}] * n) for n in range(1, 4)]
    outputs = []
    for name in ("a.xml.gz", "b.xml.gz"):
        with NaaccrXmlWriter(tmp_path / name, dictionary=base_dictionary("250"), record_type="I",
                             time_generated=STAMP) as writer:
            for patient, tumors in patients:
                writer.write_patient(patient, tumors)
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0][:2] == b"\x1f\x8b" and outputs[0] == outputs[1]
    assert gzip.decompress(outputs[0]) == write(patients)
    assert writer.counts.tumors == 6 and writer.counts.patients == 3 and writer.counts.items == 9


def test_gzip_to_stream_leaves_stream_open() -> None:
    buffer = io.BytesIO()
    with NaaccrXmlWriter(buffer, dictionary=base_dictionary("250"), record_type="I", gzip=True,
                         time_generated=STAMP) as writer:
        writer.write_patient({"patientIdNumber": "00000001"}, [])
    assert not buffer.closed
    assert etree.fromstring(gzip.decompress(buffer.getvalue())).find(f"{NS}Patient") is not None


def test_large_output_is_flushed_incrementally(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    with NaaccrXmlWriter(path, dictionary=base_dictionary("250"), record_type="I",
                         time_generated=STAMP) as writer:
        for n in range(10_000):
            writer.write_patient({"patientIdNumber": f"{n:08d}"}, [{"primarySite": "C509", "laterality": "1"}])
        assert path.stat().st_size > 100_000  # already on disk before the writer is closed
    assert len(etree.parse(str(path)).getroot().findall(f"{NS}Patient")) == 10_000


# -- synthetic generator ------------------------------------------------------------------------------

def test_generator_is_deterministic(tmp_path: Path) -> None:
    first = generate_naaccr_xml(tmp_path / "a.xml", tumors=200, seed=5)
    second = generate_naaccr_xml(tmp_path / "b.xml", tumors=200, seed=5)
    generate_naaccr_xml(tmp_path / "c.xml", tumors=200, seed=6)
    assert (tmp_path / "a.xml").read_bytes() == (tmp_path / "b.xml").read_bytes()
    assert (tmp_path / "a.xml").read_bytes() != (tmp_path / "c.xml").read_bytes()
    assert first["tumors"] == 200 and first["items"] == second["items"]


@pytest.mark.parametrize(("version", "record_type"), [("250", "I"), ("250", "A"), ("260", "C"), ("210", "M"),
                                                      ("180", "I")])
def test_generated_items_are_valid_for_the_dictionary(tmp_path: Path, version: str, record_type: str) -> None:
    path = tmp_path / "synthetic.xml"
    info = generate_naaccr_xml(path, tumors=400, seed=3, naaccr_version=version, record_type=record_type)
    dictionary = base_dictionary(version)
    patterns = {name: re.compile(p) for name, p in DATA_TYPE_PATTERNS.items()}
    root = etree.parse(str(path)).getroot()
    assert root.get("recordType") == record_type
    problems = []
    items = 0
    for element in root.iter(f"{NS}Item"):
        items += 1
        naaccr_id, value = element.get("naaccrId"), element.text
        level = etree.QName(element.getparent()).localname
        item = dictionary.items.get(naaccr_id)
        if item is None or item.level != level or record_type not in item.record_types:
            problems.append(f"{naaccr_id} at {level}")
        elif len(value) > item.length or (item.data_type in patterns and not patterns[item.data_type].match(value)) \
                or (item.data_type in FULL_LENGTH_TYPES and len(value) != item.length):
            problems.append(f"{naaccr_id}={value!r}")
    assert problems == []
    tumors = root.findall(f"{NS}Patient/{NS}Tumor")
    assert len(tumors) == info["tumors"] == 400
    assert len(root.findall(f"{NS}Patient")) == info["patients"]
    assert 1.1 < info["tumors"] / info["patients"] < 1.4
    assert 110 < (items - len(items_of(root))) / info["tumors"] < 130
    names = {k for k, _ in items_of(root.find(f"{NS}Patient"))} & {"nameLast", "nameFirst"}
    assert names == (set() if record_type == "I" else {"nameLast", "nameFirst"})


def test_generated_dates_are_coherent(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.xml"
    generate_naaccr_xml(path, tumors=500, seed=11)
    dictionary = base_dictionary("250")
    for patient in etree.parse(str(path)).getroot().iter(f"{NS}Patient"):
        p = dict(items_of(patient))
        for tumor in patient.findall(f"{NS}Tumor"):
            t = dict(items_of(tumor))
            dx = t["dateOfDiagnosis"]
            assert "20180101" <= dx <= "20251231"
            assert p["dateOfBirth"] < dx <= p["dateOfLastContact"]
            age = int(dx[:4]) - int(p["dateOfBirth"][:4]) - (dx[4:] < p["dateOfBirth"][4:])
            assert t["ageAtDiagnosis"] == f"{age:03d}"
            for k, v in t.items():
                if dictionary.items[k].data_type == "date" and k.startswith("rxDate"):
                    assert dx <= v <= p["dateOfLastContact"], (k, v)
            county = int(t["countyAtDx"])
            assert county % 2 == 1 and county <= 199
            if t["primarySite"].startswith("C50"):
                assert t["laterality"] in "12349" and "estrogenReceptorSummary" in t
            if t["primarySite"] == "C619":
                assert t["laterality"] == "0" and p["sex"] == "1"


def test_as_received_writes_misplaced_and_unknown_items_after_the_elements_own() -> None:
    data = write([({"zzUnknown": "1", "primarySite": "C340", "patientIdNumber": "1"},
                   [{'odd"id': "x", "sex": "1", "laterality": "2", "primarySite": "C509"}])],
                 root_items={"patientIdNumber": "9", "registryId": "0000000001"}, as_received=True)
    root = etree.fromstring(data)
    patient = root.find(f"{NS}Patient")
    assert items_of(root) == [("registryId", "0000000001"), ("patientIdNumber", "9")]
    assert items_of(patient) == [("patientIdNumber", "1"), ("primarySite", "C340"), ("zzUnknown", "1")]
    assert items_of(patient.find(f"{NS}Tumor")) == [("laterality", "2"), ("primarySite", "C509"), ("sex", "1"),
                                                     ('odd"id', "x")]
