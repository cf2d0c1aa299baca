"""Find a patient: the registry patients a person's identifying items may belong to, best first.

The registry specialist's first rule: look a person up before creating a record. The items typed in are
made into an identity row exactly as a report's would be (the same extraction runs on them), and that row
is scored against every source patient record by the registry's own linkage model, with the term
frequencies of the whole registry, its prior being the chance that the person is a given registry patient
(`_with_search_prior`). Candidates come from lenient look-ups on each item given (last name's
sound, first name, birth date or its digits, SSN, medical record number), so a typo in one item still
finds the person through another. Each registry patient appears once, with its best-scoring report.
Registrars only; every search is audited with the items used (not their values) and the patients shown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker

from registry.access import FIND_PATIENT, require
from registry.audit import record_event
from registry.errors import InvalidRequest
from registry.linkage.identity import extract
from registry.linkage.model import UNIQUE_ID, LinkageModel, model_frame, register, splink_api, stored_model
from registry.linkage.scoring import tf_columns
from registry.linkage_store import current_model
from registry.operational import OperationalStore
from registry.principal import Principal
from registry.store import read_connection

QUERY_ID = -1   # the identity row of the search itself
# Look-ups that make a record a candidate (any one suffices); the model then scores every candidate.
CANDIDATE_RULES = ("l.name_last_nysiis = r.name_last_nysiis", "l.dob = r.dob", "l.dob_digit_set = r.dob_digit_set",
                   "l.ssn = r.ssn", "l.name_first_canonical = r.name_first_canonical and l.dob_year = r.dob_year",
                   "l.medical_record_number = r.medical_record_number")
LOWEST_WEIGHT = -40.0
SEARCH_IN_REGISTRY = 0.5   # prior chance that the person looked up is already registered   # every candidate is scored and shown; the probability says how likely each is


@dataclass(frozen=True)
class PatientCandidate:
    """A registry patient who may be the person searched for, with the best score of their reports."""

    registry_patient_id: int
    match_weight: float
    match_probability: float
    name: str
    date_of_birth: str
    sex: str | None
    ssn_last4: str | None
    reports: int
    tumors: int
    facilities: tuple[str, ...]


def _birth_date(text: str) -> str:
    """YYYYMMDD from YYYY-MM-DD, YYYYMMDD, MM/DD/YYYY, or YYYY / YYYYMM for a partial date."""
    value = text.strip()
    if match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value):
        value = f"{match[3]}{int(match[1]):02d}{int(match[2]):02d}"
    digits = value.replace("-", "")
    if not re.fullmatch(r"\d{4}(\d{2}(\d{2})?)?", digits):
        raise InvalidRequest(f"date_of_birth: {text!r} is not a date (use YYYY-MM-DD, or YYYY for the year only)")
    try:
        date(int(digits[:4]), int(digits[4:6] or 1), int(digits[6:8] or 1))
    except ValueError as exc:
        raise InvalidRequest(f"date_of_birth: {text!r} is not a date ({exc})") from exc
    return digits


def _query_items(last_name: str | None, first_name: str | None, date_of_birth: str | None, ssn: str | None,
                 mrn: str | None, sex: str | None) -> dict[str, str]:
    """NAACCR items of the search, validated; InvalidRequest names the field at fault."""
    items: dict[str, str] = {}
    for naaccr_id, value in (("nameLast", last_name), ("nameFirst", first_name), ("medicalRecordNumber", mrn)):
        if value and value.strip():
            items[naaccr_id] = value.strip()
    if date_of_birth and date_of_birth.strip():
        items["dateOfBirth"] = _birth_date(date_of_birth)
    if ssn and ssn.strip():
        digits = re.sub(r"[\s-]", "", ssn)
        if not re.fullmatch(r"\d{9}", digits):
            raise InvalidRequest(f"ssn: {ssn!r} is not a social security number (9 digits)")
        items["socialSecurityNumber"] = digits
    if sex and sex.strip():
        if sex not in ("1", "2", "3", "4", "5", "6", "9"):
            raise InvalidRequest(f"sex: {sex!r} is not a NAACCR sex code (1 male, 2 female, ...)")
        items["sex"] = sex
    if not set(items) - {"sex"}:
        raise InvalidRequest("give at least one of last name, first name, birth date, SSN or medical record number")
    return items


def _query_identity(items: dict[str, str]) -> pa.Table:
    """The search as an identity row, made by the same extraction a report goes through (the search is
    shown to it as a one-report store of arrow tables on a private in-memory database)."""
    levels = [2 if naaccr_id == "medicalRecordNumber" else 1 for naaccr_id in items]
    tables = {
        "source_item": pa.table({"batch_id": pa.array([0] * len(items), pa.int32()),
                                 "level": pa.array(levels, pa.uint8()),
                                 "entity_seq": pa.array([1] * len(items), pa.int32()),
                                 "naaccr_id": pa.array(list(items), pa.string()),
                                 "value": pa.array(list(items.values()), pa.string())}),
        "source_tumor": pa.table({"batch_id": pa.array([0], pa.int32()), "tumor_seq": pa.array([1], pa.int32()),
                                  "patient_seq": pa.array([1], pa.int32())}),
        "patient": pa.table({"patient_id": pa.array([QUERY_ID], pa.int64()), "batch_id": pa.array([0], pa.int32()),
                             "patient_seq": pa.array([1], pa.int32()),
                             "patient_id_number": pa.array([None], pa.string()),
                             "sex": pa.array([items.get("sex")], pa.string())}),
        "tumor": pa.table({"tumor_id": pa.array([QUERY_ID], pa.int64()), "patient_id": pa.array([QUERY_ID], pa.int64()),
                           "batch_id": pa.array([0], pa.int32()),
                           "reporting_facility": pa.array([None], pa.string()),
                           "addr_at_dx_postal_code": pa.array([None], pa.string()),
                           "county_fips": pa.array([None], pa.string())}),
    }
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return extract(con, accept_ssn_area_9xx=True)
    finally:
        con.close()


def _score(identities: pa.Table, query: pa.Table, model: LinkageModel) -> pd.DataFrame:
    """Every record a candidate rule finds, scored against the search (term frequencies of all records)."""
    settings: dict[str, Any] = model.settings()
    settings["link_type"] = "dedupe_only"
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in CANDIDATE_RULES]
    with splink_api() as api:
        frame = model_frame(identities).append_column("medical_record_number", identities["medical_record_number"])
        query_frame = model_frame(query).append_column("medical_record_number", query["medical_record_number"])
        everyone = register(api, pa.concat_tables([frame, query_frame.cast(frame.schema)]), "find_all")
        linker = Linker(everyone, settings, log_level=None)
        for column in tf_columns(settings):
            linker.table_management.compute_tf_table(column)
        old = register(api, frame, "find_records")
        new = register(api, query_frame.cast(frame.schema), "find_query")
        scored = linker.inference.predict_between(old, new, threshold_match_weight=LOWEST_WEIGHT,
                                                  warning_mode="never").as_pandas_dataframe()
    if scored.empty:
        return pd.DataFrame(columns=[UNIQUE_ID, "match_weight", "match_probability"])
    other = scored[f"{UNIQUE_ID}_l"].where(scored[f"{UNIQUE_ID}_l"] != QUERY_ID, scored[f"{UNIQUE_ID}_r"])
    return pd.DataFrame({UNIQUE_ID: other.astype("int64"), "match_weight": scored["match_weight"],
                         "match_probability": scored["match_probability"]})


def _with_search_prior(scored: pd.DataFrame, model: LinkageModel, registry_patients: int) -> pd.DataFrame:
    """Scores of a search, not of a pair of reports: the model's prior (the chance that two reports of the
    registry are one person) is replaced by the chance that the person searched for is a given registry
    patient, SEARCH_IN_REGISTRY spread evenly over the registry's patients. So in a small registry a name and
    birth date that agree are near certain, in a large one the same evidence weighs less."""
    if scored.empty:
        return scored
    pair_prior = float(model.settings()["probability_two_random_records_match"])
    search_prior = SEARCH_IN_REGISTRY / max(registry_patients, 1)
    shift = math.log2(search_prior / (1 - search_prior)) - math.log2(pair_prior / (1 - pair_prior))
    weight = scored["match_weight"].astype(float) + shift
    return scored.assign(match_weight=weight, match_probability=1.0 / (1.0 + 2.0 ** (-weight)))


def _details(con: duckdb.DuckDBPyConnection, registry_ids: list[int]) -> pd.DataFrame:
    return con.execute("""
        SELECT p.patient_id AS registry_patient_id, p.sex, p.reports,
               (SELECT count(*) FROM registry_tumor t WHERE t.patient_id = p.patient_id) AS tumors,
               (SELECT list(DISTINCT t.reporting_facility ORDER BY t.reporting_facility) FROM tumor t
                JOIN patient_link l ON l.source_patient_id = t.patient_id
                WHERE l.registry_patient_id = p.patient_id AND t.reporting_facility IS NOT NULL) AS facilities
        FROM registry_patient p WHERE p.patient_id IN (SELECT unnest(?))""", [registry_ids]).df()


def find_patient(principal: Principal, db_path: Path, ops: OperationalStore, *, last_name: str | None = None,
                 first_name: str | None = None, date_of_birth: str | None = None, ssn: str | None = None,
                 mrn: str | None = None, sex: str | None = None, limit: int = 10) -> list[PatientCandidate]:
    """Registry patients who may be the person described, best first (registrars; audited)."""
    require(principal, FIND_PATIENT)
    items = _query_items(last_name, first_name, date_of_birth, ssn, mrn, sex)
    query = _query_identity(items)
    with read_connection(db_path) as con:
        identities = extract(con, accept_ssn_area_9xx=True)
        model = stored_model(current_model(con), identities.num_rows)
        links = con.execute("SELECT source_patient_id, registry_patient_id FROM patient_link").df()
        scored = _score(identities, query, model) if identities.num_rows else pd.DataFrame(
            columns=[UNIQUE_ID, "match_weight", "match_probability"])
        scored = _with_search_prior(scored.merge(links, on=UNIQUE_ID, how="inner"), model,
                                    int(links["registry_patient_id"].nunique()))
        best = scored.sort_values(["match_weight", UNIQUE_ID], ascending=[False, True]).drop_duplicates(
            "registry_patient_id").head(limit)
        details = _details(con, [int(i) for i in best["registry_patient_id"]]).set_index("registry_patient_id")
    rows = identities.filter(pc.is_in(identities[UNIQUE_ID], pa.array(best[UNIQUE_ID].astype("int64").tolist(),
                                                                     pa.int64()))).to_pandas().set_index(UNIQUE_ID)
    candidates = [_candidate(int(registry_id), float(weight), float(probability), rows.loc[int(source_id)].to_dict(),
                             details.loc[int(registry_id)].to_dict())
                  for source_id, registry_id, weight, probability in zip(
                      best[UNIQUE_ID], best["registry_patient_id"], best["match_weight"], best["match_probability"],
                      strict=True)]
    record_event(ops, principal, "find-patient", searched=sorted(items),
                 candidates=[c.registry_patient_id for c in candidates])
    return candidates


def _candidate(registry_id: int, weight: float, probability: float, identity: dict[Any, Any],
               details: dict[Any, Any]) -> PatientCandidate:
    """A candidate for display: the name and birth date of its best report, the registry patient's counts."""
    name = ", ".join(part for part in (identity["name_last"], " ".join(
        p for p in (identity["name_first"], identity["name_middle"]) if isinstance(p, str))) if isinstance(part, str)
        and part)
    born = "-".join(p for p in (identity["dob_year"], identity["dob_month"], identity["dob_day"]) if isinstance(p, str))
    ssn = identity["ssn"]
    facilities = details["facilities"]
    return PatientCandidate(registry_id, weight, probability, name, born,
                            details["sex"] if isinstance(details["sex"], str) else None,
                            ssn[-4:] if isinstance(ssn, str) else None, int(details["reports"]), int(details["tumors"]),
                            tuple(facilities) if facilities is not None else ())
