"""A small linked store for cohort tests: 90 hand-patterned registry tumors of 75 persons with every kind of
value a cohort definition selects on (site, histology, stage, grade, biomarkers, treatment, recurrence, vital
status, county, facility), and the same tables read back with pandas for independent recounts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from registry.store import read_connection
from tests.registry_reports import report, write_reports

SITES = (("C504", "8500"), ("C509", "8520"), ("C619", "8140"), ("C341", "8140"), ("C187", "8140"),
         ("C502", "8500"), ("C569", "8441"), ("C341", "8070"), ("C504", "8500"))
COUNTIES = ("173", "015", "079", "091", "177")
FACILITIES = ("1000000001", "2000000002", "3000000003")
SURNAMES = ("ABBOTT", "BARNES", "CORTEZ", "DUNCAN", "ELLIS", "FOSTER", "GARCIA", "HOLMES", "INGRAM", "JENSEN",
            "KELLER", "LAWSON", "MORENO", "NOLAN", "OWENS")
FIRST_NAMES = ("ANNA", "BETH", "CARL", "DORA", "EVAN")


def _tumor(i: int) -> dict[str, str]:
    """The items of registry tumor i (0-89), patterned so that every criterion selects some but not all."""
    site, histology = SITES[i % len(SITES)]
    year = 2014 + i % 10
    items = {"primarySite": site, "histologicTypeIcdO3": histology, "behaviorCodeIcdO3": "2" if i % 17 == 0 else "3",
             "dateOfDiagnosis": f"{year}{1 + i % 12:02d}{1 + i % 27:02d}", "countyAtDx": COUNTIES[i % 5],
             "reportingFacility": FACILITIES[i % 3], "laterality": "0" if site in ("C619", "C187") else "2",
             "typeOfReportingSource": "1"}
    if year >= 2018:
        items.update(summaryStage2018=str((0, 1, 2, 3, 7, 9)[i % 6]), derivedSummaryStage2018=str((1, 2, 7)[i % 3]),
                     gradeClinical=("1", "2", "3", "9", "A")[i % 5], gradePathological=("9", "3")[i % 2])
    else:
        items.update(seerSummaryStage2000=str((1, 2, 4, 7, 9)[i % 5]), derivedSs2000=str((1, 3, 7)[i % 3]),
                     grade=("1", "2", "3", "4", "9")[i % 5])
    if site.startswith("C50"):
        items.update(her2OverallSummary=("1", "0", "9", "1")[i % 4], estrogenReceptorSummary=("1", "0", "7")[i % 3])
    if site == "C619":
        items.update(psaLabValue=("4.5", "12.0", "25.3", "XXX.1", "XXX.9")[i // 9 % 5],
                     gleasonScoreClinical=("06", "07", "08", "09", "X9")[i // 9 % 5])
    if site == "C341":
        items.update(egfrMutationalAnalysis=("1", "0", "9")[i % 3], alkRearrangement=("0", "1")[i % 2])
    if site == "C187":
        items.update(microsatelliteInstability=("2", "0", "9")[i // 9 % 3], kras=("1", "0")[i % 2])
    items["rxSummSurgPrimSite"] = ("30", "00", "99")[i % 3]
    items["rxSummChemo"] = ("01", "00", "82", "99")[i % 4]
    items["rxSummHormone"] = ("01", "00")[i % 2] if site.startswith("C50") else "00"
    if i % 7 == 0:
        items.update(recurrenceType1st=("22", "62", "13")[i % 3], recurrenceDate1st=f"{year + 1}0601")
    elif i % 7 == 1:
        items["recurrenceType1st"] = "00"
    return items


def _person(p: int) -> dict[str, str]:
    """Patient items of person p: a name, birth date and number of their own; sex and race patterned."""
    return {"nameLast": SURNAMES[p % 15], "nameFirst": FIRST_NAMES[p // 15 % 5], "dateOfBirth": f"{1930 + p % 60}0{1 + p % 9}15",
            "socialSecurityNumber": f"{500000000 + p * 7919}", "sex": "1" if p % 9 == 0 else "2",
            "race1": ("01", "02", "01", "04", "99")[p % 5], "vitalStatus": "0" if p % 4 == 0 else "1",
            "dateOfLastContact": "20240630"}


@dataclass(frozen=True)
class CohortStore:
    """The store and its tables read back."""

    db: Path
    tumors: pd.DataFrame      # registry_tumor joined with registry_patient
    treatment: pd.DataFrame   # registry_treatment
    items: pd.DataFrame       # registry_tumor_item


def build_cohort_store(root: Path) -> Path:
    """Ingest the 90 tumors: persons 0-74; persons 0-14 have a second tumor (75-89) reported at the same
    facility under the same number. Tumor 1 also has a laboratory report (its HER2 1 wins over the hospital's
    9: a known value over an unknown one)."""
    from pipelines.load import ingest_file

    reports = []
    for i in range(90):
        person = i if i < 75 else i - 75
        tumor = _tumor(i)
        facility = tumor["reportingFacility"] if i < 75 else _tumor(person)["reportingFacility"]
        reports.append(report(facility, f"{10000000 + person}", tumor_number=f"{1 + i // 75:02d}",
                              **{**_person(person), **tumor, "reportingFacility": facility}))
    lab = _tumor(1) | {"her2OverallSummary": "1", "typeOfReportingSource": "3", "reportingFacility": "9000000009"}
    reports[1] = report(FACILITIES[1], "10000001", **{**_person(1), **_tumor(1), "her2OverallSummary": "9"})
    reports.append(report("9000000009", "10000001", **{**_person(1), **lab}))
    db = root / "store" / "registry.duckdb"
    ingest_file(write_reports(root / "cohort.xml", reports), db_path=db, user="tests")
    return db


def read_cohort_store(db: Path) -> CohortStore:
    """The registry tables a recount needs."""
    with read_connection(db) as con:
        tumors = con.execute("SELECT t.*, p.sex, p.race1, p.vital_status FROM registry_tumor t "
                             "JOIN registry_patient p USING (patient_id) ORDER BY t.tumor_id").df()
        treatment = con.execute("SELECT * FROM registry_treatment").df()
        items = con.execute("SELECT * FROM registry_tumor_item").df()
    return CohortStore(db, tumors, treatment, items)
