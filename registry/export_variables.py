"""What a cohort export can carry: each exportable NAACCR item, where its value comes from, and its labels.

A variable is named by its NAACCR XML id (`primarySite`, `dateOfDiagnosis`, `rxSummChemo`, ...). Its source:
- `tumor` / `patient`: a column of `registry_tumor` / `registry_patient` (the item -> column map of
  `registry.correctable_items`, plus the central sequence number); dates carry a precision column;
- `treatment`: first-course treatment in `registry_treatment`: a code item of one modality (its code when
  the registry recorded it from that item) or a modality's start date;
- `tumor_item`: a value of the analytic table `registry_tumor_item(tumor_id, naaccr_id, value)`, for the
  items listed in `registry/data/cohort_items.csv` when the store has them (biomarkers and other items).
Left out on purpose: names, numbers and addresses (never exported), the reporting facility (a facility and
a year make small groups; facilities are reached through a registrar's identified candidate list) and the
birth date except in a limited data set (with the year of diagnosis it gives the exact age, which Safe
Harbor releases only as an age group).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from registry.cohort_definition import cohort_code_labels, cohort_items
from registry.correctable_items import (
    AGE_ITEM,
    PATIENT_DATES,
    PATIENT_TEXT,
    TUMOR_DATES,
    TUMOR_TEXT,
    _definitions,
)
from registry.errors import InvalidRequest

TUMOR, PATIENT, TREATMENT, TUMOR_ITEM = "tumor", "patient", "treatment", "tumor_item"
# Items of registry_tumor not exported (see the module docstring), and patient items kept to one spelling.
NOT_EXPORTED = frozenset({"reportingFacility", "sexAssignedAtBirth"})
LDS_ONLY = frozenset({"dateOfBirth"})
# First-course treatment: code items -> modality, date items -> modality (registry_treatment.modality;
# NAACCR items 1290/1291, 1360/1506, 1390, 1400, 1410, 3250, 1420 and their dates).
TREATMENT_CODES: dict[str, str] = {
    "rxSummSurgPrimSite2023": "surgery", "rxSummSurgPrimSite": "surgery",
    "phase1RadiationTreatmentModality": "radiation", "rxSummRadiation": "radiation",
    "rxSummChemo": "chemotherapy", "rxSummHormone": "hormone", "rxSummBrm": "immunotherapy",
    "rxSummTransplntEndocr": "transplant_endocrine", "rxSummOther": "other",
}
TREATMENT_DATES: dict[str, str] = {
    "rxDateSurgery": "surgery", "rxDateRadiation": "radiation", "rxDateChemo": "chemotherapy",
    "rxDateHormone": "hormone", "rxDateBrm": "immunotherapy", "rxDateSystemic": "transplant_endocrine",
    "rxDateOther": "other",
}
SOURCE_MEANING = {
    TUMOR: "the registry tumor's value, consolidated from its reports (or a registrar's correction)",
    PATIENT: "the registry patient's value, consolidated from the person's reports (or a correction)",
    TREATMENT: "first-course treatment of the registry tumor, the union of its reports",
    TUMOR_ITEM: "the registry tumor's value of this item, consolidated from its reports",
}


@dataclass(frozen=True)
class ExportVariable:
    """One exportable NAACCR item: its number and name, where its value comes from, and its data type."""

    naaccr_id: str
    naaccr_num: int | None
    name: str
    source: str                 # tumor, patient, treatment or tumor_item
    column: str | None          # tumor/patient column; treatment: the modality
    data_type: str              # code, date or number
    lds_only: bool = False

    @property
    def meaning(self) -> str:
        """What the value is, in words, for the data dictionary."""
        return f"{self.name}: {SOURCE_MEANING[self.source]}"


def _variable(naaccr_id: str, source: str, column: str | None, data_type: str) -> ExportVariable:
    definition = _definitions().get(naaccr_id)
    return ExportVariable(naaccr_id, definition.naaccr_num if definition else None,
                          definition.name if definition else naaccr_id, source, column, data_type,
                          naaccr_id in LDS_ONLY)


@cache
def export_variables() -> dict[str, ExportVariable]:
    """naaccr_id -> ExportVariable for every item a cohort export can carry, in catalogue order."""
    found: dict[str, ExportVariable] = {}
    for text, dates, source in ((TUMOR_TEXT, TUMOR_DATES, TUMOR), (PATIENT_TEXT, PATIENT_DATES, PATIENT)):
        for naaccr_id, column in text.items():
            if naaccr_id not in NOT_EXPORTED:
                found[naaccr_id] = _variable(naaccr_id, source, column, "code")
        for naaccr_id, column in dates.items():
            found[naaccr_id] = _variable(naaccr_id, source, column, "date")
    found[AGE_ITEM] = _variable(AGE_ITEM, TUMOR, "age_at_diagnosis", "number")
    found["sequenceNumberCentral"] = _variable("sequenceNumberCentral", TUMOR, "sequence_number_central", "code")
    for naaccr_id, modality in TREATMENT_CODES.items():
        found[naaccr_id] = _variable(naaccr_id, TREATMENT, modality, "code")
    for naaccr_id, modality in TREATMENT_DATES.items():
        found[naaccr_id] = _variable(naaccr_id, TREATMENT, modality, "date")
    for item in cohort_items().values():
        found.setdefault(item.naaccr_id, _variable(item.naaccr_id, TUMOR_ITEM, None, item.value_type))
    return found


def chosen_variables(names: list[str] | tuple[str, ...]) -> list[ExportVariable]:
    """The catalogue entries of `names`, in order; InvalidRequest naming every unknown or repeated one."""
    if not names:
        raise InvalidRequest("variables: choose at least one NAACCR item (e.g. primarySite, histologicTypeIcdO3)")
    catalogue = export_variables()
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise InvalidRequest(f"variables: {', '.join(repr(n) for n in unknown)} "
                             f"{'is' if len(unknown) == 1 else 'are'} not exportable NAACCR items; "
                             f"choose among {', '.join(sorted(catalogue))}")
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    if repeated:
        raise InvalidRequest(f"variables: {', '.join(repeated)} chosen more than once")
    return [catalogue[name] for name in names]


@cache
def code_labels() -> dict[str, dict[str, str]]:
    """item -> {code: label} from registry/data/code_labels.csv (the NAACCR code lists the export shows), and
    for the cohort items it does not list (KRAS, MSI, EGFR, ...) the labels the cohort definitions use."""
    text = resources.files("registry").joinpath("data/code_labels.csv").read_text(encoding="utf-8")
    labels: dict[str, dict[str, str]] = {item: dict(codes) for item, codes in cohort_code_labels().items()}
    listed: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(text.splitlines()):
        listed.setdefault(row["item"], {})[row["code"]] = " ".join(row["label"].split())
    return {**labels, **listed}


@cache
def topography_groups() -> tuple[tuple[str, str, str], ...]:
    """(first, last, label) of the ICD-O-3 topography groups (registry/data/topography_groups.csv)."""
    text = resources.files("registry").joinpath("data/topography_groups.csv").read_text(encoding="utf-8")
    return tuple((row["first"], row["last"], row["label"]) for row in csv.DictReader(text.splitlines()))


def topography_group(site3: str) -> str:
    """The ICD-O-3 topography group of a 3-character site ("C50" -> "C50", "C53" -> "C51-C58"); the site
    itself when it falls in no group."""
    for first, last, _ in topography_groups():
        if first <= site3 <= last:
            return first if first == last else f"{first}-{last}"
    return site3
