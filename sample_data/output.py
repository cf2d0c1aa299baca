"""Turn the drawn registry into files: NAACCR XML per facility and year, a legacy v18 flat file, the
population in the SEER layout, the life table, the facilities, a truth folder and a manifest.

Layout under the output folder::

    naaccr/flat/<ST>-<first>-<last>-v18.txt.gz     older diagnosis years, NAACCR v18 record type C
    naaccr/xml/<year>/<facility>-<year>-v25.xml    one file per facility per diagnosis year (v25 / v26)
    population/<st>.<first>_<last>.19ages.txt      SEER population-file layout (scaled population, by race)
    lifetable/us_life_table.csv                    the life table the follow-up was drawn from
    facilities.csv                                 reporting facilities (ids, names, counties)
    truth/                                         which reports belong to whom, every injected defect
    manifest.json                                  configuration, counts and the SHA-256 of every file

The truth folder is for tests and for measuring linkage and edits; it never enters the NAACCR files.

``SampleRegistry`` is what ``generator.generate`` draws and ``write_all`` writes; it lives here, below the
generator, so the generator depends on the writers and not the other way round.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.naaccr_flat_writer import NaaccrFlatWriter, flat_item_ids
from pipelines.naaccr_xml_writer import NaaccrXmlWriter
from pipelines.population import write_seer_population
from registry.geography import STATE_FIPS, counties
from registry.naaccr import Dictionary, base_dictionary
from sample_data import people
from sample_data.config import SampleConfig
from sample_data.facilities import VITAL_RECORDS_ID
from sample_data.race_population import population_by_race
from sample_data.reference import date_text

Progress = Callable[[str], None]
FLAT_RECORD_TYPE = "C"     # incidence + confidential items (names, addresses), no text fields
XML_RECORD_TYPE = "A"


@dataclass(frozen=True)
class SampleRegistry:
    """Everything the generator drew, before it is written: tumors, persons, reports and facilities."""

    config: SampleConfig
    population: pd.DataFrame
    population_scale: float
    tumors: pd.DataFrame           # one row per true tumor, with its NAACCR tumor items
    persons: pd.DataFrame          # one row per true person, identity and follow-up
    reports: pd.DataFrame          # one row per source report: items as the facility sends them
    facilities: pd.DataFrame
    defects: pd.DataFrame          # one row per injected defect


@dataclass(frozen=True)
class Manifest:
    """What was written: files with their hashes and the registry's headline counts."""

    out: Path
    files: dict[str, str]          # relative path -> sha256
    counts: dict[str, int]


@cache
def _dictionary(version: str) -> Dictionary:
    """The base dictionary of a version (read once per process)."""
    return base_dictionary(version)


def _dates(values: pd.Series) -> np.ndarray:
    return date_text(values)


def report_items(rows: pd.DataFrame, facility_persons: pd.DataFrame, identity: pd.DataFrame,
                 tumors: pd.DataFrame, persons: pd.DataFrame, facilities: pd.DataFrame,
                 config: SampleConfig) -> pd.DataFrame:
    """Every source report as NAACCR items (text), with ``_``-prefixed bookkeeping columns."""
    tumor_items = [c for c in tumors.columns if c in _dictionary("250").items]
    t = tumors.iloc[rows["tumor_index"].to_numpy()].reset_index(drop=True)
    p = persons.set_index("person_id").loc[rows["person_id"].to_numpy()].reset_index()
    pair_index = facility_persons.reset_index().set_index(["facility_index", "person_id"])["index"]
    ident = identity.iloc[pair_index.loc[list(zip(rows["facility_index"], rows["person_id"], strict=True))]
                          .to_numpy()].reset_index(drop=True)
    facility_ids = np.append(facilities["facility_id"].to_numpy(dtype=object), VITAL_RECORDS_ID)
    serial = pd.Series(rows["patient_id_number"]).str[-6:].astype(int).to_numpy()
    frame = pd.DataFrame({
        "_report_id": rows["report_id"].to_numpy(),
        "_person_id": rows["person_id"].to_numpy(),
        "_tumor_index": rows["tumor_index"].to_numpy(),
        "_facility_index": rows["facility_index"].to_numpy(),
        "_duplicate": rows["duplicate"].to_numpy(bool),
        "_dco": t["dco"].to_numpy(bool),
        "_year": t["diagnosis_date"].dt.year.to_numpy(),
        "patientIdNumber": rows["patient_id_number"].to_numpy(),
        "nameLast": ident["nameLast"], "nameFirst": ident["nameFirst"], "nameMiddle": ident["nameMiddle"],
        "nameSuffix": ident["nameSuffix"], "nameBirthSurname": ident["nameBirthSurname"],
        "socialSecurityNumber": ident["socialSecurityNumber"], "dateOfBirth": ident["dateOfBirth"],
        "sex": p["sex"].astype(str).to_numpy(),
        "race1": p["race1"].to_numpy(), "spanishHispanicOrigin": p["spanish_hispanic_origin"].to_numpy(),
        "telephone": p["telephone"].to_numpy(),
        "vitalStatus": p["vital_status"].to_numpy(),
        "dateOfLastContact": _dates(p["date_of_last_contact"]),
        "causeOfDeath": p["cause_of_death"].to_numpy(),
        "icdRevisionNumber": np.where(p["vital_status"] == "0", "1", "0"),
        "tumorRecordNumber": rows["tumor_record_number"].to_numpy(),
        "reportingFacility": facility_ids[rows["facility_index"].to_numpy()],
        "medicalRecordNumber": np.where(rows["facility_index"] < 0, "",
                                        people.medical_record_number(rows["facility_index"].to_numpy(), serial)),
        "npiPhysicianManaging": people.managing_physician_npi(rows["facility_index"].to_numpy(),
                                                              rows["tumor_index"].to_numpy()),
        "dateOfDiagnosis": _dates(t["diagnosis_date"]),
        "ageAtDiagnosis": t["age"].map("{:03d}".format).to_numpy(),
        "addrAtDxNoStreet": p["addrAtDxNoStreet"].to_numpy(), "addrAtDxCity": p["addrAtDxCity"].to_numpy(),
        "addrAtDxState": config.state, "addrAtDxPostalCode": p["addrAtDxPostalCode"].to_numpy(),
        "countyAtDx": t["fips"].str[2:].to_numpy(), "addrAtDxCountry": "USA",
        "cancerStatus": t["cancer_status"].to_numpy(),
        "dateOfLastCancerStatus": _dates(t["cancer_status_date"]),
        "recurrenceType1st": t["recurrence_type"].to_numpy(),
        "recurrenceDate1st": _dates(t["recurrence_date"]),
    })
    for item in tumor_items:
        if item not in frame.columns:
            frame[item] = t[item].fillna("").astype(str).to_numpy()
    _treatment_date_flags(frame)
    # Every report carries the registry's follow-up as of the cut-off (the files are the facilities'
    # current records, not historical submissions).
    return frame


# Summary items saying whether a treatment was given, for the flag of its blank date (NAACCR v16+ date flags:
# 10 unknown whether given, 11 not given, 12 given on an unknown date): the codes meaning "not given" and
# "unknown whether given"; any other code means given.
_TREATMENT_SUMMARIES = {
    "rxDateSurgery": ("rxSummSurgPrimSite", {"00", "98"}, {"99"}),
    "rxDateMostDefinSurg": ("rxSummSurgPrimSite", {"00", "98"}, {"99"}),
    "rxDateRadiation": ("rxSummRadiation", {"0", "7"}, {"8", "9"}),
    "rxDateChemo": ("rxSummChemo", {"00", "82", "85", "86", "87"}, {"88", "99"}),
    "rxDateHormone": ("rxSummHormone", {"00", "82", "85", "86", "87"}, {"88", "99"}),
    "rxDateBrm": ("rxSummBrm", {"00", "82", "85", "86", "87"}, {"88", "99"}),
    "rxDateOther": ("rxSummOther", {"0", "7"}, {"8", "9"}),
}
_RADIATION_MODALITY = ("phase1RadiationTreatmentModality", {"00"}, {"99"})
_SYSTEMIC = ("rxDateChemo", "rxDateHormone", "rxDateBrm")


def _treatment_date_flags(frame: pd.DataFrame) -> None:
    """Add the date flag of every treatment date item the reports carry: blank when the date is known, else
    10, 11 or 12 from the treatment's summary item (systemic therapy from chemotherapy, hormone and BRM)."""
    flags: dict[str, np.ndarray] = {}
    for item, (summary, not_given, unknown) in _TREATMENT_SUMMARIES.items():
        if item not in frame.columns:
            continue
        if item == "rxDateRadiation" and _RADIATION_MODALITY[0] in frame.columns:
            modality = frame[_RADIATION_MODALITY[0]].to_numpy(dtype=object)
            summary_codes = frame[summary].to_numpy(dtype=object) if summary in frame.columns else modality
            codes = np.where(modality != "", modality, summary_codes)
            not_given, unknown = not_given | _RADIATION_MODALITY[1], unknown | _RADIATION_MODALITY[2]
        else:
            codes = frame[summary].to_numpy(dtype=object) if summary in frame.columns else \
                np.full(len(frame), "", dtype=object)
        flag = np.where(np.isin(codes, sorted(not_given)), "11",
                        np.where(np.isin(codes, sorted(unknown)) | (codes == ""), "10", "12"))
        flags[item] = np.where(frame[item].to_numpy(dtype=object) == "", flag, "").astype(object)
    if "rxDateSystemic" in frame.columns and all(item in flags for item in _SYSTEMIC):
        parts = np.stack([flags[item] for item in _SYSTEMIC])
        given = (parts == "12").any(axis=0) | np.stack([frame[item].to_numpy(dtype=object) != ""
                                                        for item in _SYSTEMIC]).any(axis=0)
        flag = np.where(given, "12", np.where((parts == "11").all(axis=0), "11", "10"))
        flags["rxDateSystemic"] = np.where(frame["rxDateSystemic"].to_numpy(dtype=object) == "", flag, "").astype(object)
    for item, values in flags.items():
        frame[f"{item}Flag"] = values


def _file_key(frame: pd.DataFrame, config: SampleConfig, facility_ids: np.ndarray) -> pd.Series:
    year = frame["_year"].to_numpy()
    facility = facility_ids[frame["_facility_index"].to_numpy()]
    version = np.where(year <= config.last_v25_year, "v25", "v26")
    xml = [f"naaccr/xml/{y}/{f}-{y}-{v}.xml" for y, f, v in zip(year, facility, version, strict=True)]
    flat = f"naaccr/flat/{config.state}-{config.first_year}-{config.last_flat_year}-v18.txt.gz"
    return pd.Series(np.where(year <= config.last_flat_year, flat, xml), index=frame.index)


def _split(frame: pd.DataFrame, version: str) -> tuple[list[str], list[str]]:
    dictionary = _dictionary(version)
    patient = [c for c in frame.columns if not c.startswith("_") and c in dictionary.items
               and dictionary.items[c].level == "Patient"]
    tumor = [c for c in frame.columns if not c.startswith("_") and c in dictionary.items
             and dictionary.items[c].level == "Tumor"]
    return patient, tumor


def _patients(frame: pd.DataFrame, patient_cols: list[str], tumor_cols: list[str]) -> Iterator[tuple[
        dict[str, str], list[dict[str, str]]]]:
    """Each patient's items (from its first report) and its tumors' items, in patient-number order.

    Blank values are left out, as the writers would skip them anyway.
    """
    frame = frame.sort_values(["patientIdNumber", "tumorRecordNumber"], kind="stable")
    patient_rows = frame[patient_cols].fillna("").astype(str).to_numpy(dtype=object)
    tumor_rows = frame[tumor_cols].fillna("").astype(str).to_numpy(dtype=object)
    numbers = frame["patientIdNumber"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]])
    ends = np.r_[starts[1:], len(numbers)]
    for start, end in zip(starts, ends, strict=True):
        patient = {name: value for name, value in zip(patient_cols, patient_rows[start], strict=True) if value}
        tumors = [{name: value for name, value in zip(tumor_cols, row, strict=True) if value}
                  for row in tumor_rows[start:end]]
        yield patient, tumors


def _write_xml(path: Path, frame: pd.DataFrame, version: str, config: SampleConfig) -> None:
    if version == "260":
        frame = frame.rename(columns={"sex": "sexAssignedAtBirth"})
    patient_cols, tumor_cols = _split(frame, version)
    registry_id = f"{STATE_FIPS[config.state]:0>10}"
    root = {"registryType": "1", "registryId": registry_id, "naaccrRecordVersion": version}
    generated = datetime(config.follow_up_cutoff.year + 1, 3, 1, 9, 0, 0)
    with NaaccrXmlWriter(path, dictionary=_dictionary(version), record_type=XML_RECORD_TYPE, root_items=root,
                         time_generated=generated) as writer:
        for patient, tumors in _patients(frame, patient_cols, tumor_cols):
            writer.write_patient(patient, tumors)


def _write_flat(path: Path, frame: pd.DataFrame) -> None:
    dictionary = _dictionary("180")
    frame = frame.rename(columns={"nameBirthSurname": "nameMaiden"})
    allowed = flat_item_ids(dictionary, FLAT_RECORD_TYPE)
    patient_cols, tumor_cols = _split(frame, "180")
    patient_cols = [c for c in patient_cols if c in allowed]
    tumor_cols = [c for c in tumor_cols if c in allowed]
    with NaaccrFlatWriter(path, dictionary=dictionary, record_type=FLAT_RECORD_TYPE, line_ending="\r\n") as writer:
        for patient, tumors in _patients(frame, patient_cols, tumor_cols):
            writer.write_patient(patient, tumors)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def write_all(registry: SampleRegistry, out: Path, progress: Progress | None = None) -> Manifest:
    """Write every file of the sample registry under ``out`` (replacing a previous sample there)."""
    say = progress or (lambda _message: None)
    config = registry.config
    for folder in ("naaccr", "population", "lifetable", "truth"):
        shutil.rmtree(out / folder, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    reports = registry.reports
    facility_ids = np.append(registry.facilities["facility_id"].to_numpy(dtype=object), VITAL_RECORDS_ID)
    reports = reports.assign(_file=_file_key(reports, config, facility_ids))
    files = sorted(reports["_file"].unique())
    say(f"writing {len(files)} NAACCR files")
    for name in files:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        group = reports[reports["_file"] == name]
        if name.endswith(".txt.gz"):
            _write_flat(path, group)
        else:
            _write_xml(path, group, "260" if name.endswith("-v26.xml") else "250", config)

    say("population, life table, truth")
    population = registry.population
    state = config.state.lower()
    pop_path = out / "population" / f"{state}.{config.first_year}_{config.last_year}.19ages.txt"
    pop_path.parent.mkdir(parents=True, exist_ok=True)
    write_seer_population(population_by_race(population, config.state), pop_path, state_abbr=config.state)
    table = out / "lifetable" / "us_life_table.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    with resources.as_file(resources.files("registry") / "data" / "us_life_table.csv") as source:
        shutil.copyfile(source, table)
    names = counties().set_index("fips")["county_name"]
    facilities = registry.facilities.assign(county_name=registry.facilities["fips"].map(names))
    facilities[["facility_id", "facility_name", "kind", "fips", "county_name"]].to_csv(
        out / "facilities.csv", index=False)
    _write_truth(registry, reports, out / "truth")

    written = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    hashes = {str(p.relative_to(out)): _sha256(p) for p in written}
    counts = {
        "tumors": len(registry.tumors), "persons": len(registry.persons), "reports": len(reports),
        "duplicate_reports": int(reports["_duplicate"].sum()), "dco_tumors": int(registry.tumors["dco"].sum()),
        "defects": len(registry.defects), "facilities": len(registry.facilities), "naaccr_files": len(files),
    }
    manifest = {
        "generator": "oncoregistry sample_data", "state": config.state, "seed": config.seed,
        "diagnosis_years": [config.first_year, config.last_year],
        "follow_up_cutoff": config.follow_up_cutoff.isoformat(),
        "population_scale": round(registry.population_scale, 6),
        "defect_rates": dict(config.defects.__dict__), "counts": counts, "files": hashes,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Manifest(out=out, files=hashes, counts=counts)


def _write_truth(registry: SampleRegistry, reports: pd.DataFrame, folder: Path) -> None:
    """Truth tables: reports -> person and tumor (and the date the registry received it), persons' true
    identities, tumors, injected defects."""
    folder.mkdir(parents=True, exist_ok=True)
    received = pd.to_datetime(reports["dateCaseReportReceived"], format="%Y%m%d")
    reports.assign(date_case_report_received=date_text(received, separator="-")).rename(
        columns={"_report_id": "report_id", "_file": "file", "_person_id": "person_id",
                 "_tumor_index": "tumor_index", "_duplicate": "duplicate_report", "_dco": "death_certificate_only"})[
        ["report_id", "file", "patientIdNumber", "tumorRecordNumber", "reportingFacility", "person_id",
         "tumor_index", "duplicate_report", "death_certificate_only", "date_case_report_received"]].to_csv(
            folder / "reports.csv", index=False)
    persons = registry.persons.copy()
    for column in ("birth_date", "date_of_last_contact"):
        persons[column] = date_text(persons[column], separator="-")
    persons.to_csv(folder / "persons.csv", index=False)
    tumors = registry.tumors[["person_id", "fips", "sex", "age", "diagnosis_date", "site_key", "stage_group",
                              "in_situ_extra", "dco", "recurrence_type", "recurrence_date"]].copy()
    tumors.insert(0, "tumor_index", np.arange(len(tumors)))
    for column in ("diagnosis_date", "recurrence_date"):
        tumors[column] = date_text(tumors[column], separator="-")
    tumors.to_csv(folder / "tumors.csv", index=False)
    registry.defects.to_csv(folder / "defects.csv", index=False)
