"""Loading files into the store: accounting, rejects, idempotence, typed core, atomicity."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.load import ingest_file

PATIENT = {"patientIdNumber": "00000001", "sex": "2", "dateOfBirth": "19500612", "race1": "01",
           "vitalStatus": "1", "dateOfLastContact": "20240101"}
TUMOR = {"tumorRecordNumber": "01", "primarySite": "C509", "histologicTypeIcdO3": "8500",
         "behaviorCodeIcdO3": "3", "dateOfDiagnosis": "20190315", "addrAtDxState": "NC",
         "countyAtDx": "063", "ageAtDiagnosis": "068", "rxSummChemo": "03", "rxDateChemo": "201904",
         "rxSummSurgPrimSite": "22", "rxDateSurgery": "20190401", "rxSummHormone": "87"}


def query(db: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_valid_file_loads_every_record_and_accounts(write_xml, db_path):
    path = write_xml("ok.xml", [(PATIENT, [TUMOR, {**TUMOR, "tumorRecordNumber": "02", "primarySite": "C619"}]),
                                ({**PATIENT, "patientIdNumber": "00000002"}, [])],
                     root_items={"registryId": "0000001234"})
    result = ingest_file(path, db_path=db_path, user="tester")
    assert (result.status, result.tumors_read, result.tumors_loaded, result.tumors_rejected) == ("loaded", 2, 2, 0)
    assert (result.patients_read, result.patients_loaded) == (2, 2)
    assert query(db_path, "SELECT count(*) FROM source_item WHERE level = 2") == [(2 * len(TUMOR),)]
    batch = query(db_path, "SELECT status, tumors_read, tumors_loaded, tumors_rejected, loaded_by, root_items "
                           "FROM ingest_batch")
    assert batch == [("loaded", 2, 2, 0, "tester", {"registryId": "0000001234"})]


@pytest.mark.parametrize(("tumor", "rule", "item"), [
    ({**TUMOR, "primarySite": "C5091"}, "too-long", "primarySite"),
])
def test_item_problems_reject_the_tumor_with_position(write_xml, db_path, tumor, rule, item):
    path = write_xml("bad.xml", [(PATIENT, [TUMOR, tumor])])
    result = ingest_file(path, db_path=db_path)
    assert (result.tumors_read, result.tumors_loaded, result.tumors_rejected) == (2, 1, 1)
    rows = query(db_path, "SELECT tumor_seq, naaccr_id, rule, line, raw_record FROM reject")
    assert [(r[0], r[1], r[2]) for r in rows] == [(2, item, rule)]
    assert rows[0][3] > 10 and "<Tumor>" in rows[0][4]
    assert any(str(path) in m and f"item {item}" in m and "line" in m for m in result.messages)


def test_duplicate_item_in_one_tumor_is_rejected(tmp_path, db_path):
    from tests.conftest import naaccr_xml
    text = naaccr_xml([(PATIENT, [TUMOR])]).replace(
        '<Item naaccrId="primarySite">C509</Item>',
        '<Item naaccrId="primarySite">C509</Item><Item naaccrId="primarySite">C508</Item>')
    path = tmp_path / "dup.xml"
    path.write_text(text)
    result = ingest_file(path, db_path=db_path)
    assert result.tumors_rejected == 1
    assert query(db_path, "SELECT rule, reason FROM reject") == [
        ("duplicate-item", "item 'primarySite' appears again in one Tumor (first at line 12)")]


def test_item_number_mismatch_is_rejected(tmp_path, db_path):
    from tests.conftest import naaccr_xml
    text = naaccr_xml([(PATIENT, [TUMOR])]).replace(
        '<Item naaccrId="primarySite">', '<Item naaccrId="primarySite" naaccrNum="401">')
    path = tmp_path / "num.xml"
    path.write_text(text)
    assert ingest_file(path, db_path=db_path).tumors_rejected == 1
    assert query(db_path, "SELECT rule FROM reject") == [("item-number-mismatch",)]


def test_patient_level_problem_rejects_the_patient_and_its_tumors(write_xml, db_path):
    path = write_xml("p.xml", [({**PATIENT, "patientIdNumber": "123456789"}, [TUMOR, TUMOR]), (PATIENT, [TUMOR])])
    result = ingest_file(path, db_path=db_path)
    assert (result.patients_rejected, result.tumors_rejected, result.tumors_loaded) == (1, 2, 1)
    assert result.rejects_by_rule == {"patient-rejected": 2, "too-long": 1}
    assert query(db_path, "SELECT count(*) FROM source_patient") == [(1,)]
    assert query(db_path, "SELECT count(*) FROM tumor") == [(1,)]


def test_data_type_problems_load_with_a_warning(write_xml, db_path):
    path = write_xml("w.xml", [(PATIENT, [{**TUMOR, "behaviorCodeIcdO3": "X"}])])
    result = ingest_file(path, db_path=db_path)
    assert (result.tumors_loaded, result.warnings) == (1, 1)
    assert query(db_path, "SELECT naaccr_id, rule FROM ingest_warning") == [
        ("behaviorCodeIcdO3", "invalid-for-data-type")]


def test_same_file_twice_adds_nothing(write_xml, db_path):
    path = write_xml("once.xml", [(PATIENT, [TUMOR])])
    first = ingest_file(path, db_path=db_path)
    second = ingest_file(path, db_path=db_path)
    copy = path.with_name("renamed.xml")
    copy.write_bytes(path.read_bytes())
    third = ingest_file(copy, db_path=db_path)
    assert first.status == "loaded"
    assert (second.status, second.batch_id, third.status) == ("duplicate", first.batch_id, "duplicate")
    assert query(db_path, "SELECT count(*) FROM ingest_batch") == [(1,)]
    assert query(db_path, "SELECT count(*) FROM tumor") == [(1,)]


def test_unreadable_file_is_recorded_as_failed_and_loads_nothing(tmp_path, db_path):
    from tests.conftest import naaccr_xml
    text = naaccr_xml([(PATIENT, [TUMOR])] * 3)
    path = tmp_path / "truncated.xml"
    path.write_text(text[: len(text) // 2])
    result = ingest_file(path, db_path=db_path)
    assert result.status == "failed" and "truncated.xml" in (result.message or "")
    assert query(db_path, "SELECT status, tumors_loaded FROM ingest_batch") == [("failed", 0)]
    assert query(db_path, "SELECT count(*) FROM source_item") == [(0,)]
    assert query(db_path, "SELECT count(*) FROM tumor") == [(0,)]


def test_typed_core_harmonises_versions_dates_and_treatment(write_xml, db_path):
    v26_patient = {k: v for k, v in PATIENT.items() if k != "sex"} | {"sexAssignedAtBirth": "1",
                                                                      "dateOfBirth": "195006"}
    write_xml("v26.xml", [(v26_patient, [{**TUMOR, "dateOfDiagnosis": "2021"}])], version="260")
    write_xml("v25.xml", [(PATIENT, [TUMOR])], version="250")
    for name in ("v26.xml", "v25.xml"):
        assert ingest_file(db_path.parent.parent / name, db_path=db_path).status == "loaded"
    patients = query(db_path, "SELECT sex, date_of_birth::VARCHAR, date_of_birth_precision FROM patient "
                              "ORDER BY batch_id")
    assert patients == [("1", "1950-06-01", "M"), ("2", "1950-06-12", "D")]
    tumors = query(db_path, "SELECT diagnosis_year, date_of_diagnosis_precision, county_fips, age_at_diagnosis "
                            "FROM tumor ORDER BY batch_id")
    assert tumors == [(2021, "Y", "37063", 68), (2019, "D", "37063", 68)]
    treatment = query(db_path, "SELECT modality, code, given, start_date::VARCHAR, start_date_precision "
                               "FROM treatment WHERE batch_id = 2 ORDER BY modality")
    assert treatment == [("chemotherapy", "03", True, "2019-04-01", "M"), ("hormone", "87", False, None, None),
                         ("surgery", "22", True, "2019-04-01", "D")]


def test_unknown_county_has_no_fips(write_xml, db_path):
    write_xml("c.xml", [(PATIENT, [{**TUMOR, "countyAtDx": "999"}, {**TUMOR, "addrAtDxState": "ZZ"}])])
    ingest_file(db_path.parent.parent / "c.xml", db_path=db_path)
    assert query(db_path, "SELECT county_fips FROM tumor") == [(None,), (None,)]


def test_a_path_that_cannot_be_read_fails_without_a_batch(tmp_path, db_path):
    result = ingest_file(tmp_path, db_path=db_path)
    assert result.status == "failed" and str(tmp_path) in (result.message or "")


def test_records_are_the_same_when_staged_in_many_chunks(write_xml, db_path, monkeypatch):
    """Blocks of a few hundred bytes (one patient each): the lossless records and the typed core are the
    same as from one block."""
    import functools

    from pipelines import load
    patients = [({**PATIENT, "patientIdNumber": f"{i:08d}"}, [{**TUMOR, "primarySite": f"C{500 + i}"}] * 2)
                for i in range(5)]
    whole_db = db_path.parent / "whole.duckdb"
    ingest_file(write_xml("r.xml", patients), db_path=whole_db)
    monkeypatch.setattr(load, "stage_line_structured_xml",
                        functools.partial(load.stage_line_structured_xml, block_bytes=300))
    ingest_file(write_xml("r.xml", patients), db_path=db_path)
    assert query(db_path, "SELECT count(*) FROM source_item") == query(whole_db, "SELECT count(*) FROM source_item")
    items = "SELECT level, entity_seq, naaccr_id, value FROM source_item ORDER BY ALL"
    assert query(db_path, items) == query(whole_db, items)
    columns = "tumor_seq, patient_id, primary_site, date_of_diagnosis, county_fips"
    expected = query(whole_db, f"SELECT {columns} FROM tumor ORDER BY tumor_seq")
    assert len(expected) == 10
    assert query(db_path, f"SELECT {columns} FROM tumor ORDER BY tumor_seq") == expected
    assert query(db_path, "SELECT * FROM patient ORDER BY patient_seq") == \
        query(whole_db, "SELECT * FROM patient ORDER BY patient_seq")


def test_probable_age_errors_are_flagged(write_xml, db_path):
    """A birth date 113 years before diagnosis (a transposed 1950 -> 1905), a coded age of 107, and a coded age
    that is not the age from the dates: the tumors load, each with a warning naming the item and the rule,
    and survival analysis leaves them out. An age of exactly 105 that agrees with the dates is fine."""
    from registry.cohort import TumorFilter, _age_error_count, _survival_data

    path = write_xml("ages.xml", [
        (PATIENT, [TUMOR]),
        ({**PATIENT, "patientIdNumber": "00000002", "dateOfBirth": "19050612"}, [TUMOR]),
        ({**PATIENT, "patientIdNumber": "00000003", "dateOfBirth": "19120316"}, [{**TUMOR, "ageAtDiagnosis": "107"}]),
        ({**PATIENT, "patientIdNumber": "00000004", "dateOfBirth": "19140315"}, [{**TUMOR, "ageAtDiagnosis": "105"}]),
        ({**PATIENT, "patientIdNumber": "00000005", "dateOfBirth": "19410612"}, [{**TUMOR, "ageAtDiagnosis": "068"}]),
    ])
    result = ingest_file(path, db_path=db_path)
    assert (result.tumors_loaded, result.warnings_by_rule) == (5, {"age-over-105": 2, "age-date-mismatch": 1})
    rows = query(db_path, "SELECT naaccr_id, rule, reason FROM ingest_warning ORDER BY patient_seq")
    assert [(naaccr_id, rule, reason.split(";")[0]) for naaccr_id, rule, reason in rows] == [
        ("dateOfBirth", "age-over-105", "age at diagnosis 113 years (from dateOfBirth 1905-06-12 and dateOfDiagnosis "
                                        "2019-03-15) is over 105: probably a wrong birth date"),
        ("ageAtDiagnosis", "age-over-105", "age at diagnosis 107 years (ageAtDiagnosis) is over 105: probably a wrong "
                                           "age or birth date"),
        ("dateOfBirth", "age-date-mismatch", "ageAtDiagnosis 68 is not the age from dateOfBirth 1941-06-12 and "
                                             "dateOfDiagnosis 2019-03-15 (77): one of them is wrong")]
    assert any("dateOfBirth" in m and "is over 105" in m for m in result.messages)   # the ingest report says so
    everyone = TumorFilter(behaviors=())
    assert len(_survival_data(db_path, everyone)) == 2
    assert _age_error_count(db_path, everyone) == 3
