"""The typed core of a chunk (`pipelines.typed_core.typed_rows`): dates, ages, counties, treatment, the patient
fallback, and a load's registryId. Expected values follow the rules written in `pipelines.typed_core`."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from pipelines.load import ingest_file
from pipelines.typed_core import TYPED_SCHEMAS, WIDE_SCHEMAS, naaccr_age, naaccr_dates, typed_rows


def _wide(name: str, rows: list[dict[str, str]]) -> pa.Table:
    """Wide rows of one level from items by naaccrId (absent items null)."""
    schema = WIDE_SCHEMAS[name]
    return pa.table({f.name: pa.array([row.get(f.name) for row in rows], f.type) for f in schema}, schema=schema)


def _typed(patients: list[dict[str, str]], tumors: list[dict[str, str]]) -> dict[str, list[dict[str, object]]]:
    typed = typed_rows(_wide("patient_wide", patients), _wide("tumor_wide", tumors))
    for name, table in typed.items():
        assert table.schema == TYPED_SCHEMAS[name]
    return {name: table.to_pylist() for name, table in typed.items()}


D = dt.date


@pytest.mark.parametrize(("value", "date", "precision", "year"), [
    ("2019", D(2019, 1, 1), "Y", 2019),
    ("201902", D(2019, 2, 1), "M", 2019),
    ("20190315", D(2019, 3, 15), "D", 2019),
    ("201999", D(2019, 1, 1), "Y", 2019),        # month 99: unknown
    ("20191399", D(2019, 1, 1), "Y", 2019),      # month 13: month and day unknown
    ("20190199", D(2019, 1, 1), "M", 2019),      # day 99: unknown
    ("20190100", D(2019, 1, 1), "M", 2019),
    ("20190231", None, None, 2019),              # past the month's end: no date, the year stays
    ("19000229", None, None, 1900),
    ("20200229", D(2020, 2, 29), "D", 2020),
    ("18000101", D(1800, 1, 1), "D", 1800),
    ("20991231", D(2099, 12, 31), "D", 2099),
    ("21000101", None, None, None),
    ("1799", None, None, None),
    ("", None, None, None),
    (" 2019", None, None, None),
    ("2019 ", None, None, None),
    ("20190", None, None, None),
    ("2019-01", None, None, None),
    (None, None, None, None),
])
def test_naaccr_dates(value: str | None, date: dt.date | None, precision: str | None, year: int | None) -> None:
    dates, precisions, years = naaccr_dates(pa.array([value], pa.string()))
    assert (dates.to_pylist(), precisions.to_pylist(), years.to_pylist()) == ([date], [precision], [year])


def test_ages_999_and_text_are_null_and_other_forms_cast_as_duckdb_does() -> None:
    values = ["065", "999", "abc", "0999", " 12", "1.5", "+7", "99999", "", None, "120"]
    expected = [duckdb.execute("SELECT TRY_CAST(? AS SMALLINT)", [v]).fetchall()[0][0] for v in values]
    expected[values.index("999")] = None
    assert naaccr_age(pa.array(values, pa.string())).to_pylist() == expected
    assert expected[:4] == [65, None, None, 999] and expected[-1] == 120


def test_county_fips_needs_three_digits_a_known_county_and_a_known_state() -> None:
    tumors = [{"tumor_seq": 1, "patient_seq": 1, "addrAtDxState": state, "countyAtDx": county}
              for state, county in [("KS", "001"), ("KS", "998"), ("KS", "999"), ("KS", "12"), ("ZZ", "001"),
                                    (None, "001"), ("KS", None), ("NC", "063")]]
    typed = _typed([{"patient_seq": 1}], tumors)   # type: ignore[list-item]
    assert [t["county_fips"] for t in typed["typed_tumor"]] == ["20001", None, None, None, None, None, None, "37063"]


def test_treatment_rows_for_codes_given_not_given_and_other() -> None:
    tumors = [
        {"tumor_seq": 1, "patient_seq": 1, "rxSummSurgPrimSite": "22", "rxDateSurgery": "20190401",
         "rxSummChemo": "00", "rxSummHormone": "99", "rxSummRadiation": "1", "phase1RadiationTreatmentModality": "02",
         "rxDateRadiation": "201905"},
        {"tumor_seq": 2, "patient_seq": 1, "rxSummSurgPrimSite2023": "A000", "rxSummSurgPrimSite": "22",
         "rxSummRadiation": "0", "rxDateSurgery": "20190231"},
        {"tumor_seq": 3, "patient_seq": 1},
    ]
    rows = _typed([{"patient_seq": 1}], tumors)["typed_treatment"]   # type: ignore[list-item]
    got = sorted((r["tumor_seq"], r["modality"], r["code"], r["code_item"], r["given"], r["start_date"],
                  r["start_date_precision"]) for r in rows)
    assert got == [
        (1, "chemotherapy", "00", "rxSummChemo", False, None, None),
        (1, "hormone", "99", "rxSummHormone", None, None, None),
        (1, "radiation", "02", "phase1RadiationTreatmentModality", True, D(2019, 5, 1), "M"),
        (1, "surgery", "22", "rxSummSurgPrimSite", True, D(2019, 4, 1), "D"),
        (2, "radiation", "0", "rxSummRadiation", False, None, None),
        (2, "surgery", "A000", "rxSummSurgPrimSite2023", False, None, None),
    ]


def test_a_tumor_takes_a_misplaced_patient_item_only_when_it_has_none() -> None:
    patients = [{"patient_seq": 1, "dateOfLastCancerStatus": "20200101", "dateOfBirth": "19500612"},
                {"patient_seq": 2}]
    tumors = [{"tumor_seq": 1, "patient_seq": 1},
              {"tumor_seq": 2, "patient_seq": 1, "dateOfLastCancerStatus": "2021"},
              {"tumor_seq": 3, "patient_seq": 2}]
    typed = _typed(patients, tumors)   # type: ignore[arg-type]
    assert [(t["date_of_last_cancer_status"], t["date_of_last_cancer_status_precision"]) for t in typed["typed_tumor"]] \
        == [(D(2020, 1, 1), "D"), (D(2021, 1, 1), "Y"), (None, None)]
    assert [p["date_of_birth"] for p in typed["typed_patient"]] == [D(1950, 6, 12), None]


def test_first_item_present_wins_and_site_recode_uses_the_typed_columns() -> None:
    patients = [{"patient_seq": 1, "sex": "2", "sexAssignedAtBirth": "1"}, {"patient_seq": 2, "sex": "2"}]
    tumors = [{"tumor_seq": 1, "patient_seq": 2, "primarySite": "C509", "histologicTypeIcdO3": "8500",
               "behaviorCodeIcdO3": "3", "dateOfDiagnosis": "2019"},
              {"tumor_seq": 2, "patient_seq": 2}]
    typed = _typed(patients, tumors)   # type: ignore[arg-type]
    assert [p["sex"] for p in typed["typed_patient"]] == ["1", "2"]
    assert [(t["diagnosis_year"], t["site_recode"]) for t in typed["typed_tumor"]] == [(2019, "39"), (None, "99")]


def test_a_chunk_without_records_types_to_empty_tables() -> None:
    typed = _typed([], [])
    assert all(rows == [] for rows in typed.values())


def test_a_load_fills_the_registry_id_from_the_file(write_xml, db_path) -> None:
    path = write_xml("r.xml", [({"patientIdNumber": "1"}, [{"tumorRecordNumber": "01", "ageAtDiagnosis": "999"}])],
                     root_items={"registryId": "0000001234"})
    assert ingest_file(path, db_path=db_path, link=False).status == "loaded"
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT registry_id FROM patient").fetchall() == [("0000001234",)]
        assert con.execute("SELECT age_at_diagnosis FROM tumor").fetchall() == [(None,)]
