"""A small registry for the data-quality certification tests: hand-written reports of 2018-2020 that make each
criterion count something (a DCO, missing county, race, sex and age, an in situ bladder and an in situ breast,
a resident of another state, a sex/site edit failure, a tumor not microscopically verified, an unknown primary,
Margaret's questions left to a reviewer), ingested and linked, with a Kansas population loaded; and an
independent recount of every figure in pandas over the store's raw rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.load import ingest_file
from pipelines.population import load_population, write_seer_population
from registry.store import read_connection
from tests.registry_reports import MARGARET, report, write_reports

YEARS = (2018, 2019, 2020)
AGE_GROUPS = ("00", "01-04", *(f"{lo:02d}-{lo + 4:02d}" for lo in range(5, 85, 5)), "85+")
DATA = Path(__file__).resolve().parents[1] / "registry" / "data"
NAMES = ("ABERNATHY", "BALDWIN", "CASTILLO", "DRUMMOND", "ELLSWORTH", "FAIRBANKS", "GALLOWAY", "HARTMANN",
         "IVERSON", "JABLONSKI", "KOWALCZYK", "LINDQVIST", "MONTGOMERY", "NAKAMURA")
# When the registry received a report: within 12 months of the year's close, except person 3's (after 12 but
# within 23 months) and person 4's (after 23 months); Margaret's reports carry no date.
RECEIVED = {3: "20210301", 4: "20220115"}
LUNG = {"primarySite": "C341", "histologicTypeIcdO3": "8140", "laterality": "1"}


def _person(n: int) -> dict[str, str]:
    """Identity items of the n-th (1-based) person of the first hospital: nobody links to anybody."""
    return {"nameLast": NAMES[n - 1], "nameFirst": ("ALICE", "BRUNO", "CLARA", "DMITRI")[n % 4],
            "dateOfBirth": f"19{30 + 2 * n}0{1 + n % 9}1{n % 10}", "socialSecurityNumber": f"9{n:02d}45{n:04d}",
            "dateCaseReportReceived": RECEIVED.get(n, "20190901")}


def _first_hospital() -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        report("1000000001", "00000001", **_person(1)),
        report("1000000001", "00000002", **_person(2), sex="1", primarySite="C619", histologicTypeIcdO3="8140",
               laterality="0"),
        report("1000000001", "00000003", **_person(3), **LUNG, race1="99"),
        report("1000000001", "00000004", **_person(4), primarySite="C182", laterality="0", countyAtDx="999"),
        report("1000000001", "00000005", **_person(5), **LUNG, typeOfReportingSource="7", diagnosticConfirmation="9",
               vitalStatus="0", dateOfLastContact="20190315"),
        report("1000000001", "00000006", **_person(6), sex="9", primarySite="C739", histologicTypeIcdO3="8260",
               laterality="0"),
        report("1000000001", "00000007", **_person(7), primarySite="C809", histologicTypeIcdO3="8000", laterality="0",
               ageAtDiagnosis="999"),
        report("1000000001", "00000008", **_person(8), primarySite="C679", histologicTypeIcdO3="8130",
               behaviorCodeIcdO3="2", laterality="0"),
        report("1000000001", "00000009", **_person(9), behaviorCodeIcdO3="2", histologicTypeIcdO3="8500"),
        report("1000000001", "00000010", **_person(10), addrAtDxState="MO", countyAtDx="510", addrAtDxPostalCode="63101"),
        report("1000000001", "00000011", **_person(11), primarySite="C619", histologicTypeIcdO3="8140", laterality="0"),
        report("1000000001", "00000012", **_person(12), primarySite="C220", histologicTypeIcdO3="8170", laterality="0",
               diagnosticConfirmation="7"),
        report("1000000001", "00000013", **_person(13), dateOfDiagnosis="20180610"),
        report("1000000001", "00000014", **_person(14), **LUNG, dateOfDiagnosis="20180120", typeOfReportingSource="7",
               diagnosticConfirmation="9", vitalStatus="0", dateOfLastContact="20180120"),
        report("1000000001", "00000101", **MARGARET),
        report("1000000001", "00000101", **MARGARET, tumor_number="02", primarySite="C509", laterality="9",
               histologicTypeIcdO3="8000", dateOfDiagnosis="20200301"),
    ]


def _second_hospital() -> list[tuple[dict[str, str], dict[str, str]]]:
    return [report("2000000002", "00007003", nameLast="WHITFIELD", nameFirst="MARGRET", dateOfBirth="19590421")]


def certification_store(root: Path) -> Path:
    """The store at root/store/registry.duckdb (see the module doc)."""
    db = root / "store" / "registry.duckdb"
    ingest_file(write_reports(root / "h1.xml", _first_hospital()), db_path=db, user="tests")
    ingest_file(write_reports(root / "h2.xml", _second_hospital()), db_path=db, user="tests")
    rows = [{"year": year, "fips": "20173", "sex": sex, "age_group": group, "population": 1000 + 100 * i + sex}
            for year in YEARS for sex in (1, 2) for i, group in enumerate(AGE_GROUPS)]
    write_seer_population(pd.DataFrame(rows), root / "population.txt", state_abbr="KS")
    load_population(root / "population.txt", db_path=db)
    return db


# ---- the independent recount ---------------------------------------------------------------------------

def _ranges(text: str) -> list[tuple[int, int]]:
    return [(int(p.split("-")[0]), int(p.split("-")[-1])) for p in text.split()]


def _site_of(row: pd.Series, sites: pd.DataFrame, sexes: dict[str, set[str]]) -> str | None:
    """The reference site a tumor belongs to, read straight from the definitions file."""
    for rule in sites.itertuples():
        histology = int(row["histology"]) if str(row["histology"]).isdigit() else -1
        if (rule.site_recode == row["site_recode"] and row["behavior"] in rule.behaviors.split()
                and row["sex"] in sexes[rule.site_key]
                and (not rule.histologies or any(lo <= histology <= hi for lo, hi in _ranges(rule.histologies)))
                and (not rule.sites or row["primary_site"] in rule.sites.split())
                and row["primary_site"] not in rule.excluded_sites.split()):
            return str(rule.site_key)
    return None


def _arrived(tumors: pd.DataFrame, year: int, months: int) -> float:
    """Tumors of the reference sites received by the deadline (NaN when none has a received date)."""
    deadline = pd.Timestamp(year + 2, 11, 30) if months == 23 else pd.Timestamp(year + 1, 12, 31)
    covered = tumors[tumors["site_key"].notna()]
    received = pd.to_datetime(covered["date_case_report_received"])
    return float((received <= deadline).sum()) if received.notna().any() else np.nan


def recount(db: Path) -> pd.DataFrame:
    """Every figure of `registry.certification.certification` for a registrar, from raw rows: diagnosis_year,
    criterion, count, denominator, value."""
    with read_connection(db) as con:
        tumors = con.execute("SELECT * FROM registry_tumor").df()
        patients = con.execute("SELECT * FROM registry_patient").df()
        population = con.execute("SELECT * FROM population").df()
        failures = con.execute("SELECT * FROM edit_failure").df()
        runs = con.execute("SELECT * FROM edit_run").df()
        source = con.execute("""SELECT t.tumor_id, t.patient_id, t.reporting_facility, t.tumor_record_number,
                                       p.patient_id_number, l.registry_tumor_id
                                FROM tumor t JOIN patient p USING (patient_id)
                                JOIN tumor_link l ON l.source_tumor_id = t.tumor_id""").df()
    edits = pd.read_csv(DATA / "edits.csv", dtype=str)
    incidence = {"primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3", "dateOfDiagnosis", "ageAtDiagnosis",
                 "dateOfBirth", "sex", "sexAssignedAtBirth", "race1", "addrAtDxState", "countyAtDx"}
    incidence_edits = {row.id for row in edits.itertuples()
                       if row.severity == "error" and incidence & set(row.items.split(";"))}
    t = tumors.merge(patients[["patient_id", "sex", "race1"]], on="patient_id")
    t = t[t["behavior"].eq("3") | (t["behavior"].eq("2") & t["site_recode"].eq("55"))]
    loaded = {(int(y), s) for y, s in zip(population["year"], population["state_fips"], strict=True)}
    state_codes = {"KS": "20", "MO": "29"}
    resident = [not state or state == "ZZ" or int(year) not in {y for y, _ in loaded}
                or (int(year), state_codes.get(state, "")) in loaded
                for year, state in zip(t["diagnosis_year"], t["addr_at_dx_state"].fillna(""), strict=True)]
    t = t[resident]
    rates = pd.read_csv(DATA / "reference_incidence_rates.csv", dtype={"sex": str, "age_group": str})
    sites = pd.read_csv(DATA / "reference_incidence_sites.csv", dtype=str, keep_default_na=False)
    sexes = rates.groupby("site_key")["sex"].agg(set).to_dict()
    t = t.assign(site_key=[_site_of(row, sites, sexes) for _, row in t.iterrows()])
    person_years = population.groupby(["year", "sex", "age_group"], as_index=False)["population"].sum()
    expected = person_years.merge(rates[["site_key", "sex", "age_group", "rate_per_100k"]], on=["sex", "age_group"])
    expected = (expected["population"] * expected["rate_per_100k"] / 1e5).groupby(expected["year"]).sum()
    failing = set(failures[(failures["level"] == 3) & (failures["severity"] == "error")
                           & failures["edit_id"].isin(incidence_edits)]["record_id"])
    with sqlite3.connect(db.with_name(db.stem + ".ops.sqlite")) as ops:
        pending = pd.read_sql("SELECT review_id, kind, left_key, right_key FROM link_review WHERE status = 'pending'", ops)
    facility = source.sort_values("tumor_id").groupby("patient_id")["reporting_facility"].first()
    source["patient_key"] = source["patient_id"].map(facility) + "/" + source["patient_id_number"]
    source["tumor_key"] = source["reporting_facility"] + "/" + source["patient_id_number"] + "/" \
        + source["tumor_record_number"]
    named = []
    for review in pending.itertuples():
        column = "patient_key" if review.kind == "patient" else "tumor_key"
        named += [(review.review_id, tumor) for tumor in
                  source[source[column].isin([review.left_key, review.right_key])]["registry_tumor_id"]]
    named_frame = pd.DataFrame(named, columns=["review_id", "tumor_id"]).merge(t[["tumor_id", "diagnosis_year"]])
    rows = []
    for year in sorted(t["diagnosis_year"].dropna().unique()):
        y = t[t["diagnosis_year"] == year]
        n = len(y)
        counts = {
            "completeness": (y["site_key"].notna().sum(), expected.get(int(year), np.nan), 100),
            "completeness_23_months": (_arrived(y, int(year), 23), expected.get(int(year), np.nan), 100),
            "completeness_12_months": (_arrived(y, int(year), 12), expected.get(int(year), np.nan), 100),
            "dco": ((y["type_of_reporting_source"] == "7").sum(), n, 100),
            "duplicates": (named_frame[named_frame["diagnosis_year"] == year]["review_id"].nunique(), n, 1000),
            "missing_age": (y["age_at_diagnosis"].isna().sum(), n, 100),
            "missing_sex": (y["sex"].fillna("").isin(["", "9"]).sum(), n, 100),
            "missing_county": (y["county_at_dx"].fillna("").isin(["", "999"]).sum(), n, 100),
            "missing_race": (y["race1"].fillna("").isin(["", "99"]).sum(), n, 100),
            "passing_edits": ((~y["tumor_id"].isin(failing)).sum() if (runs["edit_set"] == "publication").any()
                              else np.nan, n, 100),
            "microscopically_verified": (y["diagnostic_confirmation"].isin(["1", "2", "3", "4"]).sum(), n, 100),
            "unknown_site": ((y["primary_site"].isin(["C809", "C269", "C399"])
                              | y["primary_site"].between("C760", "C768")).sum(), n, 100),
        }
        for criterion, (count, denominator, scale) in counts.items():
            rows.append({"diagnosis_year": int(year), "criterion": criterion, "count": float(count),
                         "denominator": float(denominator), "value": scale * float(count) / float(denominator)})
    return pd.DataFrame(rows)
