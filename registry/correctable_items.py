"""Which NAACCR items a registry-level correction can set, the registry columns each one feeds, and the shape
a corrected value must have.

A correction names a NAACCR item as a registrar knows it (`primarySite`, `dateOfBirth`, ...). An item that
feeds a column of `registry_tumor` or `registry_patient` sets that column (a date sets the date and its
precision; the diagnosis date also the diagnosis year); derived columns (age at diagnosis, county FIPS, site
recode, central sequence number) are computed again from the corrected values by `registry.store_writes`.
A NAACCR override flag (`overRideSiteType`, ...) has no column: it is kept as a correction and read by the
edits, the record view and the consolidated export. Values are NAACCR text, checked against the item's
definition in the NAACCR dictionary (`registry/data/naaccr_items.csv`) and the code's own range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from registry.errors import InvalidRequest
from registry.naaccr import SUPPORTED_VERSIONS, ItemDef, base_dictionary

PATIENT, TUMOR = 1, 2
LEVEL_NAMES = {PATIENT: "patient", TUMOR: "tumor"}

# NAACCR item -> the registry column it feeds (text columns; the value is stored as received).
TUMOR_TEXT: dict[str, str] = {
    "primarySite": "primary_site", "histologicTypeIcdO3": "histology", "behaviorCodeIcdO3": "behavior",
    "laterality": "laterality", "grade": "grade", "gradeClinical": "grade_clinical",
    "gradePathological": "grade_pathological", "diagnosticConfirmation": "diagnostic_confirmation",
    "typeOfReportingSource": "type_of_reporting_source", "addrAtDxState": "addr_at_dx_state",
    "countyAtDx": "county_at_dx", "addrAtDxPostalCode": "addr_at_dx_postal_code",
    "reportingFacility": "reporting_facility", "primaryPayerAtDx": "primary_payer_at_dx",
    "summaryStage2018": "summary_stage_2018", "derivedSummaryStage2018": "derived_summary_stage_2018",
    "seerSummaryStage2000": "seer_summary_stage_2000", "derivedSs2000": "derived_ss2000",
    "tumorSizeSummary": "tumor_size_summary", "regionalNodesPositive": "regional_nodes_positive",
    "regionalNodesExamined": "regional_nodes_examined", "estrogenReceptorSummary": "estrogen_receptor_summary",
    "progesteroneRecepSummary": "progesterone_recep_summary", "her2OverallSummary": "her2_overall_summary",
    "cancerStatus": "cancer_status", "recurrenceType1st": "recurrence_type_1st",
}
PATIENT_TEXT: dict[str, str] = {
    "sex": "sex", "sexAssignedAtBirth": "sex", "race1": "race1", "spanishHispanicOrigin": "spanish_hispanic_origin",
    "vitalStatus": "vital_status", "causeOfDeath": "cause_of_death",
}
# Date items -> the date column (its precision column is `<column>_precision`).
TUMOR_DATES: dict[str, str] = {"dateOfDiagnosis": "date_of_diagnosis",
                               "dateOfLastCancerStatus": "date_of_last_cancer_status",
                               "recurrenceDate1st": "recurrence_date_1st"}
PATIENT_DATES: dict[str, str] = {"dateOfBirth": "date_of_birth", "dateOfLastContact": "date_of_last_contact"}
AGE_ITEM = "ageAtDiagnosis"
UNKNOWN_AGE = "999"
# Items whose correction makes the age at diagnosis be computed again from the dates (unless it is corrected
# itself), and items whose correction makes the county FIPS code be built again.
AGE_FROM = ("dateOfDiagnosis", "dateOfBirth")
RESIDENCE = ("addrAtDxState", "countyAtDx")
# Registry columns that are not text.
COLUMN_TYPES: dict[str, str] = {**{c: "DATE" for c in (*TUMOR_DATES.values(), *PATIENT_DATES.values())},
                                "diagnosis_year": "SMALLINT", "age_at_diagnosis": "SMALLINT"}
CORRECTION_RULE = "correction"   # consolidated_value.rule of a value set by a correction
FLAG_PREFIX = "overRide"
FLAG_VALUES = ("1", "")           # an override flag is set (1) or cleared (blank)

_DATE = re.compile(r"(\d{4})(\d{2})?(\d{2})?")


@dataclass(frozen=True)
class CorrectableItem:
    """One item a correction can set: its level (1 patient, 2 tumor), the columns it feeds and its definition."""

    naaccr_id: str
    level: int
    columns: tuple[str, ...]
    definition: ItemDef

    @property
    def is_flag(self) -> bool:
        """An override flag: kept as a correction, feeds no column."""
        return not self.columns


@cache
def _definitions() -> dict[str, ItemDef]:
    """Every NAACCR item's latest definition over the supported dictionaries."""
    found: dict[str, ItemDef] = {}
    for version in SUPPORTED_VERSIONS:   # oldest first: a later definition replaces an earlier one
        found.update(base_dictionary(version, with_default_user=False).items)
    return found


@cache
def correctable_items() -> dict[str, CorrectableItem]:
    """naaccr_id -> CorrectableItem for every item a correction can set (column items and override flags)."""
    definitions = _definitions()
    items: dict[str, CorrectableItem] = {}
    for level, text, dates in ((TUMOR, TUMOR_TEXT, TUMOR_DATES), (PATIENT, PATIENT_TEXT, PATIENT_DATES)):
        for naaccr_id, column in text.items():
            items[naaccr_id] = CorrectableItem(naaccr_id, level, (column,), definitions[naaccr_id])
        for naaccr_id, column in dates.items():
            extra = ("diagnosis_year",) if naaccr_id == "dateOfDiagnosis" else ()
            items[naaccr_id] = CorrectableItem(naaccr_id, level, (column, f"{column}_precision", *extra),
                                               definitions[naaccr_id])
    items[AGE_ITEM] = CorrectableItem(AGE_ITEM, TUMOR, ("age_at_diagnosis",), definitions[AGE_ITEM])
    for naaccr_id, definition in definitions.items():
        if naaccr_id.startswith(FLAG_PREFIX) and definition.level in ("Patient", "Tumor"):
            items[naaccr_id] = CorrectableItem(naaccr_id, PATIENT if definition.level == "Patient" else TUMOR,
                                               (), definition)
    return items


def correctable(naaccr_id: str) -> CorrectableItem:
    """The item of this id, or InvalidRequest naming it."""
    found = correctable_items().get(naaccr_id)
    if found is None:
        raise InvalidRequest(
            f"item {naaccr_id!r} cannot be corrected: give the NAACCR item id of a registry value (e.g. primarySite, "
            "histologicTypeIcdO3, behaviorCodeIcdO3, dateOfDiagnosis, sex, dateOfBirth, race1, countyAtDx) or of "
            "an override flag (e.g. overRideSiteType)")
    return found


def _date_parts(text: str) -> tuple[int, int | None, int | None] | None:
    match = _DATE.fullmatch(text)
    if match is None or (match.group(2) is None and match.group(3) is not None):
        return None
    year, month, day = (int(g) if g is not None else None for g in match.groups())
    assert year is not None
    if not 1800 <= year <= 2099:
        return None
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        return None
    return year, month, day


def checked_value(item: CorrectableItem, value: str) -> str | None:
    """The value as stored (stripped; None clears an override flag), or InvalidRequest naming item and value."""
    text = value.strip()
    name, definition = item.naaccr_id, item.definition

    def refuse(why: str) -> InvalidRequest:
        return InvalidRequest(f"{name} = {value!r}: {why}")

    if item.is_flag:
        if text not in FLAG_VALUES:
            raise refuse("an override flag is 1 (reviewed and confirmed) or blank (cleared)")
        return text or None
    if not text:
        raise refuse("a new value is required")
    if len(text) > definition.length:
        raise refuse(f"longer than the item's {definition.length} characters")
    if not text.isascii() or not text.isprintable():
        raise refuse("only printable ASCII characters are allowed")
    if definition.data_type == "date":
        if _date_parts(text) is None:
            raise refuse("not a date: use YYYYMMDD, YYYYMM or YYYY")
    elif definition.data_type == "digits":
        if not text.isdigit() or len(text) != definition.length:
            raise refuse(f"give exactly {definition.length} digit{'s' if definition.length > 1 else ''}")
    elif definition.data_type == "alpha" and not (text.isalpha() and len(text) == definition.length):
        raise refuse(f"give exactly {definition.length} letters")
    if name == "primarySite":
        text = text.upper()
        if not re.fullmatch(r"C\d{3}", text) or int(text[1:]) > 809:
            raise refuse("an ICD-O-3 topography code is C000-C809 (C and three digits, no dot)")
    elif name == "histologicTypeIcdO3" and not "8000" <= text <= "9993":
        raise refuse("an ICD-O-3 histology code is 8000-9993")
    elif name == "behaviorCodeIcdO3" and text not in ("0", "1", "2", "3"):
        raise refuse("an ICD-O-3 behavior code is 0, 1, 2 or 3")
    elif name == AGE_ITEM and text != UNKNOWN_AGE and int(text) > 120:
        raise refuse("an age at diagnosis is 000-120, or 999 when unknown")
    elif name == "addrAtDxState":
        text = text.upper()
    return text


def column_values(item: CorrectableItem, value: str | None) -> dict[str, str | None]:
    """The registry columns a (checked) value sets, as text the column type casts from."""
    if item.is_flag:
        return {}
    if item.naaccr_id == AGE_ITEM:
        return {"age_at_diagnosis": None if value in (None, UNKNOWN_AGE) else str(int(str(value)))}
    if item.definition.data_type == "date" and value is not None:
        parts = _date_parts(value)
        assert parts is not None, value
        year, month, day = parts
        precision = "D" if day else "M" if month else "Y"
        values: dict[str, str | None] = {item.columns[0]: f"{year:04d}-{month or 1:02d}-{day or 1:02d}",
                                         item.columns[1]: precision}
        if len(item.columns) > 2:
            values[item.columns[2]] = str(year)
        return values
    return {item.columns[0]: value}


def naaccr_text(item: CorrectableItem, row: dict[str, Any]) -> str | None:
    """The NAACCR text of the item in a registry row (its columns by name), None when it has no value."""
    if item.is_flag:
        return None
    value = row.get(item.columns[0])
    if value is None:
        return None
    if item.naaccr_id == AGE_ITEM:
        return f"{int(value):03d}"
    if item.definition.data_type == "date":
        stamp = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        precision = row.get(item.columns[1]) or "D"
        return stamp.strftime({"Y": "%Y", "M": "%Y%m"}.get(str(precision), "%Y%m%d"))
    return str(value)
