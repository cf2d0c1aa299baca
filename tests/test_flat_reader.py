"""Tests of the NAACCR flat-file reader (pipelines/readers/flat.py) on files built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.readers import open_reader
from pipelines.readers.flat import NaaccrFlatReader
from pipelines.records import PATIENT, TUMOR
from registry.errors import SourceFileError
from registry.naaccr import FLAT_LINE_LENGTHS, NAACCR_NAMESPACE
from registry.user_dictionary import parse_user_dictionary
from tests.naaccr_fixtures import flat_line, read_all, write_lines

ROOT = {"registryId": "0000001234", "registryType": "1"}


def line(version: str, record_type: str, **values: str) -> str:
    return flat_line(version, record_type, {**ROOT, **values})


@pytest.mark.parametrize("version", ["140", "150", "160", "180"])
@pytest.mark.parametrize("record_type", ["I", "C", "A"])
def test_reads_patients_tumors_and_items(tmp_path: Path, version: str, record_type: str) -> None:
    lines = [
        line(version, record_type, patientIdNumber="1", sex="2", primarySite="C509", tumorRecordNumber="1"),
        line(version, record_type, patientIdNumber="1", sex="2", primarySite="C180", tumorRecordNumber="2"),
        line(version, record_type, patientIdNumber="2", sex="1", primarySite="C619"),
    ]
    if record_type != "I":
        lines[:2] = [line(version, record_type, patientIdNumber="1", sex="2", primarySite=site,
                          tumorRecordNumber=number, nameLast="Dupont")
                     for site, number in (("C509", "1"), ("C180", "2"))]
    path = write_lines(tmp_path / "cases.txt", lines)
    reader = NaaccrFlatReader(path)
    result = read_all(reader)

    source = reader.source
    assert (source.format, source.naaccr_version, source.record_type) == ("naaccr-flat", version, record_type)
    assert source.root_items == {"recordType": record_type, "naaccrRecordVersion": version,
                                 "registryId": "0000001234", "registryType": "1"}
    assert source.warnings == []
    assert result.kinds() == [(PATIENT, 1, 0, 1), (TUMOR, 1, 1, 1), (TUMOR, 1, 2, 2),
                              (PATIENT, 2, 0, 3), (TUMOR, 2, 3, 3)]
    assert [e["raw"] for e in result.entities if e["kind"] == TUMOR] == lines
    assert all(e["raw"] is None for e in result.entities if e["kind"] == PATIENT)
    assert result.issues == []
    patients = result.patient_items()
    expected_first = {"patientIdNumber": "00000001", "sex": "2"}
    if record_type != "I":
        expected_first["nameLast"] = "Dupont"
    assert patients[1] == expected_first
    assert patients[2] == {"patientIdNumber": "00000002", "sex": "1"}
    tumors = result.tumor_items()
    assert tumors[1] == {"primarySite": "C509", "tumorRecordNumber": "01"}
    assert tumors[3] == {"primarySite": "C619"}
    assert all(row["naaccr_num"] is None for row in result.items)
    assert {row["line"] for row in result.items if row["patient_seq"] == 2} == {3}


def test_v18_date_of_last_cancer_status_is_a_tumor_item(tmp_path: Path) -> None:
    lines = [line("180", "I", patientIdNumber="7", dateOfLastCancerStatus="2019    "),
             line("180", "I", patientIdNumber="7", dateOfLastCancerStatus="20200115")]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    assert result.tumor_items() == {1: {"dateOfLastCancerStatus": "2019"},
                                    2: {"dateOfLastCancerStatus": "20200115"}}
    assert result.issues == []


def test_chunks_break_only_between_patients(tmp_path: Path) -> None:
    ids = ["1", "1", "1", "2", "3", "3"]
    lines = [line("180", "I", patientIdNumber=i) for i in ids]
    reader = NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines), chunk_lines=2)
    chunks = list(reader.chunks())
    per_chunk = [sorted({p for p in c.entities.column("patient_seq").to_pylist()}) for c in chunks]
    assert per_chunk == [[1], [2, 3]]
    assert sum(c.entities.num_rows for c in chunks) == 3 + 6


def test_blank_patient_id_makes_separate_patients(tmp_path: Path) -> None:
    lines = [line("180", "I", primarySite="C509"), line("180", "I", primarySite="C509")]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    assert [k for k in result.kinds() if k[0] == PATIENT] == [(PATIENT, 1, 0, 1), (PATIENT, 2, 0, 2)]


def test_wrong_length_line_is_rejected_with_its_position(tmp_path: Path) -> None:
    good = line("180", "A", patientIdNumber="1", primarySite="C509")
    short = line("180", "A", patientIdNumber="1", primarySite="C180")[:-10]
    lines = [good, short, line("180", "A", patientIdNumber="2")]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    assert result.issues == [{
        "severity": "reject", "patient_seq": 1, "tumor_seq": 2, "line": 2, "naaccr_id": None,
        "reason": "line length 24184, expected 24194 for NAACCR v18 record type A", "rule": "reader"}]
    tumors = [e for e in result.entities if e["kind"] == TUMOR]
    assert [(t["tumor_seq"], t["line"], t["raw"]) for t in tumors] == [(1, 1, good), (2, 2, short), (3, 3, lines[2])]
    assert 2 not in result.tumor_items()
    assert [k for k in result.kinds() if k[0] == PATIENT] == [(PATIENT, 1, 0, 1), (PATIENT, 2, 0, 3)]


def test_first_line_with_wrong_length_still_sets_the_format(tmp_path: Path) -> None:
    lines = [line("160", "I", patientIdNumber="1") + "X", line("160", "I", patientIdNumber="1")]
    reader = NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines))
    result = read_all(reader)
    assert reader.source.naaccr_version == "160"
    assert [(i["line"], i["reason"]) for i in result.issues] == [
        (1, "line length 3340, expected 3339 for NAACCR v16 record type I")]
    # the patient's items come from its first accepted line
    assert result.patient_items() == {1: {"patientIdNumber": "00000001"}}
    assert {r["line"] for r in result.items} == {2}


def test_line_too_short_for_a_patient_id_stays_with_the_current_patient(tmp_path: Path) -> None:
    lines = [line("180", "I", patientIdNumber="1"), "I 9", line("180", "I", patientIdNumber="1")]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    assert [k for k in result.kinds() if k[0] == PATIENT] == [(PATIENT, 1, 0, 1)]
    assert [(i["tumor_seq"], i["reason"]) for i in result.issues] == [
        (2, "line length 3, expected 4048 for NAACCR v18 record type I")]


def test_line_of_another_record_type_is_rejected(tmp_path: Path) -> None:
    lines = [line("180", "A", patientIdNumber="1"), line("180", "M", patientIdNumber="1"),
             line("180", "I", patientIdNumber="2")]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    reasons = [(i["line"], i["severity"], i["reason"]) for i in result.issues]
    assert reasons == [
        (2, "reject", "record type 'M', expected 'A' (the record type of line 1)"),
        (3, "reject", "record type 'I', expected 'A' (the record type of line 1)"),
        (3, "reject", "line length 4048, expected 24194 for NAACCR v18 record type A"),
    ]
    assert len([e for e in result.entities if e["kind"] == TUMOR]) == 3


@pytest.mark.parametrize("version", ["210", "130", "   "])
def test_unknown_version_is_a_source_file_error(tmp_path: Path, version: str) -> None:
    text = line("180", "I", patientIdNumber="1")
    text = text[:16] + version + text[19:]
    reader = NaaccrFlatReader(write_lines(tmp_path / "f.txt", [text]))
    with pytest.raises(SourceFileError, match=f"NAACCR version '{version}' in columns 17-19") as info:
        read_all(reader)
    assert info.value.line == 1


def test_unknown_record_type_is_a_source_file_error(tmp_path: Path) -> None:
    text = "X" + line("180", "I", patientIdNumber="1")[1:]
    with pytest.raises(SourceFileError, match="record type 'X'"):
        read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", [text])))


def test_empty_file_is_a_source_file_error(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="no records"):
        read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", ["", "  "])))


def test_gzip_and_crlf(tmp_path: Path) -> None:
    lines = [line("150", "C", patientIdNumber="1", nameLast="Smith"), line("150", "C", patientIdNumber="2")]
    path = write_lines(tmp_path / "f.txt.gz", lines, newline="\r\n", compress=True)
    reader = open_reader(path)
    assert isinstance(reader, NaaccrFlatReader)
    result = read_all(reader)
    assert result.issues == []
    assert result.patient_items()[1] == {"patientIdNumber": "00000001", "nameLast": "Smith"}


def test_last_line_without_terminator(tmp_path: Path) -> None:
    lines = [line("180", "I", patientIdNumber="1"), line("180", "I", patientIdNumber="2")]
    path = tmp_path / "f.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = read_all(NaaccrFlatReader(path))
    assert result.issues == [] and len(result.entities) == 4


def test_blank_lines(tmp_path: Path) -> None:
    lines = [line("180", "I", patientIdNumber="1"), "", line("180", "I", patientIdNumber="2"), "", "   "]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    assert [(i["severity"], i["patient_seq"], i["line"], i["reason"]) for i in result.issues] == [
        ("reject", 0, 2, "blank line")]
    assert [k[3] for k in result.kinds()] == [1, 1, 3, 3]


def test_trim_none_items_keep_their_spaces(tmp_path: Path) -> None:
    state = "  AB  CD" + " " * 992
    lines = [line("180", "I", patientIdNumber="1", stateRequestorItems=state, npcrSpecificField=" X"),
             line("180", "I", patientIdNumber="2")]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    tumors = result.tumor_items()
    assert tumors[1]["stateRequestorItems"] == state
    assert tumors[1]["npcrSpecificField"] == " X" + " " * 73
    assert "stateRequestorItems" not in tumors.get(2, {})


def test_other_items_are_trimmed_both_sides(tmp_path: Path) -> None:
    text = line("180", "A", patientIdNumber="1")
    start = 4049 - 1  # nameLast, v18
    text = text[:start] + "  O'Brien".ljust(40) + text[start + 40:]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", [text])))
    assert result.patient_items()[1]["nameLast"] == "O'Brien"


def test_patient_level_disagreement_is_a_warning(tmp_path: Path) -> None:
    lines = [line("180", "I", patientIdNumber="1", sex="2", dateOfBirth="19500101"),
             line("180", "I", patientIdNumber="1", sex="1", dateOfBirth="19500101"),
             line("180", "I", patientIdNumber="1", sex="2")]
    result = read_all(NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines)))
    assert [(i["severity"], i["tumor_seq"], i["line"], i["naaccr_id"], i["reason"]) for i in result.issues] == [
        ("warning", 2, 2, "sex", "patient-level item sex differs from the patient's first record (line 1); "
                                 "first value kept"),
        ("warning", 3, 3, "dateOfBirth", "patient-level item dateOfBirth differs from the patient's first "
                                         "record (line 1); first value kept"),
    ]
    assert result.patient_items()[1] == {"patientIdNumber": "00000001", "sex": "2", "dateOfBirth": "19500101"}
    assert all(row["line"] == 1 for row in result.items if row["tumor_seq"] == 0)


def test_root_level_disagreement_is_a_warning(tmp_path: Path) -> None:
    lines = [line("180", "I", patientIdNumber="1"),
             flat_line("180", "I", {"patientIdNumber": "2", "registryId": "0000009999", "registryType": "1"})]
    reader = NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines))
    result = read_all(reader)
    assert reader.source.root_items["registryId"] == "0000001234"
    assert [(i["severity"], i["line"], i["naaccr_id"]) for i in result.issues] == [("warning", 2, "registryId")]
    assert "'0000009999' here but '0000001234'" in result.issues[0]["reason"]
    assert not any(r["naaccr_id"] in ("registryId", "recordType") for r in result.items)


def test_utf8_is_fixed_width_by_character(tmp_path: Path) -> None:
    lines = [line("180", "A", patientIdNumber="1", nameLast="Müller-Lüdenscheid", nameFirst="Zoë")]
    reader = NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines))
    result = read_all(reader)
    assert result.issues == [] and reader.source.warnings == []
    assert result.patient_items()[1]["nameLast"] == "Müller-Lüdenscheid"
    assert result.patient_items()[1]["nameFirst"] == "Zoë"


def test_windows_1252_falls_back_with_one_warning(tmp_path: Path) -> None:
    lines = [line("180", "A", patientIdNumber="1", nameLast="Bédard"),
             line("180", "A", patientIdNumber="2", nameLast="Noël")]
    reader = NaaccrFlatReader(write_lines(tmp_path / "f.txt", lines, encoding="cp1252"))
    result = read_all(reader)
    assert result.issues == []
    assert [p["nameLast"] for p in result.patient_items().values()] == ["Bédard", "Noël"]
    assert len(reader.source.warnings) == 1
    assert "not valid UTF-8 (first at line 1)" in reader.source.warnings[0]


def test_line_lengths_match_the_standard() -> None:
    for version in ("140", "150", "160", "180"):
        for record_type in ("I", "C", "A", "M"):
            assert len(flat_line(version, record_type, {})) == FLAT_LINE_LENGTHS[version][record_type]


def test_items_of_a_supplied_user_dictionary_are_read_at_their_columns(tmp_path: Path) -> None:
    dictionary_file = tmp_path / "ours.xml"
    dictionary_file.write_text(
        f'<NaaccrDictionary dictionaryUri="http://registry.example/ours.xml" naaccrVersion="180" '
        f'specificationVersion="1.5" xmlns="{NAACCR_NAMESPACE}"><ItemDefs><ItemDef naaccrId="myFlag" '
        f'naaccrNum="10001" parentXmlElement="Tumor" length="4" startColumn="1647"/></ItemDefs>'
        f'</NaaccrDictionary>', encoding="utf-8")
    ours = parse_user_dictionary(dictionary_file)
    text = line("180", "I", patientIdNumber="1", primarySite="C509")
    path = write_lines(tmp_path / "cases.txt", [text[:1646] + "AB12" + text[1650:]])

    with_ours = read_all(open_reader(path, user_dictionaries=[ours]))
    assert with_ours.tumor_items()[1] == {"primarySite": "C509", "myFlag": "AB12"}
    default = read_all(NaaccrFlatReader(path))   # NAACCR's default user dictionary reads the same columns
    assert default.tumor_items()[1] == {"primarySite": "C509", "npcrSpecificField": "AB12".ljust(75)}   # trim="none"
