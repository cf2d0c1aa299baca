"""Cohort selection and attrition equal an independent recount with pandas over the store's tables, for every
kind of criterion, exclude groups and OR within a group; the attrition adds up; biomarker items are chosen
from the reports by the consolidation rule and survive corrections and relinks."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.cohort_definition import SYSTEMIC, CohortDefinition
from registry.cohort_query import as_of_date, attrition, counts_by, select_tumors
from registry.errors import InvalidRequest
from registry.store import read_connection
from tests.cohort_store import CohortStore, build_cohort_store, read_cohort_store

STAGE = {"0": "in_situ", "1": "localized", "2": "regional", "3": "regional", "4": "regional", "5": "regional",
         "7": "distant"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CohortStore:
    return read_cohort_store(build_cohort_store(tmp_path_factory.mktemp("cohort")))


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def _in(series: pd.Series, codes: list[str]) -> pd.Series:
    return _text(series).isin(codes)


def _ranges(series: pd.Series, codes: list[str]) -> pd.Series:
    values = _text(series).fillna("")
    hit = pd.Series(False, index=series.index)
    for code in codes:
        low, _, high = code.partition("-")
        hit |= (values >= low) & (values <= (high or low)) & (values != "")
    return hit


def _months(start: pd.Series, end: pd.Series | date) -> pd.Series:
    """Whole months from start to end (day of month considered), as DuckDB's date_sub('month')."""
    s = pd.to_datetime(start)
    e = pd.to_datetime(end) if isinstance(end, pd.Series) else pd.Series(pd.Timestamp(end), index=start.index)
    months = (e.dt.year - s.dt.year) * 12 + (e.dt.month - s.dt.month)
    return months - (e.dt.day < s.dt.day).astype(int)


def _given(store: CohortStore, modalities: tuple[str, ...]) -> pd.Series:
    given = store.treatment[store.treatment["modality"].isin(modalities) & (store.treatment["given"] == True)]  # noqa: E712
    return store.tumors["tumor_id"].isin(given["tumor_id"])


def _item(store: CohortStore, naaccr_id: str) -> pd.Series:
    values = store.items[store.items["naaccr_id"] == naaccr_id].set_index("tumor_id")["value"]
    return store.tumors["tumor_id"].map(values)


def _matches(store: CohortStore, c: dict[str, Any], as_of: date) -> pd.Series:
    """Which tumors one criterion selects, computed with pandas from the tables (not from the module's SQL)."""
    t, kind = store.tumors, c["kind"]
    columns = {"site_recode": "site_recode", "behavior": "behavior", "sex": "sex", "race": "race1",
               "county": "county_fips", "vital_status": "vital_status", "facility": "reporting_facility"}
    if kind in columns:
        return _in(t[columns[kind]], c["codes"])
    if kind == "site":
        return _ranges(t["primary_site"], c["codes"])
    if kind == "histology":
        return _ranges(t["histology"], c["codes"])
    if kind == "grade":
        names = {"grade": "grade", "gradeClinical": "grade_clinical", "gradePathological": "grade_pathological"}
        chosen = list(names.values()) if c.get("item", "any") == "any" else [names[c["item"]]]
        return np.logical_or.reduce([_in(t[name], c["codes"]) for name in chosen])
    if kind in ("summary_stage", "derived_stage"):
        schemes = {"summary_stage": {"2018": ["summary_stage_2018"], "2000": ["seer_summary_stage_2000"]},
                   "derived_stage": {"2018": ["derived_summary_stage_2018"], "2000": ["derived_ss2000"]}}[kind]
        chosen = schemes.get(c.get("scheme", "any"), [*schemes["2018"], *schemes["2000"]])
        return np.logical_or.reduce([_in(t[name], c["codes"]) for name in chosen])
    if kind == "stage_group":
        coded = t["summary_stage_2018"].fillna(t["derived_summary_stage_2018"]).fillna(
            t["seer_summary_stage_2000"]).fillna(t["derived_ss2000"])
        return coded.map(STAGE).fillna("unknown").isin(c["codes"])
    if kind == "diagnosis_date":
        dates = pd.to_datetime(t["date_of_diagnosis"])
        hit = dates.notna()
        if c.get("from"):
            hit &= dates >= pd.Timestamp(c["from"])
        if c.get("to"):
            hit &= dates <= pd.Timestamp(c["to"])
        return hit
    if kind == "age_at_diagnosis":
        return t["age_at_diagnosis"].between(c.get("min", 0), c.get("max", 999))
    if kind == "time_since_diagnosis":
        months = _months(t["date_of_diagnosis"], as_of)
        return months.between(c.get("min_months", -1e9), c.get("max_months", 1e9))
    if kind == "treatment":
        modalities = SYSTEMIC if c["modality"] == "systemic" else (c["modality"],)
        given = _given(store, modalities)
        return given if c.get("received", True) else ~given
    if kind == "recurrence":
        kinds = _text(t["recurrence_type_1st"])
        hit = kinds.isin(c["types"]) if c.get("types") else kinds.notna() & ~kinds.isin(["00", "70", "99"])
        if c.get("within_months") is not None:
            hit &= _months(t["date_of_diagnosis"], t["recurrence_date_1st"]) <= c["within_months"]
        return hit.fillna(False).astype(bool)
    if kind == "vital_status":
        return _in(t["vital_status"], c["codes"])
    if kind == "first_primary":
        return _in(t["sequence_number_central"], ["00", "01"])
    if kind == "no_prior_cancer":
        first = t.groupby("patient_id")["date_of_diagnosis"].transform("min")
        return (t["date_of_diagnosis"] == first) & t["date_of_diagnosis"].notna()
    if kind == "item":
        values = _item(store, c["item"])
        hit = values.isin(c.get("codes", []))
        if "min" in c or "max" in c:
            numbers = pd.to_numeric(values, errors="coerce")
            hit |= numbers.between(c.get("min", -np.inf), c.get("max", np.inf))
        return hit.fillna(False).astype(bool)
    raise AssertionError(kind)


def _recount(store: CohortStore, definition: dict[str, Any], as_of: date) -> list[pd.Series]:
    """The cumulative selection after each group."""
    selected = pd.Series(True, index=store.tumors.index)
    steps = [selected]
    for group in definition["groups"]:
        hit = np.logical_or.reduce([pd.Series(_matches(store, c, as_of)).fillna(False).astype(bool).to_numpy()
                                    for c in group["criteria"]])
        selected = selected & (~hit if group.get("exclude") else hit)
        steps.append(selected)
    return steps


# One definition per kind of criterion (each selects some tumors of the store, not all).
CRITERIA: dict[str, dict[str, Any]] = {
    "site": {"kind": "site", "codes": ["C500-C509"]},
    "site_recode": {"kind": "site_recode", "codes": ["39", "66"]},
    "histology": {"kind": "histology", "codes": ["8500-8520", "8441"]},
    "behavior": {"kind": "behavior", "codes": ["2"]},
    "grade": {"kind": "grade", "codes": ["3"]},
    "grade_clinical": {"kind": "grade", "codes": ["3", "A"], "item": "gradeClinical"},
    "diagnosis_date": {"kind": "diagnosis_date", "from": "2017-03-01", "to": "2020-06-30"},
    "age_at_diagnosis": {"kind": "age_at_diagnosis", "min": 50, "max": 70},
    "sex": {"kind": "sex", "codes": ["1"]},
    "race": {"kind": "race", "codes": ["02", "04"]},
    "county": {"kind": "county", "codes": ["20173", "20091"], "label": "two counties"},
    "summary_stage": {"kind": "summary_stage", "codes": ["2", "3"]},
    "summary_stage_2000": {"kind": "summary_stage", "codes": ["2", "4"], "scheme": "2000"},
    "stage_group": {"kind": "stage_group", "codes": ["regional", "unknown"]},
    "derived_stage": {"kind": "derived_stage", "codes": ["7"], "scheme": "2018"},
    "item_code": {"kind": "item", "item": "her2OverallSummary", "codes": ["1"]},
    "item_number": {"kind": "item", "item": "psaLabValue", "min": 10, "max": 30},
    "item_number_code": {"kind": "item", "item": "psaLabValue", "min": 20, "codes": ["XXX.1"]},
    "treatment": {"kind": "treatment", "modality": "surgery"},
    "treatment_not": {"kind": "treatment", "modality": "chemotherapy", "received": False},
    "treatment_systemic": {"kind": "treatment", "modality": "systemic"},
    "time_since_diagnosis": {"kind": "time_since_diagnosis", "min_months": 24, "max_months": 60},
    "recurrence": {"kind": "recurrence"},
    "recurrence_types": {"kind": "recurrence", "types": ["62"], "within_months": 18},
    "vital_status": {"kind": "vital_status", "codes": ["0"]},
    "first_primary": {"kind": "first_primary"},
    "no_prior_cancer": {"kind": "no_prior_cancer"},
    "facility": {"kind": "facility", "codes": ["2000000002"]},
}


def _definition(*groups: dict[str, Any], as_of: str | None = "2024-12-31") -> dict[str, Any]:
    return {"version": 1, "name": "test", "description": "", "as_of": as_of, "groups": list(groups)}


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_each_kind_of_criterion_selects_what_pandas_recounts(store: CohortStore, name: str) -> None:
    data = _definition({"name": name, "exclude": False, "criteria": [CRITERIA[name]]})
    definition = CohortDefinition.from_json(data)
    expected = store.tumors.loc[_recount(store, data, date(2024, 12, 31))[-1], ["tumor_id", "patient_id"]]
    found = select_tumors(store.db, definition)
    assert 0 < len(expected) < len(store.tumors), f"{name} should select some tumors, not all"
    assert found["tumor_id"].tolist() == sorted(expected["tumor_id"].tolist())
    assert found["patient_id"].tolist() == expected.sort_values("tumor_id")["patient_id"].tolist()


COMBINED = _definition(
    {"name": "Breast or prostate", "criteria": [CRITERIA["site"], {"kind": "site", "codes": ["C619"]}]},
    {"name": "Treated", "criteria": [CRITERIA["treatment"], CRITERIA["treatment_systemic"]]},
    {"name": "No recurrence", "exclude": True, "criteria": [CRITERIA["recurrence"]]},
    {"name": "Men and HER2", "exclude": True, "criteria": [CRITERIA["sex"], CRITERIA["item_code"]]},
    {"name": "Recent", "criteria": [CRITERIA["diagnosis_date"], CRITERIA["time_since_diagnosis"]]},
    {"name": "Known stage", "criteria": [{"kind": "stage_group", "codes": ["localized", "regional", "distant"]}]})


def test_attrition_equals_the_recount_and_adds_up(store: CohortStore) -> None:
    definition = CohortDefinition.from_json(COMBINED)
    table = attrition(store.db, definition)
    steps = _recount(store, COMBINED, date(2024, 12, 31))
    assert table["step"].tolist() == list(range(len(COMBINED["groups"]) + 1))
    assert table["label"].tolist() == ["All registry tumors", "Breast or prostate", "Treated",
                                       "excluding: No recurrence", "excluding: Men and HER2", "Recent", "Known stage"]
    assert table["tumors"].tolist() == [int(s.sum()) for s in steps]
    assert table["persons"].tolist() == [store.tumors.loc[s, "patient_id"].nunique() for s in steps]
    assert (np.diff(table["tumors"]) <= 0).all() and (np.diff(table["persons"]) <= 0).all()
    assert (table["persons"] <= table["tumors"]).all()
    assert table["tumors"].iloc[0] == len(store.tumors) and table["tumors"].iloc[-1] > 0
    assert len(set(table["tumors"])) >= 5, "every group should narrow the cohort on this store"
    assert select_tumors(store.db, definition)["tumor_id"].tolist() == \
        store.tumors.loc[steps[-1], "tumor_id"].tolist()


def test_a_definition_without_groups_is_every_tumor(store: CohortStore) -> None:
    table = attrition(store.db, CohortDefinition.from_json(_definition()))
    assert table.to_dict("records") == [{"step": 0, "label": "All registry tumors", "tumors": len(store.tumors),
                                         "persons": store.tumors["patient_id"].nunique()}]


@pytest.mark.parametrize("by", ["county_fips", "reporting_facility"])
def test_counts_by_equal_the_recount(store: CohortStore, by: str) -> None:
    definition = CohortDefinition.from_json(COMBINED)
    selected = store.tumors[_recount(store, COMBINED, date(2024, 12, 31))[-1]]
    expected = selected.groupby(by).agg(tumors=("tumor_id", "size"), persons=("patient_id", "nunique")).reset_index()
    found = counts_by(store.db, definition, by)
    assert found[by].tolist() == expected[by].tolist()
    assert found["tumors"].tolist() == expected["tumors"].tolist()
    assert found["persons"].tolist() == expected["persons"].tolist()
    with pytest.raises(InvalidRequest, match="by: unknown 'stage'"):
        counts_by(store.db, definition, "stage")


def test_as_of_defaults_to_the_data_vintage(store: CohortStore) -> None:
    definition = CohortDefinition.from_json(_definition(as_of=None))
    assert as_of_date(store.db, definition) == date.today()   # loaded today
    assert as_of_date(store.db, CohortDefinition.from_json(_definition())) == date(2024, 12, 31)


def test_user_values_never_enter_the_sql(store: CohortStore) -> None:
    hostile = _definition({"name": "x'); DROP TABLE registry_tumor; --", "criteria": [
        {"kind": "county", "codes": ["20173"], "label": "'); --"}]})
    found = select_tumors(store.db, CohortDefinition.from_json(hostile))
    assert set(found["tumor_id"]) == set(store.tumors.loc[store.tumors["county_fips"] == "20173", "tumor_id"])


# ---- the tumor items: consolidation, corrections, relinks -----------------------------------------

def test_items_hold_a_known_value_over_an_unknown_one_and_skip_identifiers(store: CohortStore) -> None:
    with read_connection(store.db) as con:
        [(tumor,)] = con.execute("""SELECT DISTINCT l.registry_tumor_id FROM tumor_link l JOIN tumor t
                                    ON t.tumor_id = l.source_tumor_id WHERE t.reporting_facility = '9000000009'""").fetchall()
        reports = con.execute("SELECT count(*) FROM tumor_link WHERE registry_tumor_id = ?", [tumor]).fetchall()[0][0]
        names = {r[0] for r in con.execute("SELECT DISTINCT naaccr_id FROM registry_tumor_item").fetchall()}
    assert reports == 2
    assert _item(store, "her2OverallSummary")[store.tumors["tumor_id"] == tumor].tolist() == ["1"]
    assert "physicianManaging" not in names and "nameLast" not in names
    assert names == {"her2OverallSummary", "estrogenReceptorSummary", "psaLabValue", "gleasonScoreClinical",
                     "egfrMutationalAnalysis", "alkRearrangement", "microsatelliteInstability", "kras"}
    # every item row matches the tumor's column where the registry tumor has one
    her2 = _item(store, "her2OverallSummary")
    assert (her2.dropna() == store.tumors.loc[her2.notna(), "her2_overall_summary"]).all()


def test_the_best_source_then_the_earliest_report_wins(tmp_path: Path) -> None:
    from pipelines.load import ingest_file
    from tests.registry_reports import report, write_reports

    person = {"nameLast": "QUINN", "nameFirst": "ROSA", "dateOfBirth": "19600101", "socialSecurityNumber": "600000001"}
    # one facility and patient number: linked deterministically, whatever the store's size; three tumor
    # record numbers: three reports, not versions of one
    lab = report("1000000001", "20000001", tumor_number="01", typeOfReportingSource="3", kras="1", egfrMutationalAnalysis="0",
                 primarySite="C341", histologicTypeIcdO3="8140", laterality="1", **person)
    hospital = report("1000000001", "20000001", tumor_number="02", typeOfReportingSource="1", kras="0", egfrMutationalAnalysis="9",
                      primarySite="C341", histologicTypeIcdO3="8140", laterality="1", **person)
    second = report("1000000001", "20000001", tumor_number="03", typeOfReportingSource="1", kras="4", egfrMutationalAnalysis="7",
                    primarySite="C341", histologicTypeIcdO3="8140", laterality="1", **person)
    db = tmp_path / "store" / "registry.duckdb"
    ingest_file(write_reports(tmp_path / "a.xml", [lab, hospital]), db_path=db, user="tests")
    ingest_file(write_reports(tmp_path / "b.xml", [second]), db_path=db, user="tests")   # relinks the patient
    with read_connection(db) as con:
        rows = dict(con.execute("SELECT naaccr_id, value FROM registry_tumor_item").fetchall())
        tumors = con.execute("SELECT count(*) FROM registry_tumor").fetchall()[0][0]
    assert tumors == 1
    assert rows == {"kras": "0", "egfrMutationalAnalysis": "0"}   # hospital over lab; known EGFR of the lab


def test_a_correction_replaces_the_item_and_outlives_a_relink(store: CohortStore, tmp_path: Path) -> None:
    from pipelines.registry_link import link_registry
    from registry.corrections import correct
    from registry.operational_store import open_operational_store
    from registry.principal import Principal

    shutil.copytree(store.db.parent, tmp_path / "store")
    db = tmp_path / "store" / store.db.name
    tumor = int(store.tumors.loc[_item(store, "her2OverallSummary") == "0", "tumor_id"].iloc[0])
    correct(Principal("registrar1", "registrar"), db, open_operational_store(db), tumor_id=tumor,
            item="her2OverallSummary", new_value="1", reason="amended pathology report")
    her2 = {"groups": [{"name": "HER2", "criteria": [CRITERIA["item_code"]]}]}
    assert tumor in set(select_tumors(db, CohortDefinition.from_json(her2))["tumor_id"])
    link_registry(db, user="tests", force=True)
    with read_connection(db) as con:
        value = con.execute("SELECT value FROM registry_tumor_item WHERE tumor_id = ? AND naaccr_id = ?",
                            [tumor, "her2OverallSummary"]).fetchall()
        count = con.execute("SELECT count(*) FROM registry_tumor_item").fetchall()[0][0]
    assert value == [("1",)] and count == len(store.items)


def test_the_upgrade_fills_the_items_of_an_existing_store(store: CohortStore, tmp_path: Path) -> None:
    from registry.store_writes import migrate, write_connection
    from tests.store_versions import (
        back_before_item_layouts,
        back_before_report_versions,
        back_to_long_source_items,
    )

    shutil.copytree(store.db.parent, tmp_path / "store")
    db = tmp_path / "store" / store.db.name
    with write_connection(db) as con:
        back_before_item_layouts(con)
        back_before_report_versions(con)
        back_to_long_source_items(con)
        con.execute("DROP TABLE registry_tumor_item")   # back to a version 5 store: 0006 and what 0007 added
        con.execute("DELETE FROM consolidated_value WHERE item = 'date_case_report_received'")
        con.execute("ALTER TABLE tumor DROP COLUMN date_case_report_received")
        con.execute("ALTER TABLE registry_tumor DROP COLUMN date_case_report_received")
        con.execute("DELETE FROM schema_migration WHERE number >= 6")
        assert migrate(con) == ["0006_registry_tumor_item.sql", "0007_report_received.sql",
                                "0008_report_versions.sql", "0009_packed_source_items.sql",
                                "0010_item_layouts.sql"]
    assert len(read_cohort_store(db).items.merge(store.items)) == len(store.items)


def test_a_relink_of_many_chunks_reads_the_items_once_and_finds_the_same(store: CohortStore, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from registry import store_writes

    shutil.copytree(store.db.parent, tmp_path / "store")
    db = tmp_path / "store" / store.db.name
    monkeypatch.setattr(store_writes, "CONSOLIDATION_CHUNK", 20)   # 75 patients: four chunks, items staged
    with read_connection(db) as con:
        empty_patients = con.sql("SELECT * FROM patient_link LIMIT 0").to_arrow_table()
        empty_tumors = con.sql("SELECT * FROM tumor_link LIMIT 0").to_arrow_table()
    store_writes.write_registry_links(db, patient_links=empty_patients, tumor_links=empty_tumors,
                                      scope=store.tumors["patient_id"].unique().tolist())
    again = read_cohort_store(db)
    columns = ["tumor_id", "naaccr_id", "value"]
    assert again.items.sort_values(columns).reset_index(drop=True).equals(
        store.items.sort_values(columns).reset_index(drop=True))
    assert again.tumors.equals(store.tumors)
