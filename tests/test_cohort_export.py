"""Governed cohort export: every file read back and every column checked against the policy, k-anonymity,
the formats, the data dictionary and manifest, and the request flow with its refusals (all audited)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from registry.audit import events
from registry.cohort_export import DATA_FILES, DICTIONARY_FILE, MANIFEST_FILE, PERSON, ROW, export_cohort
from registry.corrections import correct
from registry.errors import AccessDenied, InvalidRequest
from registry.export_requests import (
    DEFAULT_K,
    approve_request,
    export_settings,
    list_requests,
    own_requests,
    refuse_request,
    set_export_settings,
)
from registry.export_variables import LDS_ONLY, chosen_variables, export_variables
from registry.k_anonymity import class_sizes
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.privacy import RESTRICTED_ZIP3, classify
from registry.store import read_connection
from registry.xlsx_sheet import column_letters, workbook_bytes
from tests.cohort_export_store import cohort_store, selection
from tests.cohort_store import build_cohort_store

RESEARCHER = Principal("rex", "researcher")
LDS_RESEARCHER = Principal("lena", "researcher", frozenset({"lds"}))
REGISTRAR = Principal("ana", "registrar")
ADMINISTRATOR = Principal("ada", "administrator")
DEFINITION = {"version": 1, "name": "all", "groups": []}
ALL = ["primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3", "dateOfDiagnosis", "ageAtDiagnosis", "sex",
       "race1", "addrAtDxPostalCode", "vitalStatus", "dateOfLastContact", "recurrenceDate1st", "rxSummChemo",
       "rxDateChemo", "rxSummSurgPrimSite", "rxDateSurgery", "her2OverallSummary", "estrogenReceptorSummary"]
QUASI = ["ageAtDiagnosis", "sex", "race1", "addrAtDxPostalCode", "dateOfDiagnosis", "primarySite"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cohort_store(tmp_path_factory.mktemp("cohort-export"))


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A copy of the store with a fresh operational store (requests and settings change it)."""
    shutil.copytree(built.parent, tmp_path / "store", ignore=shutil.ignore_patterns("*.ops.*"))
    return tmp_path / "store" / built.name


def run(principal: Principal, db: Path, out: Path, *, variables: list[str] = ALL, file_format: str = "csv",
        where: str = "true", **kwargs: object):
    return export_cohort(principal, db, open_operational_store(db), definition=DEFINITION,
                         selection=selection(db, where), variables=variables, file_format=file_format,
                         destination=out, **kwargs)  # type: ignore[arg-type]


def unzip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def read_back(files: dict[str, bytes], file_format: str) -> pd.DataFrame:
    """The data file as text (empty for a missing value), whatever its format."""
    content = io.BytesIO(files[DATA_FILES[file_format]])
    frame = {"csv": lambda: pd.read_csv(content, dtype=str, keep_default_na=False),
             "parquet": lambda: pd.read_parquet(content),
             "xlsx": lambda: pd.read_excel(content, dtype=str)}[file_format]()
    return text(frame)


def text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), "").astype(str).reset_index(drop=True)


def assert_safe_harbor(data: pd.DataFrame) -> None:
    """Every column as the Safe Harbor policy allows: no identifier, years only, age groups, ZIP3, no county."""
    for column in data.columns:
        cls = classify(column)
        values = data[column].dropna().astype(str)
        assert cls not in ("direct", "substate", "date_derived"), column
        if cls == "date":
            assert values.str.fullmatch(r"\d{4}(-\d{4})?").all(), (column, values.unique())
        elif cls == "age":
            assert values.str.fullmatch(r"\d{2}-\d{2}|[89]0\+").all(), values.unique()
        elif cls == "zip":
            assert values.str.fullmatch(r"\d{3}|\*").all() and not set(values) & (RESTRICTED_ZIP3 - {"000"})
    assert not {"tumor_id", "patient_id"} & set(data.columns)


@pytest.mark.parametrize("file_format", ["csv", "parquet", "xlsx"])
def test_a_safe_harbor_export_reads_back_equal_in_every_format(db: Path, tmp_path: Path, file_format: str) -> None:
    result = run(RESEARCHER, db, tmp_path / "cohort.zip", file_format=file_format)
    assert result.status == "exported" and result.data is not None and result.path == tmp_path / "cohort.zip"
    files = unzip(tmp_path / "cohort.zip")
    assert set(files) == {DATA_FILES[file_format], DICTIONARY_FILE, MANIFEST_FILE}
    back = read_back(files, file_format)
    assert back.equals(text(result.data))
    assert list(back.columns) == [ROW, PERSON, *ALL]
    assert_safe_harbor(result.data)
    assert back[ROW].astype(int).tolist() == list(range(1, len(back) + 1))


def test_the_extract_holds_the_cohorts_values(db: Path, tmp_path: Path) -> None:
    """Breast and prostate (large classes, nothing withheld): the rows are the store's tumors, value for value."""
    where = "primary_site IN ('C504', 'C509', 'C619') AND addr_at_dx_state = 'KS'"
    result = run(RESEARCHER, db, tmp_path / "c.zip", where=where)
    assert result.manifest is not None and result.manifest["k_anonymity"]["rows_withheld"] == 0
    with read_connection(db) as con:
        expected = con.execute(f"""
            SELECT substr(t.primary_site, 1, 3) AS primarySite, t.histology AS histologicTypeIcdO3,
                   CAST(t.diagnosis_year AS VARCHAR) AS dateOfDiagnosis, p.sex,
                   (SELECT max(code) FROM registry_treatment x WHERE x.tumor_id = t.tumor_id
                    AND x.modality = 'chemotherapy') AS rxSummChemo
            FROM registry_tumor t JOIN registry_patient p USING (patient_id) WHERE {where}""").df()
    columns = list(expected.columns)
    assert result.data is not None and len(result.data) == len(expected) == 45
    got = text(result.data[columns]).sort_values(columns).reset_index(drop=True)
    assert got.equals(text(expected).sort_values(columns).reset_index(drop=True))
    assert result.data[PERSON].nunique() == 45


def test_no_equivalence_class_is_smaller_than_k(db: Path, tmp_path: Path) -> None:
    result = run(RESEARCHER, db, tmp_path / "c.zip")
    assert result.data is not None and result.manifest is not None
    sizes = class_sizes(result.data, QUASI, PERSON)
    assert sizes.min() >= DEFAULT_K
    summary = result.manifest["k_anonymity"]
    assert summary["k"] == DEFAULT_K and summary["quasi_identifiers"]["site"] == "primarySite"
    # the 12 colon patients of two 5-year age groups are kept as one 10-year group; the lone ones withheld
    assert summary["rows_generalised"] == 12 and set(result.data.loc[result.data["primarySite"] == "C18",
                                                                    "ageAtDiagnosis"]) == {"60-69"}
    assert summary["rows_withheld"] == 7
    assert len(result.data) + summary["rows_withheld"] == result.manifest["tumors_selected"] == 64
    # a quasi-identifier not exported does not count: without ZIP, sex, race, age and site, years alone
    few = run(RESEARCHER, db, tmp_path / "d.zip", variables=["dateOfDiagnosis", "histologicTypeIcdO3"])
    assert few.manifest is not None and few.manifest["k_anonymity"]["quasi_identifiers"] == {
        "year of diagnosis": "dateOfDiagnosis"}
    assert few.data is not None and class_sizes(few.data, ["dateOfDiagnosis"], PERSON).min() >= DEFAULT_K


def test_restricted_zip3_and_ages_over_90_under_a_smaller_k(db: Path, tmp_path: Path) -> None:
    set_export_settings(ADMINISTRATOR, open_operational_store(db), k=2)
    result = run(RESEARCHER, db, tmp_path / "c.zip", variables=["ageAtDiagnosis", "addrAtDxPostalCode"], k=2)
    assert result.data is not None
    old = result.data[result.data["ageAtDiagnosis"] == "90+"]
    assert len(old) == 2 and set(old["addrAtDxPostalCode"]) == {"000"}
    assert_safe_harbor(result.data)
    assert class_sizes(result.data, ["ageAtDiagnosis", "addrAtDxPostalCode"], PERSON).min() >= 2


def test_the_manifest_hashes_the_files_and_the_dictionary_covers_every_column(db: Path, tmp_path: Path) -> None:
    result = run(RESEARCHER, db, tmp_path / "c.zip", file_format="parquet")
    files = unzip(tmp_path / "c.zip")
    manifest = json.loads(files[MANIFEST_FILE])
    assert manifest == json.loads(json.dumps(result.manifest, default=str))
    assert manifest["files"] == {name: hashlib.sha256(content).hexdigest()
                                 for name, content in files.items() if name != MANIFEST_FILE}
    assert manifest["definition"] == DEFINITION and manifest["variables"] == ALL
    assert manifest["rows"] == len(read_back(files, "parquet")) and manifest["persons"] >= 1
    assert manifest["data_vintage"] and manifest["request"] is None and manifest["kind"] == "safe_harbor"
    dictionary = pd.read_csv(io.BytesIO(files[DICTIONARY_FILE]), dtype=str, keep_default_na=False)
    assert list(dictionary["column"]) == list(manifest["columns"]) == [ROW, PERSON, *ALL]
    rows = dictionary.set_index("column")
    assert rows.loc["primarySite", "naaccr_item_number"] == "400" and rows.loc["sex", "naaccr_item_number"] == "220"
    assert "Female" in rows.loc["sex", "code_labels"] and "C50=Breast" in rows.loc["primarySite", "code_labels"]
    assert "8500=" in rows.loc["histologicTypeIcdO3", "code_labels"]
    assert "1=Positive" in rows.loc["her2OverallSummary", "code_labels"]
    assert rows.loc["dateOfDiagnosis", "deidentification"].startswith("year only")
    assert (rows["deidentification"] != "").all() and (rows["meaning"] != "").all()
    [audited] = events(open_operational_store(db), action="cohort-export")
    assert audited.detail["rows"] == manifest["rows"] and audited.detail["variables"] == ALL
    assert audited.detail["definition"] == DEFINITION
    assert {k: v for k, v in audited.detail["files"].items() if k in manifest["files"]} == manifest["files"]
    assert audited.detail["files"]["c.zip"] == hashlib.sha256((tmp_path / "c.zip").read_bytes()).hexdigest()


@pytest.mark.parametrize("file_format", ["csv", "parquet", "xlsx"])
def test_an_empty_cohort_exports_its_header_and_dictionary(db: Path, tmp_path: Path, file_format: str) -> None:
    result = run(RESEARCHER, db, tmp_path / "c.zip", where="false", file_format=file_format)
    assert result.status == "exported" and result.rows == 0 and result.manifest is not None
    files = unzip(tmp_path / "c.zip")
    assert list(read_back(files, file_format).columns) == [ROW, PERSON, *ALL]
    assert result.manifest["persons"] == 0 and result.manifest["k_anonymity"]["rows_withheld"] == 0


def test_registrars_receive_the_released_view(db: Path, tmp_path: Path) -> None:
    result = run(REGISTRAR, db, tmp_path / "c.zip")
    assert result.data is not None
    assert_safe_harbor(result.data)


def test_bad_requests_are_explained(db: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="'nameLast', 'primarySiet' are not exportable"):
        run(RESEARCHER, db, tmp_path / "c.zip", variables=["primarySite", "nameLast", "primarySiet"])
    with pytest.raises(InvalidRequest, match="countyAtDx is released only in a limited data set"):
        run(RESEARCHER, db, tmp_path / "c.zip", variables=["primarySite", "countyAtDx"])
    with pytest.raises(InvalidRequest, match="dateOfBirth is released only in a limited data set"):
        run(RESEARCHER, db, tmp_path / "c.zip", variables=["dateOfBirth"])
    with pytest.raises(InvalidRequest, match="k = 5: the registry's k-anonymity is at least 11"):
        run(RESEARCHER, db, tmp_path / "c.zip", k=5)
    with pytest.raises(InvalidRequest, match="k = 20: k-anonymity applies to Safe Harbor exports"):
        run(REGISTRAR, db, tmp_path / "c.zip", k=20, kind="limited_data_set")
    with pytest.raises(InvalidRequest, match="format 'json'"):
        run(RESEARCHER, db, tmp_path / "c.zip", file_format="json")
    with pytest.raises(InvalidRequest, match="a folder; give the name of the ZIP file"):
        run(RESEARCHER, db, tmp_path)
    with pytest.raises(InvalidRequest, match="2 tumor ids are not registry tumors"):
        export_cohort(RESEARCHER, db, open_operational_store(db), definition=DEFINITION, variables=["sex"],
                      selection=pd.DataFrame({"tumor_id": [10**15, 10**15 + 1]}), file_format="csv",
                      destination=tmp_path / "c.zip")
    with pytest.raises(InvalidRequest, match="a tumor_id column"):
        export_cohort(RESEARCHER, db, open_operational_store(db), definition=DEFINITION, variables=["sex"],
                      selection=pd.DataFrame({"id": [1]}), file_format="csv", destination=tmp_path / "c.zip")
    assert not (tmp_path / "c.zip").exists()


def test_every_date_and_identifying_variable_is_classified_by_the_policy() -> None:
    for variable in export_variables().values():
        if variable.data_type == "date":
            assert classify(variable.naaccr_id) == "date", variable.naaccr_id
        assert classify(variable.naaccr_id) != "direct", variable.naaccr_id
    assert classify("addrAtDxPostalCode") == "zip" and classify("countyAtDx") == "substate"
    assert set(export_variables()) >= LDS_ONLY
    assert [v.source for v in chosen_variables(["rxSummChemo", "race1", "grade"])] == ["treatment", "patient", "tumor"]


def test_a_limited_data_set_is_a_request_approved_then_exported_once(db: Path, tmp_path: Path) -> None:
    ops = open_operational_store(db)
    variables = ["primarySite", "dateOfDiagnosis", "ageAtDiagnosis", "countyAtDx", "addrAtDxPostalCode",
                 "dateOfBirth", "rxDateChemo"]
    with pytest.raises(AccessDenied):
        run(RESEARCHER, db, tmp_path / "c.zip", variables=variables, kind="limited_data_set")
    assert events(ops, action="access-refused")[0].detail["action"] == "cohort-export-limited-data-set"
    pending = run(LDS_RESEARCHER, db, tmp_path / "c.zip", variables=variables, kind="limited_data_set")
    assert pending.status == "pending" and pending.request is not None and not (tmp_path / "c.zip").exists()
    request_id = pending.request.id
    again = run(LDS_RESEARCHER, db, tmp_path / "c.zip", variables=variables, kind="limited_data_set")
    assert again.request is not None and again.request.id == request_id           # the same request, waiting
    assert [r.id for r in own_requests(LDS_RESEARCHER, ops)] == [request_id]
    assert own_requests(RESEARCHER, ops) == []
    with pytest.raises(AccessDenied):
        list_requests(LDS_RESEARCHER, ops)
    with pytest.raises(AccessDenied):
        approve_request(LDS_RESEARCHER, ops, request_id, dua_reference="DUA-1")
    with pytest.raises(InvalidRequest, match="data use agreement"):
        approve_request(ADMINISTRATOR, ops, request_id, dua_reference=" ")
    approved = approve_request(ADMINISTRATOR, ops, request_id, dua_reference="DUA-2026-07")
    assert (approved.status, approved.decided_by, approved.dua_reference) == ("approved", "ada", "DUA-2026-07")

    done = run(LDS_RESEARCHER, db, tmp_path / "c.zip", variables=variables, kind="limited_data_set")
    assert done.status == "exported" and done.data is not None and done.manifest is not None
    assert done.manifest["request"] == {"id": request_id, "dua_reference": "DUA-2026-07", "approved_by": "ada"}
    assert done.manifest["k_anonymity"]["applied"] is False and len(done.data) == 64
    data = read_back(unzip(tmp_path / "c.zip"), "csv")
    assert data["dateOfDiagnosis"].str.fullmatch(r"\d{4}-\d{2}(-\d{2})?").all()
    assert "2017-01" in set(data["dateOfDiagnosis"])                              # a month-precision date
    assert {"67202", "03601"} <= set(data["addrAtDxPostalCode"]) and "045" in set(data["countyAtDx"])
    assert "92" in set(data["ageAtDiagnosis"]) and not {"nameLast", "patientIdNumber"} & set(data.columns)
    two = data.groupby(PERSON).size()
    assert two.max() == 2 and len(two) == 63                                     # one person, two tumors
    assert list_requests(ADMINISTRATOR, ops)[0].status == "exported"
    later = run(LDS_RESEARCHER, db, tmp_path / "d.zip", variables=variables, kind="limited_data_set")
    assert later.status == "pending" and later.request is not None and later.request.id != request_id
    actions = [e.action for e in events(ops)]
    assert {"export-request", "export-approve", "cohort-export"} <= set(actions)


def test_a_refused_request_says_why_and_exports_nothing(db: Path, tmp_path: Path) -> None:
    ops = open_operational_store(db)
    pending = run(REGISTRAR, db, tmp_path / "c.zip", variables=["dateOfDiagnosis"], kind="limited_data_set")
    assert pending.request is not None
    with pytest.raises(InvalidRequest, match="needs a reason"):
        refuse_request(ADMINISTRATOR, ops, pending.request.id, reason="")
    with pytest.raises(AccessDenied):
        refuse_request(REGISTRAR, ops, pending.request.id, reason="mine")
    refused = refuse_request(ADMINISTRATOR, ops, pending.request.id, reason="no IRB approval on file")
    assert (refused.status, refused.reason) == ("refused", "no IRB approval on file")
    with pytest.raises(InvalidRequest, match="is refused, not pending"):
        approve_request(ADMINISTRATOR, ops, pending.request.id, dua_reference="DUA-1")
    [decision] = events(ops, action="export-refuse")
    assert decision.detail["reason"] == "no IRB approval on file" and decision.user == "ada"
    refusals = [e.detail["action"] for e in events(ops, action="access-refused")]
    assert "approve-export" in refusals


def test_a_large_export_needs_approval_on_the_same_data(db: Path, tmp_path: Path) -> None:
    ops = open_operational_store(db)
    with pytest.raises(AccessDenied):
        set_export_settings(RESEARCHER, ops, row_limit=1)
    assert set_export_settings(ADMINISTRATOR, ops, row_limit=40).row_limit == 40
    assert export_settings(ops).k == DEFAULT_K
    pending = run(RESEARCHER, db, tmp_path / "c.zip")
    assert pending.status == "pending" and pending.request is not None and pending.request.row_count == 64
    assert run(RESEARCHER, db, tmp_path / "breast.zip", where="primary_site LIKE 'C50%'").status == "exported"
    with pytest.raises(InvalidRequest, match="leaves 1-15 records"):     # under the limit, but 14 persons
        run(RESEARCHER, db, tmp_path / "small.zip", where="primary_site = 'C619'")
    assert not (tmp_path / "small.zip").exists()
    approve_request(ADMINISTRATOR, ops, pending.request.id, dua_reference="DUA-9")
    tumor_id = int(selection(db, "primary_site = 'C341'")["tumor_id"].iloc[0])
    correct(REGISTRAR, db, ops, tumor_id=tumor_id, item="grade", new_value="9", reason="pathology")
    stale = run(RESEARCHER, db, tmp_path / "c.zip")          # the data changed since the approval
    assert stale.status == "pending" and stale.request is not None and stale.request.id != pending.request.id
    approve_request(ADMINISTRATOR, ops, stale.request.id, dua_reference="DUA-10")
    done = run(RESEARCHER, db, tmp_path / "c.zip")
    assert done.status == "exported" and done.manifest is not None
    assert done.manifest["request"]["id"] == stale.request.id


def test_administrators_cannot_export_records(db: Path, tmp_path: Path) -> None:
    ops = open_operational_store(db)
    with pytest.raises(AccessDenied):
        run(ADMINISTRATOR, db, tmp_path / "c.zip")
    [refused] = events(ops, action="access-refused")
    assert refused.detail["action"] == "cohort-export-deidentified" and refused.detail["definition"] == DEFINITION
    assert not (tmp_path / "c.zip").exists() and events(ops, action="cohort-export") == []


def test_the_workbook_writer_keeps_columns_in_place_past_z() -> None:
    frame = pd.DataFrame({f"c{i}": pd.array([f"v{i}", None, "a&<b>\x07"], dtype="string") for i in range(30)})
    frame.insert(0, "n", pd.array([1, 2, 3], dtype="int64"))
    back = pd.read_excel(io.BytesIO(workbook_bytes(frame, sheet="cohort")), sheet_name="cohort", dtype=str)
    assert list(back.columns) == list(frame.columns) and column_letters(28)[-2:] == ["AA", "AB"]
    assert back["c29"].tolist()[0] == "v29" and pd.isna(back["c29"].tolist()[1]) and back["c0"][2] == "a&<b>"
    assert back["n"].tolist() == ["1", "2", "3"]


def test_a_tumor_item_of_the_cohort_item_table_is_exported(tmp_path: Path) -> None:
    """An item of registry/data/cohort_items.csv without a column (PSA) is exported from registry_tumor_item,
    as consolidation chose it from the reports."""
    assert export_variables()["psaLabValue"].source == "tumor_item"
    assert export_variables()["primarySite"].source == "tumor"          # a column item stays a column
    db = build_cohort_store(tmp_path)
    with read_connection(db) as con:
        stored = con.execute("SELECT value, count(*) FROM registry_tumor_item WHERE naaccr_id = 'psaLabValue' "
                             "GROUP BY value").fetchall()
    assert len(stored) > 1, "the fixture's prostate reports carry PSA values"
    # PSA alone is no quasi-identifier: every row is exported, so the values can be counted against the store.
    result = run(RESEARCHER, db, tmp_path / "c.zip", variables=["psaLabValue"])
    assert result.data is not None and len(result.data) == len(selection(db, "true"))
    exported = result.data["psaLabValue"].dropna().value_counts().to_dict()
    assert exported == {str(value): int(n) for value, n in stored}


def test_no_class_is_smaller_than_k_on_the_sample_registry(sample_db: Path, tmp_path: Path) -> None:
    """Every quasi-identifier exported, over the sample registry's breast and colorectal tumors."""
    ops = open_operational_store(path=tmp_path / "ops.sqlite")
    with read_connection(sample_db) as con:
        cohort = con.execute("SELECT tumor_id, patient_id FROM registry_tumor WHERE primary_site BETWEEN 'C180' "
                             "AND 'C209' OR primary_site LIKE 'C50%'").df()
    result = export_cohort(RESEARCHER, sample_db, ops, definition=DEFINITION, selection=cohort, variables=ALL,
                           file_format="parquet", destination=tmp_path / "c.zip")
    assert result.data is not None and result.manifest is not None
    assert len(result.data) > 0.5 * len(cohort)
    assert class_sizes(result.data, QUASI, PERSON).min() >= DEFAULT_K
    assert_safe_harbor(result.data)
    summary = result.manifest["k_anonymity"]
    assert summary["rows_generalised"] > 0 and len(result.data) + summary["rows_withheld"] == len(cohort)
