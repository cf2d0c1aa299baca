"""Tests of the NAACCR flat-file writer (pipelines/naaccr_flat_writer.py), read back with the flat reader."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from pipelines.naaccr_flat_writer import NaaccrFlatWriter, flat_item_ids, to_ascii
from pipelines.readers.flat import NaaccrFlatReader
from registry.naaccr import FLAT_LINE_LENGTHS, FLAT_VERSIONS, Dictionary, ItemDef, base_dictionary
from tests.naaccr_fixtures import read_all

ROOT = {"registryType": "1", "registryId": "0000000020"}


def sample_value(item: ItemDef, seed: int) -> str:
    """A value for any item that reads back unchanged: full length where the item is padded."""
    if item.data_type in ("digits", "numeric") or item.padding in ("leftZero", "rightZero"):
        digits = "".join(str((seed + k * 7 + item.naaccr_num) % 10) for k in range(item.length))
        return digits if item.padding != "rightZero" else digits[:-1] + "7"
    if item.data_type == "date":
        return "2015" if item.length < 8 else f"2015{1 + seed % 12:02d}{1 + seed % 28:02d}"
    letters = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(seed + k + item.naaccr_num) % 26] for k in range(item.length))
    text = letters[:max(1, min(item.length, 3 + seed % 9))]
    return text if item.trim != "none" else letters   # trim="none" items come back at full width


def patients_for(dictionary: Dictionary, record_type: str) -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """Three patients (1, 2 and 3 tumors) that together set every writable item of the layout."""
    items = [i for i in dictionary.flat_items(record_type)
             if i.level in ("Patient", "Tumor") and i.naaccr_id != "patientIdNumber"]
    patients = []
    for p in range(3):
        patient = {i.naaccr_id: sample_value(i, p) for i in items if i.level == "Patient"}
        patient["patientIdNumber"] = f"{p + 1:08d}"
        tumors = [{i.naaccr_id: sample_value(i, p * 10 + t) for i in items if i.level == "Tumor"}
                  for t in range(p + 1)]
        patients.append((patient, tumors))
    return patients


def write(path: Path, version: str, record_type: str, patients: list, **kwargs: Any) -> Path:
    with NaaccrFlatWriter(path, dictionary=base_dictionary(version), record_type=record_type,
                          root_items=ROOT, **kwargs) as writer:
        for patient, tumors in patients:
            writer.write_patient(patient, tumors)
    return path


@pytest.mark.parametrize("version", FLAT_VERSIONS)
@pytest.mark.parametrize("record_type", ["I", "C", "A", "M"])
def test_round_trip_through_the_flat_reader(tmp_path: Path, version: str, record_type: str) -> None:
    dictionary = base_dictionary(version)
    patients = patients_for(dictionary, record_type)
    path = write(tmp_path / "out.txt", version, record_type, patients)

    reader = NaaccrFlatReader(path)
    result = read_all(reader)
    assert result.issues == []
    assert (reader.source.naaccr_version, reader.source.record_type) == (version, record_type)
    assert reader.source.root_items == {"recordType": record_type, "naaccrRecordVersion": version, **ROOT}
    assert result.patient_items() == {n: patient for n, (patient, _) in enumerate(patients, start=1)}
    expected_tumors = [tumor for _, tumors in patients for tumor in tumors]
    assert result.tumor_items() == dict(enumerate(expected_tumors, start=1))
    below_root = [i for i in dictionary.flat_items(record_type) if i.level != "NaaccrData"]
    assert len(below_root) == len(patients[0][0]) + len(expected_tumors[0])   # every item was exercised


@pytest.mark.parametrize("version", FLAT_VERSIONS)
@pytest.mark.parametrize("record_type", ["A", "M", "C", "I"])
def test_every_line_has_the_layout_length(tmp_path: Path, version: str, record_type: str) -> None:
    patients = [({"patientIdNumber": "00000001", "sex": "2"}, [{"primarySite": "C509"}, {"primarySite": "C180"}]),
                ({"patientIdNumber": "00000002", "sex": "1"}, [{"primarySite": "C619"}])]
    data = write(tmp_path / "out.txt", version, record_type, patients).read_bytes()
    lines = data.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4
    assert {len(line) for line in lines[:-1]} == {FLAT_LINE_LENGTHS[version][record_type]}
    for line in lines[:-1]:
        assert line[:1] == record_type.encode() and line[16:19] == version.encode()


def test_short_values_are_padded_as_the_dictionary_says(tmp_path: Path) -> None:
    dictionary = base_dictionary("180")
    patients = [({"patientIdNumber": "42", "sex": "1"},
                 [{"ageAtDiagnosis": "7", "primarySite": "C619", "medicalRecordNumber": "M123",
                   "reserved00": "AB", "countyAtDx": "  "}])]
    line = write(tmp_path / "out.txt", "180", "C", patients).read_text().rstrip("\n")

    def field(naaccr_id: str) -> str:
        item = dictionary.items[naaccr_id]
        start = (item.start_column or 1) - 1
        return line[start:start + item.length]

    assert field("patientIdNumber") == "00000042"            # leftZero
    assert field("ageAtDiagnosis") == "007"
    assert field("primarySite") == "C619"
    assert field("medicalRecordNumber") == "       M123"     # leftBlank
    assert field("reserved00") == "AB" + " " * 12             # rightBlank, trim none
    assert field("countyAtDx") == "   "                      # blank stays blank, not zeros
    assert field("registryId") == "0000000020"
    result = read_all(NaaccrFlatReader(tmp_path / "out.txt"))
    assert result.tumor_items()[1]["ageAtDiagnosis"] == "007"
    assert result.tumor_items()[1]["medicalRecordNumber"] == "M123"
    assert result.tumor_items()[1]["reserved00"] == "AB" + " " * 12
    assert "countyAtDx" not in result.tumor_items()[1]


def test_crlf_line_endings(tmp_path: Path) -> None:
    patients = patients_for(base_dictionary("180"), "I")
    path = write(tmp_path / "out.txt", "180", "I", patients, line_ending="\r\n")
    data = path.read_bytes()
    assert data.count(b"\r\n") == 6 and data.count(b"\n") == 6 and data.endswith(b"\r\n")
    assert {len(line) for line in data.split(b"\r\n")[:-1]} == {FLAT_LINE_LENGTHS["180"]["I"]}
    result = read_all(NaaccrFlatReader(path))
    assert result.issues == [] and len(result.tumor_items()) == 6
    with pytest.raises(ValueError, match="line ending"):
        NaaccrFlatWriter(tmp_path / "x.txt", dictionary=base_dictionary("180"), record_type="I", line_ending="\r")


def test_gzip_output_is_deterministic(tmp_path: Path) -> None:
    patients = patients_for(base_dictionary("160"), "C")
    first = write(tmp_path / "a.txt.gz", "160", "C", patients).read_bytes()
    second = write(tmp_path / "b.txt.gz", "160", "C", patients).read_bytes()
    plain = write(tmp_path / "c.txt", "160", "C", patients).read_bytes()
    assert first == second
    assert first[:2] == b"\x1f\x8b" and first[4:8] == b"\0\0\0\0"   # no timestamp
    assert gzip.decompress(first) == plain
    assert read_all(NaaccrFlatReader(tmp_path / "a.txt.gz")).tumor_items() == \
        read_all(NaaccrFlatReader(tmp_path / "c.txt")).tumor_items()
    stream = io.BytesIO()
    with NaaccrFlatWriter(stream, dictionary=base_dictionary("160"), record_type="C", root_items=ROOT,
                          gzip=True) as writer:
        for patient, tumors in patients:
            writer.write_patient(patient, tumors)
    assert not stream.closed and stream.getvalue() == first


def test_stream_target_is_left_open_and_counts(tmp_path: Path) -> None:
    stream = io.BytesIO()
    writer = NaaccrFlatWriter(stream, dictionary=base_dictionary("180"), record_type="I")
    with writer:
        assert writer.write_patient({"patientIdNumber": "00000001", "sex": "2"},
                                    [{"primarySite": "C509", "laterality": ""}, {"primarySite": "C180"}]) == 2
    assert not stream.closed
    assert (writer.counts.patients, writer.counts.tumors, writer.counts.items) == (1, 2, 4)
    assert stream.getvalue().count(b"\n") == 2
    with pytest.raises(RuntimeError, match="not open"):
        writer.write_patient({"sex": "1"}, [{}])


def test_flat_item_ids() -> None:
    v18 = base_dictionary("180")
    incidence, confidential = flat_item_ids(v18, "I"), flat_item_ids(v18, "C")
    assert {"recordType", "naaccrRecordVersion", "registryId", "patientIdNumber", "primarySite"} <= incidence
    assert "nameLast" not in incidence and "nameLast" in confidential and incidence < confidential
    assert incidence == {i.naaccr_id for i in v18.flat_items("I")}
    with pytest.raises(ValueError, match="no flat layout"):
        flat_item_ids(base_dictionary("250"), "I")
    with pytest.raises(ValueError, match="record type"):
        flat_item_ids(v18, "X")


def test_errors_name_patient_tumor_and_item(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    good = ({"patientIdNumber": "00000001"}, [{"primarySite": "C509"}])
    with NaaccrFlatWriter(path, dictionary=base_dictionary("180"), record_type="I") as writer:
        writer.write_patient(*good)
        cases: list[tuple[tuple[dict[str, Any], list[dict[str, Any]]], str]] = [
            (({"patientIdNumber": "00000002"}, [{"primarySite": "C509"}, {"primarySite": "C5099"}]),
             r"patient 2, tumor 2: item 'primarySite' value 'C5099' is 5 characters long; its field in "
             r"NAACCR v18 record type I holds 4"),
            (({"patientIdNumber": "00000002", "noSuchItem": "1"}, [{"primarySite": "C509"}]),
             r"patient 2: item 'noSuchItem' is not in the dictionary"),
            (({"patientIdNumber": "00000002", "nameLast": "SMITH"}, [{"primarySite": "C509"}]),
             r"patient 2: item 'nameLast' has no columns in a NAACCR v18 record type I line \(4048"),
            (({"patientIdNumber": "00000002"}, [{"sex": "1"}]),
             r"patient 2, tumor 1: item 'sex' belongs at level Patient, not Tumor"),
            (({"patientIdNumber": "00000002", "registryId": "1"}, [{"primarySite": "C509"}]),
             r"'registryId' belongs at level NaaccrData, not Patient; pass it in root_items"),
            (({"patientIdNumber": "00000002"}, [{"primarySite": "C50\n"}]),
             r"patient 2, tumor 1: item 'primarySite' .* control character"),
            (({"patientIdNumber": "00000002"}, [{"primarySite": 509}]),
             r"patient 2, tumor 1: item 'primarySite' has a int value"),
            (({"patientIdNumber": "00000002"}, []), r"patient 2 has no tumors"),
        ]
        for (patient, tumors), message in cases:
            with pytest.raises(ValueError, match=message):
                writer.write_patient(patient, tumors)
        missing: dict[str, Any] = {"primarySite": "C619", "laterality": float("nan")}   # pandas' blank
        writer.write_patient({"patientIdNumber": "00000003", "sex": None}, [missing])
    result = read_all(NaaccrFlatReader(path))
    assert result.patient_items() == {1: {"patientIdNumber": "00000001"}, 2: {"patientIdNumber": "00000003"}}
    assert len(path.read_bytes().split(b"\n")) == 3   # nothing of the failed patients was written


def test_constructor_errors(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    with pytest.raises(ValueError, match="no flat layout"):
        NaaccrFlatWriter(target, dictionary=base_dictionary("250"), record_type="I")
    with pytest.raises(ValueError, match="record type"):
        NaaccrFlatWriter(target, dictionary=base_dictionary("180"), record_type="X")
    with pytest.raises(ValueError, match="recordType"):
        NaaccrFlatWriter(target, dictionary=base_dictionary("180"), record_type="I", root_items={"recordType": "C"})
    with pytest.raises(ValueError, match="registryId"):
        NaaccrFlatWriter(target, dictionary=base_dictionary("180"), record_type="I",
                         root_items={"registryId": "12345678901"})
    with pytest.raises(ValueError, match="non_ascii"):
        NaaccrFlatWriter(target, dictionary=base_dictionary("180"), record_type="I", non_ascii="keep")
    writer = NaaccrFlatWriter(target, dictionary=base_dictionary("180"), record_type="I",
                              root_items={"recordType": "I", "naaccrRecordVersion": "180"})
    with writer, pytest.raises(RuntimeError, match="already open"):
        writer.open()


def test_non_ascii_is_transliterated_so_columns_stay_byte_aligned(tmp_path: Path) -> None:
    assert to_ascii("JOSÉ MUÑOZ") == "JOSE MUNOZ" and to_ascii("Peña") == "Pena"
    assert to_ascii("Straße Æbelø O’Brien – Łódź") == "Strasse AEbelo O'Brien - Lodz"
    assert to_ascii("東京") == "??"
    path = tmp_path / "out.txt"
    patients = [({"patientIdNumber": "00000001", "nameFirst": "JOSÉ", "nameLast": "MUÑOZ",
                  "nameMaiden": "GÜNTHER"}, [{"addrAtDxCity": "DOÑA ANA", "primarySite": "C509"}])]
    with NaaccrFlatWriter(path, dictionary=base_dictionary("180"), record_type="C") as writer:
        writer.write_patient(*patients[0])
    assert writer.transliterated == 4
    data = path.read_bytes()
    assert data.isascii() and len(data) == FLAT_LINE_LENGTHS["180"]["C"] + 1
    result = read_all(NaaccrFlatReader(path))
    assert result.patient_items()[1] == {"patientIdNumber": "00000001", "nameFirst": "JOSE", "nameLast": "MUNOZ",
                                         "nameMaiden": "GUNTHER"}
    assert result.tumor_items()[1]["addrAtDxCity"] == "DONA ANA"

    with NaaccrFlatWriter(tmp_path / "strict.txt", dictionary=base_dictionary("180"), record_type="C",
                          non_ascii="error") as strict:
        with pytest.raises(ValueError, match="patient 1: item 'nameFirst' value 'JOSÉ' has characters outside ASCII"):
            strict.write_patient(*patients[0])
        strict.write_patient({"patientIdNumber": "00000001", "nameFirst": "JOSE"}, [{"primarySite": "C509"}])
    # the length is checked after transliteration: 'ß' becomes two letters
    long = NaaccrFlatWriter(tmp_path / "long.txt", dictionary=base_dictionary("180"), record_type="C")
    with long, pytest.raises(ValueError, match="nameSuffix' value 'Sssss' is 5 characters long; its field .* holds 3"):
        long.write_patient({"nameSuffix": "Sßß"}, [{"primarySite": "C509"}])


def test_failed_write_leaves_the_file_closed(tmp_path: Path) -> None:
    path = tmp_path / "out.txt.gz"
    with pytest.raises(KeyError), NaaccrFlatWriter(path, dictionary=base_dictionary("180"), record_type="I") as w:
        w.write_patient({"patientIdNumber": "00000001"}, [{"primarySite": "C509"}])
        raise KeyError("boom")
    assert w._out is None and w._raw is None
