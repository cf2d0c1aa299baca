"""A small registry for cohort export tests: crowds large enough for k-anonymity to keep, a few people who
stand out, a person with two tumors, a restricted ZIP3, an age over 90 and first-course treatment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from registry.naaccr import base_dictionary
from registry.store import read_connection
from tests.registry_reports import report

FACILITY = "1000000001"


def _born(year: int, index: int) -> str:
    """A birth date in `year`, different for every index (no two people alike)."""
    return f"{year}{1 + index % 12:02d}{1 + index % 28:02d}"


def _people() -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    people: list[tuple[dict[str, str], list[dict[str, str]]]] = []

    def add(number: int, tumors: list[dict[str, str]], **patient_items: str) -> None:
        patient, first = report(FACILITY, f"{number:08d}", **patient_items, **tumors[0])
        people.append((patient, [first, *[report(FACILITY, f"{number:08d}", tumor_number=f"{n + 2:02d}", **t)[1]
                                          for n, t in enumerate(tumors[1:])]]))

    for i in range(30):   # breast, women 55-59, Wichita (ZIP3 672), 2019: one large class
        add(100 + i, [{"primarySite": "C504" if i % 2 else "C509", "dateOfDiagnosis": "20190315",
                       "rxSummChemo": "01" if i % 3 else "00", "rxDateChemo": "20190420",
                       "rxSummSurgPrimSite": "22", "rxDateSurgery": "20190401", "estrogenReceptorSummary": "1",
                       "her2OverallSummary": "0"}], dateOfBirth=_born(1962, i), nameLast=f"B{i:03d}")
    for i in range(14):   # prostate, men 65-69, Lawrence (ZIP3 660), 2018
        add(200 + i, [{"primarySite": "C619", "histologicTypeIcdO3": "8140", "laterality": "0",
                       "dateOfDiagnosis": "20180610", "addrAtDxPostalCode": "66044", "countyAtDx": "045"}],
            sex="1", dateOfBirth=_born(1951, i), nameLast=f"P{i:03d}")
    for i in range(12):   # colon, women 60-69 in two 5-year groups of 6: one class once ages are widened
        add(600 + i, [{"primarySite": "C182", "histologicTypeIcdO3": "8140", "laterality": "0",
                       "dateOfDiagnosis": "20190820", "ageAtDiagnosis": f"{61 + (i % 2) * 5:03d}"}],
            dateOfBirth=_born(1955 - (i % 2) * 5, i), nameLast=f"C{i:03d}")
    for i in range(4):    # lung, Black men of several ages, Salina (ZIP3 674): small classes
        add(300 + i, [{"primarySite": "C341", "histologicTypeIcdO3": "8070", "laterality": "1",
                       "dateOfDiagnosis": f"20{17 + i}0{1 + i}", "addrAtDxPostalCode": "67401",
                       "countyAtDx": "169", "ageAtDiagnosis": f"{77 - 8 * i:03d}"}], sex="1", race1="02", dateOfBirth=_born(1940 + 9 * i, i),
            nameLast=f"L{i:03d}", vitalStatus="0", dateOfLastContact="20220101")
    add(400, [{"primarySite": "C509", "dateOfDiagnosis": "20200702", "addrAtDxPostalCode": "03601",
               "addrAtDxState": "NH", "countyAtDx": "009"}], dateOfBirth="19280105", nameLast="OLD")
    add(401, [{"primarySite": "C509", "dateOfDiagnosis": "20200815", "addrAtDxPostalCode": "03602",
               "addrAtDxState": "NH", "countyAtDx": "009"}], dateOfBirth="19290210", nameLast="OLDER")
    add(500, [{"primarySite": "C504", "dateOfDiagnosis": "20190315"},
              {"primarySite": "C187", "histologicTypeIcdO3": "8140", "laterality": "0", "dateOfDiagnosis": "20210905",
               "recurrenceDate1st": "20230115", "recurrenceType1st": "10", "ageAtDiagnosis": "058"}],
        dateOfBirth="19630707", nameLast="TWICE")
    return people


def cohort_store(root: Path) -> Path:
    """The store at root/store/registry.duckdb, the reports above ingested and linked."""
    from pipelines.load import ingest_file

    db = root / "store" / "registry.duckdb"
    path = root / "cohort.xml"
    with NaaccrXmlWriter(path, dictionary=base_dictionary("250"), record_type="A") as writer:
        for patient, tumors in _people():
            writer.write_patient(patient, tumors)
    ingest_file(path, db_path=db, user="tests")
    return db


def selection(db: Path, where: str = "true") -> pd.DataFrame:
    """(tumor_id, patient_id) of the registry tumors matching a fixed SQL condition on registry_tumor t."""
    with read_connection(db) as con:
        return con.execute(f"SELECT tumor_id, patient_id FROM registry_tumor t WHERE {where} ORDER BY tumor_id").df()
