"""Governed cohort export: a cohort's registry tumors with chosen NAACCR items, de-identified by the policy,
in one ZIP with a data dictionary and a manifest.

`export_cohort(principal, db_path, ops, definition=, selection=, variables=, file_format=, destination=)`:
- Safe Harbor (default, `cohort-export-deidentified`): every caller, registrars included, receives the
  researcher's view (`privacy.as_released`): dates as years, ages as 5-year groups (90+), ZIP3 (000 for
  the restricted ones), no county, city or identifier; then k-anonymity over the quasi-identifiers
  exported (`registry.k_anonymity`; k is the administrator's setting, 11 by default, or more).
- Limited data set (`kind="limited_data_set"`, `cohort-export-limited-data-set`: registrars, researchers
  with the `lds` grant): dates at their recorded precision, exact ages, county, ZIP5; never names, numbers or
  street (`privacy.as_limited_data_set`); always an approved request (`registry.export_requests`).
- A Safe Harbor export of more tumors than the administrator's row limit is a request too. A request is
  answered by an administrator; the same call, once approved, exports (once, on the same data vintage).
Rows carry no registry id: `exportRow` numbers the rows in a random order and `exportPerson` is a random
number per person, new at every export, so one person's tumors can be grouped. Administrators cannot
export records. Every export, and every refusal, is audited with the definition, the row count, the
variables and the SHA-256 of every file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from registry.access import (
    COHORT_EXPORT_DEIDENTIFIED,
    COHORT_EXPORT_LIMITED_DATA_SET,
    READ_UNSUPPRESSED,
    allowed,
    require_audited,
)
from registry.audit import record_event
from registry.cohort import data_vintage
from registry.errors import InvalidRequest
from registry.export_requests import (
    FORMATS,
    KINDS,
    LIMITED_DATA_SET,
    SAFE_HARBOR,
    ExportRequest,
    approved_or_requested,
    export_settings,
    mark_exported,
)
from registry.export_variables import (
    TREATMENT,
    TUMOR_ITEM,
    ExportVariable,
    chosen_variables,
    code_labels,
    topography_groups,
)
from registry.k_anonymity import AGE, RACE, SEX, SITE, YEAR, ZIP3, KAnonymity, age_group, k_anonymise
from registry.operational import OperationalStore, timestamp
from registry.principal import Principal
from registry.privacy import apply_policy, as_limited_data_set, as_released, classify, columns_allowed
from registry.store import owner_only_files, read_connection
from registry.suppression import DEFAULT_THRESHOLD
from registry.xlsx_sheet import MAX_ROWS as XLSX_MAX_ROWS
from registry.xlsx_sheet import workbook_bytes

ROW, PERSON = "exportRow", "exportPerson"
DATA_FILES = {"csv": "cohort.csv", "parquet": "cohort.parquet", "xlsx": "cohort.xlsx"}
DICTIONARY_FILE, MANIFEST_FILE = "data_dictionary.csv", "manifest.json"
EXPORT_ACTION = "cohort-export"
POLICY_NAMES = {SAFE_HARBOR: "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
                LIMITED_DATA_SET: "limited data set, 45 CFR 164.514(e)"}
# The exported item that carries each quasi-identifier of k-anonymity.
QUASI_IDENTIFIER_ITEMS = {AGE: "ageAtDiagnosis", SEX: "sex", RACE: "race1", ZIP3: "addrAtDxPostalCode",
                          YEAR: "dateOfDiagnosis", SITE: "primarySite"}
_TUMOR, _PATIENT = "__tumor", "__patient"
_DATE_FORMATS = {"Y": "%Y", "M": "%Y-%m", "D": "%Y-%m-%d"}


@dataclass(frozen=True)
class ExportResult:
    """An export written (`status` "exported": the ZIP at `path`, the extract as written in `data`), or a
    request waiting for an administrator (`status` "pending", nothing written)."""

    status: str
    request: ExportRequest | None
    path: Path | None = None
    data: pd.DataFrame | None = None
    dictionary: pd.DataFrame | None = None
    manifest: dict[str, Any] | None = None

    @property
    def rows(self) -> int:
        """Rows exported (0 when pending)."""
        return 0 if self.data is None else len(self.data)


def export_cohort(principal: Principal, db_path: Path, ops: OperationalStore, *, definition: Mapping[str, Any],
                  selection: pd.DataFrame, variables: Sequence[str], file_format: str, destination: Path,
                  k: int | None = None, kind: str = SAFE_HARBOR) -> ExportResult:
    """Export the cohort `selection` (tumor_id, patient_id of registry tumors, chosen by `definition`) with
    `variables` (NAACCR ids) as `file_format` (csv, parquet or xlsx) in the ZIP `destination` (see module)."""
    if kind not in KINDS:
        raise InvalidRequest(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    require_audited(principal, COHORT_EXPORT_LIMITED_DATA_SET if kind == LIMITED_DATA_SET
                    else COHORT_EXPORT_DEIDENTIFIED, ops, definition=dict(definition), variables=list(variables))
    if file_format not in FORMATS:
        raise InvalidRequest(f"format {file_format!r}: expected one of {', '.join(FORMATS)}")
    chosen = chosen_variables(list(variables))
    released_as = as_limited_data_set(principal) if kind == LIMITED_DATA_SET else as_released(principal)
    _check_released(chosen, released_as, kind)
    settings = export_settings(ops)
    if kind == SAFE_HARBOR:
        k = settings.k if k is None else k
        if k < settings.k:
            raise InvalidRequest(f"k = {k}: the registry's k-anonymity is at least {settings.k}")
    elif k is not None:
        raise InvalidRequest(f"k = {k}: k-anonymity applies to Safe Harbor exports; a limited data set is released "
                             "under its data use agreement")
    tumors = _selected_tumors(selection)
    vintage = data_vintage(db_path)
    request = None
    if kind == LIMITED_DATA_SET or len(tumors) > settings.row_limit:
        request = approved_or_requested(ops, principal, definition=definition, variables=list(variables),
                                        file_format=file_format, kind=kind, k=k, row_count=len(tumors),
                                        vintage=vintage)
        if request.status != "approved":
            return ExportResult("pending", request)
    raw, precision = _read(db_path, tumors, chosen)
    data, applied, anonymity = _release(released_as, raw, precision, chosen, kind, k)
    _check_size(principal, kind, data)
    dictionary = data_dictionary(data, chosen, applied)
    files = {DATA_FILES[file_format]: _data_bytes(data, file_format), DICTIONARY_FILE: _csv_bytes(dictionary)}
    manifest = {
        "created_at": timestamp(ops.now()), "exported_by": principal.user, "definition": dict(definition),
        "data_vintage": vintage, "kind": kind, "policy": POLICY_NAMES[kind], "format": file_format,
        "variables": list(variables), "columns": list(data.columns), "tumors_selected": len(tumors),
        "rows": len(data), "persons": int(data[PERSON].nunique()),
        "deidentification": dict(zip(dictionary["column"], dictionary["deidentification"], strict=True)),
        "k_anonymity": anonymity.summary() if anonymity is not None else
        {"applied": False, "why": "a limited data set is released under a data use agreement"},
        "request": None if request is None else {"id": request.id, "dua_reference": request.dua_reference,
                                                  "approved_by": request.decided_by},
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
    }
    files[MANIFEST_FILE] = json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode("utf-8")
    _write_zip(principal, ops, destination, files, manifest, request)
    return ExportResult("exported", request, destination, data, dictionary, manifest)


def _check_size(principal: Principal, kind: str, data: pd.DataFrame) -> None:
    """InvalidRequest when a Safe Harbor extract for a non-registrar would hold 1-15 rows or persons: its size
    is a count like any other, withheld at 1-15 (without saying which), so the file is not written."""
    if kind != SAFE_HARBOR or allowed(principal, READ_UNSUPPRESSED):
        return
    if any(1 <= n < DEFAULT_THRESHOLD for n in (len(data), int(data[PERSON].nunique()))):
        raise InvalidRequest(f"the cohort leaves 1-{DEFAULT_THRESHOLD - 1} records after de-identification; a "
                             f"de-identified export needs at least {DEFAULT_THRESHOLD} persons (widen the cohort, "
                             "or ask for a limited data set under a data use agreement)")


def _check_released(chosen: list[ExportVariable], released_as: Principal, kind: str) -> None:
    """InvalidRequest naming the variables this kind of export does not release (county under Safe Harbor)."""
    names = [v.naaccr_id for v in chosen]
    dropped = [n for n in names if n not in columns_allowed(released_as, names)]
    dropped += [v.naaccr_id for v in chosen if v.lds_only and kind != LIMITED_DATA_SET and v.naaccr_id not in dropped]
    if dropped:
        raise InvalidRequest(f"variables: {', '.join(dropped)} {'is' if len(dropped) == 1 else 'are'} released "
                             "only in a limited data set (kind limited_data_set, with the lds grant and an "
                             "approved request)")


def _selected_tumors(selection: pd.DataFrame) -> pd.DataFrame:
    """The selection's tumor ids, each once; InvalidRequest when the column is missing or not ids."""
    if "tumor_id" not in selection.columns:
        raise InvalidRequest("selection: a tumor_id column (registry tumor ids) is required")
    ids = pd.to_numeric(selection["tumor_id"], errors="coerce")
    if ids.isna().any():
        raise InvalidRequest("selection: tumor_id holds values that are not registry tumor ids")
    return pd.DataFrame({"tumor_id": ids.astype("int64").drop_duplicates().to_numpy()})


def _read(db_path: Path, tumors: pd.DataFrame, chosen: list[ExportVariable]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chosen items of the selected registry tumors (dates as dates) and each date's precision letter."""
    select = [f"t.tumor_id AS {_TUMOR}", f"t.patient_id AS {_PATIENT}"]
    joins: list[str] = []
    params: list[Any] = []
    treatment = [(i, v) for i, v in enumerate(chosen) if v.source == TREATMENT]
    items = [(i, v) for i, v in enumerate(chosen) if v.source == TUMOR_ITEM]
    for i, v in enumerate(chosen):
        if v.source in ("tumor", "patient"):
            table = "t" if v.source == "tumor" else "p"
            select.append(f"{table}.{v.column} AS v{i}")
            if v.data_type == "date":
                select.append(f"{table}.{v.column}_precision AS p{i}")
        else:
            select.append(f"{'x' if v.source == TREATMENT else 'i'}.v{i} AS v{i}")
            if v.data_type == "date":
                select.append(f"x.p{i} AS p{i}")
    if treatment:
        parts = []
        for i, v in treatment:
            if v.data_type == "date":
                parts += [f"max(start_date) FILTER (WHERE modality = ?) AS v{i}",
                          f"max(start_date_precision) FILTER (WHERE modality = ?) AS p{i}"]
                params += [v.column, v.column]
            else:
                parts.append(f"max(code) FILTER (WHERE modality = ? AND code_item = ?) AS v{i}")
                params += [v.column, v.naaccr_id]
        joins.append(f"LEFT JOIN (SELECT tumor_id, {', '.join(parts)} FROM registry_treatment "
                     "WHERE tumor_id IN (SELECT tumor_id FROM selection) GROUP BY tumor_id) x USING (tumor_id)")
    if items:
        parts = [f"max(value) FILTER (WHERE naaccr_id = ?) AS v{i}" for i, _ in items]
        params += [v.naaccr_id for _, v in items]
        joins.append(f"LEFT JOIN (SELECT tumor_id, {', '.join(parts)} FROM registry_tumor_item "
                     "WHERE tumor_id IN (SELECT tumor_id FROM selection) GROUP BY tumor_id) i USING (tumor_id)")
    sql = (f"SELECT {', '.join(select)} FROM selection s JOIN registry_tumor t USING (tumor_id) "
           f"JOIN registry_patient p ON p.patient_id = t.patient_id {' '.join(joins)} ORDER BY t.tumor_id")
    with read_connection(db_path) as con:
        con.register("selection", tumors)
        found = con.execute(sql, params).df()
    if len(found) != len(tumors):
        missing = sorted(set(tumors["tumor_id"]) - set(found[_TUMOR]))
        raise InvalidRequest(f"selection: {len(missing):,} tumor ids are not registry tumors (first: {missing[0]})")
    frame = pd.DataFrame({_TUMOR: found[_TUMOR], _PATIENT: found[_PATIENT]})
    precision = pd.DataFrame(index=found.index)
    for i, v in enumerate(chosen):
        frame[v.naaccr_id] = pd.to_datetime(found[f"v{i}"]) if v.data_type == "date" else found[f"v{i}"]
        if v.data_type == "date":
            precision[v.naaccr_id] = found[f"p{i}"]
    return frame, precision


def _text(values: pd.Series) -> pd.Series:
    """Values as nullable text (NAACCR items are text; years and ages as their digits)."""
    return values.astype("string")


def _release(released_as: Principal, raw: pd.DataFrame, precision: pd.DataFrame, chosen: list[ExportVariable],
             kind: str, k: int | None) -> tuple[pd.DataFrame, dict[str, str], KAnonymity | None]:
    """The extract as released: policy, Safe Harbor groupings, k-anonymity, pseudonyms in random order; and
    what was done to each column."""
    names = [v.naaccr_id for v in chosen]
    policy = apply_policy(released_as, raw[names], kind="record")
    done: dict[str, str] = {}
    out = pd.DataFrame({_TUMOR: raw[_TUMOR], _PATIENT: raw[_PATIENT]})
    for name in names:
        cls = classify(name)
        if kind == LIMITED_DATA_SET:
            if cls == "date":
                out[name] = _dated(policy[name], precision[name])
                done[name] = "full date at its recorded precision (limited data set)"
            else:
                out[name] = _text(policy[name])
                done[name] = {"age": "exact age in years (limited data set)",
                              "zip": "5-digit ZIP code (limited data set)",
                              "substate": "county code (limited data set)"}.get(str(cls), "as coded")
            continue
        if cls == "date":
            done[name] = "year only (Safe Harbor)"
        elif cls == "age":
            policy[name] = _mapped(policy[name], age_group)
            done[name] = "5-year age group, 90 and over as 90+ (Safe Harbor)"
        elif cls == "zip":
            done[name] = "first 3 digits, 000 for the restricted ZIP3s HHS lists (Safe Harbor)"
        elif name == QUASI_IDENTIFIER_ITEMS[SITE]:
            policy[name] = policy[name].map(lambda v: v[:3] if isinstance(v, str) else v)
            done[name] = "3-character ICD-O-3 topography"
        else:
            done[name] = "as coded"
        out[name] = _text(policy[name])
    anonymity = None
    if kind == SAFE_HARBOR and k is not None:
        quasi = {qi: item for qi, item in QUASI_IDENTIFIER_ITEMS.items() if item in names}
        anonymity = k_anonymise(out, quasi, person=_PATIENT, k=k)
        out = anonymity.frame
        for step in anonymity.steps:
            done[step["column"]] += f"; k-anonymity: {step['step']} in {step['rows']:,} rows"
        for item in quasi.values():
            done[item] += f"; quasi-identifier of k-anonymity (k = {k})"
    return _pseudonymised(out, names), done, anonymity


def _mapped(values: pd.Series, function: Any) -> pd.Series:
    """`function` of every value, computed once per distinct value."""
    return values.map({value: function(value) for value in values.dropna().unique()})


def _dated(values: pd.Series, precision: pd.Series) -> pd.Series:
    """Dates as ISO text cut to their precision (2019, 2019-03, 2019-03-15)."""
    stamps = pd.to_datetime(values)
    texts = [None if pd.isna(when) else when.strftime(_DATE_FORMATS.get(str(p), "%Y-%m-%d"))
             for when, p in zip(stamps, precision, strict=True)]
    return pd.Series(texts, index=values.index, dtype="string")


def _pseudonymised(out: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Registry ids replaced by a random row order and random person numbers, new at every export."""
    rng = np.random.default_rng()
    persons = out[_PATIENT].unique()
    person_number = pd.Series(rng.permutation(len(persons)) + 1, index=persons)
    released = pd.DataFrame({ROW: rng.permutation(len(out)) + 1,
                             PERSON: out[_PATIENT].map(person_number).to_numpy()}, index=out.index)
    released = pd.concat([released, out[names].astype("string")], axis=1).sort_values(ROW).reset_index(drop=True)
    return released.astype({ROW: "int64", PERSON: "int64"})


def data_dictionary(data: pd.DataFrame, chosen: list[ExportVariable], done: Mapping[str, str]) -> pd.DataFrame:
    """One row per column of the extract: NAACCR item number and id, name, meaning, de-identification and
    the code labels of its code list (all of a short list; of the codes present for site and histology)."""
    labels = code_labels()
    groups = {first if first == last else f"{first}-{last}": label for first, last, label in topography_groups()}
    rows: list[dict[str, Any]] = [
        {"column": ROW, "naaccr_item_number": None, "naaccr_id": None, "name": "Row number",
         "meaning": "numbers the rows of this extract in a random order; not a registry id",
         "data_type": "number", "deidentification": "pseudonym", "code_labels": ""},
        {"column": PERSON, "naaccr_item_number": None, "naaccr_id": None, "name": "Person",
         "meaning": "the same number for one person's tumors in this extract only; drawn at random at every export",
         "data_type": "number", "deidentification": "pseudonym", "code_labels": ""}]
    for v in chosen:
        codes = labels.get(v.naaccr_id, {})
        present = sorted(str(value) for value in data[v.naaccr_id].dropna().unique())
        if v.naaccr_id == "primarySite":
            shown = {code: groups.get(code) or codes.get(code) or codes.get(f"{code}9") or
                     next((label for c, label in codes.items() if c.startswith(code)), "") for code in present}
        elif len(codes) > 100:
            shown = {code: codes[code] for code in present if code in codes}
        else:
            shown = codes
        rows.append({"column": v.naaccr_id, "naaccr_item_number": v.naaccr_num, "naaccr_id": v.naaccr_id,
                     "name": v.name, "meaning": v.meaning, "data_type": v.data_type,
                     "deidentification": done[v.naaccr_id],
                     "code_labels": "; ".join(f"{code}={label}" for code, label in shown.items())})
    return pd.DataFrame(rows).astype({"naaccr_item_number": "Int64"})


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _data_bytes(data: pd.DataFrame, file_format: str) -> bytes:
    """The extract as one file of `file_format`: every item as text, the row and person numbers as integers."""
    if file_format == "csv":
        return _csv_bytes(data)
    buffer = io.BytesIO()
    if file_format == "parquet":
        data.to_parquet(buffer, index=False, engine="pyarrow")
        return buffer.getvalue()
    if len(data) + 1 > XLSX_MAX_ROWS:
        raise InvalidRequest(f"format xlsx: {len(data):,} rows do not fit an Excel sheet; choose csv or parquet")
    return workbook_bytes(data, sheet="cohort")


def _write_zip(principal: Principal, ops: OperationalStore, destination: Path, files: dict[str, bytes],
               manifest: dict[str, Any], request: ExportRequest | None) -> None:
    """Write the ZIP owner-only beside `destination`, use the approved request, audit the export, then move
    the ZIP in place: no file is released unaudited, and an approval is used once."""
    destination = Path(destination)
    if destination.is_dir():
        raise InvalidRequest(f"{destination}: a folder; give the name of the ZIP file to write")
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        with owner_only_files():
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, content in files.items():   # parquet and xlsx are compressed already
                    archive.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED
                                     if name.endswith((".csv", ".json")) else zipfile.ZIP_STORED)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidRequest(f"{destination}: cannot write the export: {exc.strerror or exc}") from exc
    try:
        if request is not None and not mark_exported(ops, request.id):
            raise InvalidRequest(f"export request {request.id} has been used already: request the export again")
        record_event(ops, principal, EXPORT_ACTION, definition=manifest["definition"], rows=manifest["rows"],
                     persons=manifest["persons"], variables=manifest["variables"], kind=manifest["kind"],
                     format=manifest["format"], data_vintage=manifest["data_vintage"],
                     k_anonymity=manifest["k_anonymity"], request=None if request is None else request.id,
                     file=str(destination), files={**manifest["files"], MANIFEST_FILE: hashlib.sha256(
                         files[MANIFEST_FILE]).hexdigest(), destination.name: _sha256(partial)})
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
