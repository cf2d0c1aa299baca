"""Small NAACCR XML files of hand-written reports, for linkage and consolidation tests.

A report is one facility's abstract: patient items (who) and tumor items (what); `report()` fills the items
a report always has, so a test names only what it is about. `two_hospitals_store()` ingests a small store
whose linkage leaves one patient pair and one tumor pair for a reviewer (the registrar pages' tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from registry.naaccr import base_dictionary

PATIENT_ITEMS = {"nameLast", "nameFirst", "nameMiddle", "nameBirthSurname", "dateOfBirth", "socialSecurityNumber",
                 "sex", "race1", "spanishHispanicOrigin", "patientIdNumber", "vitalStatus", "dateOfLastContact",
                 "causeOfDeath"}


def report(facility: str, patient_number: str, *, tumor_number: str = "01", **items: str) -> tuple[
        dict[str, str], dict[str, str]]:
    """(patient items, tumor items) of one report; keyword items go to their level."""
    patient = {"patientIdNumber": patient_number, "sex": "2", "race1": "01", "spanishHispanicOrigin": "0",
               "vitalStatus": "1", "dateOfLastContact": "20231231"}
    tumor = {"reportingFacility": facility, "tumorRecordNumber": tumor_number, "primarySite": "C504",
             "histologicTypeIcdO3": "8500", "behaviorCodeIcdO3": "3", "laterality": "2",
             "dateOfDiagnosis": "20190315", "diagnosticConfirmation": "1", "typeOfReportingSource": "1",
             "addrAtDxState": "KS", "countyAtDx": "173", "addrAtDxPostalCode": "67202"}
    for name, value in items.items():
        (patient if name in PATIENT_ITEMS else tumor)[name] = value
    tumor.update({name: value for name, value in _required_by_year(tumor["dateOfDiagnosis"]).items()
                  if name not in items})
    born, diagnosed = patient.get("dateOfBirth", ""), tumor["dateOfDiagnosis"]
    if "ageAtDiagnosis" not in tumor and len(born) == len(diagnosed) == 8:   # the age the two dates give
        tumor["ageAtDiagnosis"] = f"{int(diagnosed[:4]) - int(born[:4]) - (diagnosed[4:] < born[4:]):03d}"
    return patient, tumor


def _required_by_year(diagnosed: str) -> dict[str, str]:
    """Items an abstract of that diagnosis year must carry (the coding edits' required items): payer insured
    NOS, stage localized, grade unknown."""
    if diagnosed[:4] >= "2018":
        return {"primaryPayerAtDx": "10", "summaryStage2018": "1", "gradeClinical": "9", "gradePathological": "9"}
    return {"primaryPayerAtDx": "10", "seerSummaryStage2000": "1", "grade": "9"}


def write_reports(path: Path, reports: Sequence[tuple[dict[str, str], dict[str, str]]]) -> Path:
    """A NAACCR v25 XML file (record type A) with one Patient element per report."""
    dictionary = base_dictionary("250")
    with NaaccrXmlWriter(path, dictionary=dictionary, record_type="A") as writer:
        for patient, tumor in reports:
            writer.write_patient(patient, [tumor])
    return path


MARGARET = {"nameLast": "WHITFIELD", "nameFirst": "MARGARET", "nameMiddle": "ANN", "dateOfBirth": "19590412",
            "socialSecurityNumber": "412556789", "medicalRecordNumber": "MR5521"}
THOMAS = {"nameLast": "OKAFOR", "nameFirst": "THOMAS", "dateOfBirth": "19470102", "socialSecurityNumber": "523448812",
          "sex": "1", "primarySite": "C619", "histologicTypeIcdO3": "8140", "laterality": "0",
          "dateOfDiagnosis": "20160520"}


def two_hospitals_store(root: Path) -> Path:
    """A store at root/store/registry.duckdb, two hospitals' reports ingested (and linked): a second breast
    report of Margaret with its laterality unknown (the multiple-primary rules ask a reviewer), a Margret with
    another birth date at the second hospital (a patient pair between the thresholds), and Thomas at both."""
    from pipelines.load import ingest_file

    db = root / "store" / "registry.duckdb"
    first = [report("1000000001", "00000101", **MARGARET),
             report("1000000001", "00000102", **THOMAS),
             report("1000000001", "00000101", **MARGARET, tumor_number="02", primarySite="C509", laterality="9",
                    histologicTypeIcdO3="8000", dateOfDiagnosis="20200301")]
    second = [report("2000000002", "00007003", nameLast="WHITFIELD", nameFirst="MARGRET", dateOfBirth="19590421"),
              report("2000000002", "00007004", **{**THOMAS, "nameFirst": "TOM", "socialSecurityNumber": ""})]
    ingest_file(write_reports(root / "h1.xml", first), db_path=db, user="tests")
    ingest_file(write_reports(root / "h2.xml", second), db_path=db, user="tests")
    return db
