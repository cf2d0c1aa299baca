"""Source reports: what each facility sends about each tumor, as NAACCR items.

A tumor is reported by the hospital that diagnosed it (death-certificate-only tumors by the vital records
office). A share of tumors (``DefectRates.duplicate_report``) is reported again by a second hospital; that
hospital keeps its own patient number and medical record number, and its copy of the patient's identity
may carry a typo, a nickname, a transposed birth date or no social security number (the linkage problems
registries see). Patient numbers are given per facility (facility block x 1,000,000 + running number),
tumor record numbers per facility and patient in order of diagnosis.

Each report carries the date the registry received it (NAACCR item 2111, dateCaseReportReceived): the
diagnosis date (for a death-certificate-only report, the death date) plus a lag. Every facility has its
own median lag, drawn once (log-uniform between ``RECEIVED_MEDIAN_DAYS``; the vital records office too), and
each report spreads around it log-normally (``RECEIVED_SPREAD``): most reports arrive within six months, a
tail after a year and one or two in a hundred after two years, as registries see. A report is never received
after the follow-up cut-off (the files are what the registry held then): a lag that would end later is
replaced by a date drawn uniformly between the day after diagnosis and the cut-off.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from sample_data import people
from sample_data.config import DefectRates
from sample_data.facilities import assign_facilities
from sample_data.reference import date_text

RECEIVED_MEDIAN_DAYS = (45.0, 150.0)   # range of the facilities' median lag, diagnosis to receipt (days)
RECEIVED_SPREAD = 0.9                  # standard deviation of a report's log lag around its facility's median


def _yyyymmdd(values: pd.Series) -> np.ndarray:
    """Dates as NAACCR YYYYMMDD text ('' when missing)."""
    return date_text(values)


def build_reports(tumors: pd.DataFrame, facilities: pd.DataFrame, defects: DefectRates,
                  rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Report rows (tumor_index, facility_index, duplicate flag) and the facility-person records.

    Returns ``(reports, facility_persons)``: reports has one row per source report with ``report_id``,
    ``tumor_index``, ``person_id``, ``facility_index`` (-1 = vital records), ``duplicate``;
    facility_persons one row per (facility, person) with its patient number and identity defects.
    """
    n = len(tumors)
    dco = tumors["dco"].to_numpy(bool)
    facility = assign_facilities(tumors["fips"].to_numpy(), facilities, rng)
    facility[dco] = -1
    primary = pd.DataFrame({"tumor_index": np.arange(n), "facility_index": facility, "duplicate": False})
    second = (~dco) & (rng.random(n) < defects.duplicate_report)
    rows = np.flatnonzero(second)
    other = assign_facilities(tumors["fips"].to_numpy()[rows], facilities, rng, exclude=facility[rows])
    duplicate = pd.DataFrame({"tumor_index": rows, "facility_index": other, "duplicate": True})
    reports = pd.concat([primary, duplicate], ignore_index=True)
    reports["person_id"] = tumors["person_id"].to_numpy()[reports["tumor_index"]]
    reports["diagnosis_date"] = tumors["diagnosis_date"].to_numpy()[reports["tumor_index"]]
    reports = reports.sort_values(["diagnosis_date", "tumor_index", "duplicate"]).reset_index(drop=True)
    reports["report_id"] = np.arange(1, len(reports) + 1)

    # Facility-person records in order of first report: patient numbers and identity defects.
    pairs = reports.drop_duplicates(["facility_index", "person_id"])[["facility_index", "person_id", "duplicate"]]
    pairs = pairs.reset_index(drop=True)
    block = np.where(pairs["facility_index"] < 0, 99, pairs["facility_index"] + 1)
    running = pairs.groupby("facility_index").cumcount() + 1
    pairs["patient_id_number"] = [f"{b * 1_000_000 + r:08d}" for b, r in zip(block, running, strict=True)]
    is_dup = pairs["duplicate"].to_numpy(bool)
    m = len(pairs)
    pairs["typo"] = is_dup & (rng.random(m) < defects.identity_typo)
    pairs["nickname"] = is_dup & (rng.random(m) < defects.nickname)
    pairs["transposed_birth_date"] = is_dup & (rng.random(m) < defects.transposed_birth_date)
    pairs["missing_ssn"] = is_dup & (rng.random(m) < defects.missing_ssn)
    reports = reports.merge(pairs[["facility_index", "person_id", "patient_id_number"]],
                            on=["facility_index", "person_id"], how="left")
    reports = reports.sort_values("report_id").reset_index(drop=True)
    reports["tumor_record_number"] = (reports.groupby(["facility_index", "person_id"]).cumcount() + 1).map(
        "{:02d}".format)
    return reports, pairs


def sequence_numbers(tumors: pd.DataFrame) -> np.ndarray:
    """Sequence number central: 00 / 60 for a person's only malignant / in situ tumor, else 01.. / 61.."""
    behavior = tumors["behaviorCodeIcdO3"].to_numpy()
    in_situ = behavior == "2"
    order = tumors.assign(_in_situ=in_situ).sort_values(["person_id", "_in_situ", "diagnosis_date"])
    rank = order.groupby(["person_id", "_in_situ"]).cumcount() + 1
    count = order.groupby(["person_id", "_in_situ"])["person_id"].transform("size")
    base = np.where(order["_in_situ"], 60, 0)
    value = np.where(count == 1, base, base + rank)
    result = pd.Series(value, index=order.index).reindex(tumors.index)
    return result.map("{:02d}".format).to_numpy()


def _blank(values: np.ndarray, _rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The item not reported (a defect primitive like those of ``people``)."""
    return np.full(len(values), "", dtype=object), np.asarray([bool(v) for v in values], dtype=bool)


def identity_items(facility_persons: pd.DataFrame, persons: pd.DataFrame,
                   rng: np.random.Generator) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Patient identity items per facility-person (with the duplicate-report defects applied).

    Returns the items frame (indexed like ``facility_persons``) and the truth rows of injected defects.
    """
    base = persons.set_index("person_id").loc[facility_persons["person_id"]].reset_index()
    items = pd.DataFrame({
        "nameLast": base["nameLast"], "nameFirst": base["nameFirst"], "nameMiddle": base["nameMiddle"],
        "nameSuffix": base["nameSuffix"], "nameBirthSurname": base["nameBirthSurname"],
        "socialSecurityNumber": base["socialSecurityNumber"],
        "dateOfBirth": _yyyymmdd(base["birth_date"]),
    })
    truth: list[dict[str, str]] = []

    facility_index = facility_persons["facility_index"].to_numpy()
    patient_numbers = facility_persons["patient_id_number"].to_numpy(dtype=object)

    def apply(mask: np.ndarray, column: str, change: Callable[..., tuple[np.ndarray, np.ndarray]],
              defect: str) -> None:
        """Apply a defect primitive to the masked rows only and record what it changed."""
        rows = np.flatnonzero(mask)
        current = items[column].to_numpy(dtype=object)
        new, changed = change(current[rows], rng)
        for row, value in zip(rows[changed], new[changed], strict=True):
            truth.append({"facility_index": str(facility_index[row]), "patient_id_number": str(patient_numbers[row]),
                          "defect": defect, "item": column, "original": str(current[row]), "injected": str(value)})
        current = current.copy()
        current[rows[changed]] = new[changed]
        items[column] = current

    typo = facility_persons["typo"].to_numpy(bool)
    which = rng.random(len(items)) < 0.6    # last name more often than first name
    apply(typo & which, "nameLast", people.typo, "identity-typo")
    apply(typo & ~which, "nameFirst", people.typo, "identity-typo")
    apply(facility_persons["nickname"].to_numpy(bool), "nameFirst", people.nickname, "nickname")
    apply(facility_persons["transposed_birth_date"].to_numpy(bool), "dateOfBirth", people.transpose_date,
          "transposed-birth-date")
    apply(facility_persons["missing_ssn"].to_numpy(bool), "socialSecurityNumber", _blank, "missing-ssn")
    return items, truth


def received_dates(reports: pd.DataFrame, tumors: pd.DataFrame, persons: pd.DataFrame, facility_count: int,
                   cutoff: date, rng: np.random.Generator) -> np.ndarray:
    """The date the registry received each report, as NAACCR YYYYMMDD text (see the module's docstring).

    ``reports`` has ``_tumor_index``, ``_person_id``, ``_facility_index`` (-1 = vital records) and ``_dco``;
    draws the facilities' medians, then one normal and one uniform number per report, in report order.
    """
    low, high = np.log(RECEIVED_MEDIAN_DAYS[0]), np.log(RECEIVED_MEDIAN_DAYS[1])
    medians = np.exp(rng.uniform(low, high, facility_count + 1))    # the last one: vital records (index -1)
    n = len(reports)
    spread = rng.standard_normal(n)
    fallback = rng.random(n)
    diagnosis = tumors["diagnosis_date"].to_numpy("datetime64[D]")[reports["_tumor_index"].to_numpy()]
    death = persons.set_index("person_id").loc[reports["_person_id"].to_numpy(), "date_of_last_contact"]
    start = np.where(reports["_dco"].to_numpy(bool), death.to_numpy("datetime64[D]"), diagnosis)
    facility = reports["_facility_index"].to_numpy()
    lag = np.maximum(1, np.ceil(medians[facility] * np.exp(RECEIVED_SPREAD * spread))).astype(np.int64)
    received = start + lag.astype("timedelta64[D]")
    last = np.datetime64(cutoff, "D")
    late = received > last
    window = (last - start[late]).astype(np.int64)
    days = 1 + np.floor(fallback[late] * window).astype(np.int64)
    received[late] = start[late] + days.astype("timedelta64[D]")
    return date_text(pd.Series(received))
