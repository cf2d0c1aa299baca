"""Defects injected into source reports at configured rates, each one recorded for the truth file.

Real abstracts carry invalid codes, impossible combinations, dates out of order and missing items; the
sample carries them at the rates of ``DefectRates`` so edits and the worklist have real work. A defect in
a patient-level item (sex, birth date, race, last contact) changes that facility's record of the patient,
so it appears on every report of that patient number; it is counted once, on the report chosen.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from sample_data.config import DefectRates

PATIENT_ITEMS = frozenset({"sex", "dateOfBirth", "race1", "dateOfLastContact"})
# Values outside each item's code list (ICD-O-3 topography C12 has only C129, C58 only C589, C28 does not
# exist; the morphology codes are not in ICD-O-3; laterality, race, payer and confirmation codes unused).
INVALID_CODES: dict[str, tuple[str, ...]] = {
    "primarySite": ("C999", "C123", "C581", "C288"),
    "histologicTypeIcdO3": ("8888", "9998", "1234"),
    "laterality": ("7",),
    "race1": ("55",),
    "primaryPayerAtDx": ("33",),
    "diagnosticConfirmation": ("0",),
}
MISSING_ITEMS = ("dateOfBirth", "countyAtDx", "primarySite", "histologicTypeIcdO3", "dateOfDiagnosis", "race1",
                 "addrAtDxPostalCode", "sex")
FEMALE_SITES = ("C51", "C52", "C53", "C54", "C55", "C56", "C57", "C58")


def _shift(yyyymmdd: str, days: int) -> str:
    return (pd.Timestamp(yyyymmdd) + pd.Timedelta(days=days)).strftime("%Y%m%d")


def inject(reports: pd.DataFrame, rates: DefectRates, rng: np.random.Generator) -> tuple[
        pd.DataFrame, list[dict[str, object]]]:
    """Reports with defects applied, and one truth row per defect (report_id, defect, item, values)."""
    items = [*INVALID_CODES, *MISSING_ITEMS, "dateOfBirth", "dateOfLastContact", "dateOfDiagnosis",
             "rxDateSurgery", "rxDateChemo", "rxDateRadiation", "sex"]
    values: dict[str, np.ndarray] = {item: reports[item].to_numpy(dtype=object).copy()
                                     for item in dict.fromkeys(items) if item in reports.columns}
    patient_numbers = reports["patientIdNumber"].to_numpy(dtype=object)
    report_ids = reports["_report_id"].to_numpy()
    by_patient: dict[str, list[int]] = defaultdict(list)
    for row, number in enumerate(patient_numbers):
        by_patient[str(number)].append(row)
    truth: list[dict[str, object]] = []
    eligible = ~reports["_dco"].to_numpy(bool)

    def put(row: int, item: str, value: str, defect: str) -> None:
        original = values[item][row]
        targets = by_patient[str(patient_numbers[row])] if item in PATIENT_ITEMS else [row]
        values[item][targets] = value
        truth.append({"report_id": int(report_ids[row]), "defect": defect, "item": item,
                      "original": original, "injected": value})

    def pick(rate: float) -> np.ndarray:
        return np.flatnonzero(eligible & (rng.random(len(reports)) < rate))

    for row in pick(rates.invalid_code):
        item = list(INVALID_CODES)[int(rng.integers(len(INVALID_CODES)))]
        choices = INVALID_CODES[item]
        put(row, item, choices[int(rng.integers(len(choices)))], "invalid-code")
    for row in pick(rates.impossible_combination):
        site = str(values["primarySite"][row])
        if site == "C619":
            put(row, "sex", "2", "impossible-sex-site")
        elif site.startswith(FEMALE_SITES):
            put(row, "sex", "1", "impossible-sex-site")
        else:
            put(row, "histologicTypeIcdO3", "8960" if site.startswith("C22") else "8170",
                "impossible-site-histology")
    for row in pick(rates.date_out_of_order):
        diagnosis = str(values["dateOfDiagnosis"][row])
        kind = int(rng.integers(3))
        treated = [item for item in ("rxDateSurgery", "rxDateChemo", "rxDateRadiation")
                   if item in values and values[item][row]]
        if kind == 0:
            put(row, "dateOfBirth", _shift(diagnosis, int(rng.integers(1, 400))), "birth-after-diagnosis")
        elif kind == 1 and treated:
            put(row, treated[0], _shift(diagnosis, -int(rng.integers(10, 90))), "treatment-before-diagnosis")
        else:
            put(row, "dateOfLastContact", _shift(diagnosis, -int(rng.integers(30, 300))),
                "last-contact-before-diagnosis")
    for row in pick(rates.missing_item):
        item = MISSING_ITEMS[int(rng.integers(len(MISSING_ITEMS)))]
        if item not in values:
            item = "race1"
        put(row, item, "", "missing-item")
    return reports.assign(**values), truth


def truth_frame(identity_truth: list[dict[str, str]], defect_rows: list[dict[str, object]],
                reports: pd.DataFrame) -> pd.DataFrame:
    """All injected defects, one row per (report, defect), identity defects attached to every report of
    the facility's patient record they were made in."""
    first_report = reports.groupby("patientIdNumber")["_report_id"].min()
    identity = pd.DataFrame(identity_truth, columns=["facility_index", "patient_id_number", "defect", "item",
                                                     "original", "injected"])
    identity["report_id"] = identity["patient_id_number"].map(first_report)
    identity = identity.dropna(subset=["report_id"])
    frame = pd.concat([identity[["report_id", "defect", "item", "original", "injected"]],
                       pd.DataFrame(defect_rows, columns=["report_id", "defect", "item", "original", "injected"])],
                      ignore_index=True)
    frame["report_id"] = frame["report_id"].astype(np.int64)
    return frame.sort_values(["report_id", "defect", "item"], kind="stable").reset_index(drop=True)
