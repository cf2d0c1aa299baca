"""The release policy: which columns each role may receive, how they are generalised, and what is audited.

- registrar: everything, identified; `as_released(principal)` gives the researcher view to preview.
- researcher: records de-identified by HIPAA Safe Harbor (45 CFR 164.514(b)(2)): identifiers dropped,
  dates reduced to the year, ages 90 and over grouped as "90+", ZIP reduced to its first 3 digits ("000"
  for the restricted ZIP3s), county and city dropped. With the `lds` grant, a limited data set
  (45 CFR 164.514(e)): dates, exact ages, county, city and ZIP5 kept, direct identifiers still dropped.
  Aggregates: the same generalisation (county kept as a dimension), then small-cell suppression.
- administrator: aggregates only (suppressed); record-level data raises AccessDenied. Operational
  listings (ingest batches: file names carry the facility and year) keep every file and its status, but
  a file's record counts of 1-15 are withheld (`release_row_counts`), as any other count of 1-15 is.

Columns are classified by name (NAACCR camelCase ids are read as snake_case): the explicit lists below
plus name patterns, so a new `rx_date_chemo` or `nameAlias` column is caught without a list change.
A column the policy does not recognise is passed through: new identifying columns must be added here.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any, Literal

import pandas as pd

from registry.access import (
    READ_AGGREGATES,
    READ_DEIDENTIFIED,
    READ_IDENTIFIED,
    READ_LIMITED_DATA_SET,
    READ_UNSUPPRESSED,
    allowed,
    require,
)
from registry.audit import AuditEvent, record_event
from registry.cohort import STRATA
from registry.operational import OperationalStore
from registry.principal import LDS, RESEARCHER, Principal
from registry.suppression import (
    COMPLEMENTARY,
    DEFAULT_THRESHOLD,
    REASON,
    SUPPRESSED,
    primary_reason,
    suppress,
)

__all__ = ["IDENTIFIER_COLUMNS", "LIMITED_DATA_SET_COLUMNS",
           "RESTRICTED_ZIP3", "apply_policy", "as_limited_data_set", "as_released", "audited", "classify",
           "columns_allowed", "release_row_counts", "release_total"]

Kind = Literal["record", "aggregate"]




# Direct identifiers: never released outside the registrar role, not even in a limited data set.
DIRECT_IDENTIFIER_COLUMNS: frozenset[str] = frozenset({
    "name_last", "name_first", "name_middle", "name_maiden", "name_alias", "name_suffix", "name_prefix",
    "name_birth_surname", "name_spouse_parent", "name_physician_managing", "name_physician_follow_up",
    "social_security_number", "ssn", "medical_record_number", "accession_number_hosp",
    "medicare_beneficiary_identifier", "military_record_no_suffix",
    "addr_at_dx_no_street", "addr_at_dx_supplementl", "addr_current_no_street", "addr_current_supplementl",
    "street_address", "telephone", "phone", "email", "fax",
    "patient_id", "tumor_id", "patient_id_number", "tumor_record_number", "raw_record",
})
# Dates (birth, diagnosis, last contact, treatment, recurrence, death ...): year only under Safe Harbor.
DATE_COLUMNS: frozenset[str] = frozenset({
    "date_of_birth", "date_of_diagnosis", "date_of_last_contact", "date_of_last_cancer_status",
    "recurrence_date_1st", "date_of_death", "diagnosis_date", "rx_date_surgery", "rx_date_radiation",
    "rx_date_chemo", "rx_date_hormone", "rx_date_brm", "rx_date_other", "rx_date_systemic", "recurrence_date1st",
    "date_of_1st_contact", "date_of_1st_crs_rx", "date_case_completed", "date_case_report_received",
})
# Exact ages: "90+" for 90 and over under Safe Harbor; age in days reveals dates and is LDS only.
AGE_COLUMNS: frozenset[str] = frozenset({"age_at_diagnosis", "age", "age_at_death", "age_years"})
DATE_DERIVED_COLUMNS: frozenset[str] = frozenset({"age_days"})
ZIP_COLUMNS: frozenset[str] = frozenset({"addr_at_dx_postal_code", "addr_current_postal_code", "zip",
                                         "zip_code", "zip5", "postal_code"})
# Geographic units smaller than a state other than ZIP3: dropped from Safe Harbor records.
SUBSTATE_COLUMNS: frozenset[str] = frozenset({"county_at_dx", "county_fips", "county", "addr_current_county",
                                              "addr_at_dx_city", "addr_current_city", "city"})
IDENTIFIER_COLUMNS: frozenset[str] = (DIRECT_IDENTIFIER_COLUMNS | DATE_COLUMNS | AGE_COLUMNS
                                      | DATE_DERIVED_COLUMNS | ZIP_COLUMNS | SUBSTATE_COLUMNS)
# Released unchanged to a researcher only with the `lds` grant.
LIMITED_DATA_SET_COLUMNS: frozenset[str] = (DATE_COLUMNS | AGE_COLUMNS | DATE_DERIVED_COLUMNS | ZIP_COLUMNS
                                            | SUBSTATE_COLUMNS)

_DIRECT_PATTERN = re.compile(r"^name_|social_security|(^|_)ssn($|_)|medical_record|accession_number|telephone|"
                             r"(^|_)phone|e_?mail|no_street|street|supplementl|beneficiary|(^|_)(patient|tumor)_id|physician")
_DATE_PATTERN = re.compile(r"(^|_)date($|_|\d)")   # recurrenceDate1st -> recurrence_date1st
_DATE_EXEMPT = re.compile(r"_(precision|flag)$")
_ZIP_PATTERN = re.compile(r"postal_code|(^|_)zip")
_SUBSTATE_PATTERN = re.compile(r"county|(^|_)city($|_)")
_AGE_PATTERN = re.compile(r"^age(_at_[a-z_]+)?$")

# HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(B): the first three digits of a ZIP code may be kept only
# when the area of all ZIPs sharing them holds more than 20,000 people; otherwise they become 000. The
# 17 three-digit ZIPs below are those HHS lists for the 2000 Census in "Guidance Regarding Methods for
# De-identification of Protected Health Information in Accordance with the HIPAA Privacy Rule" (HHS Office
# for Civil Rights, 26 Nov 2012, section 3.3). Update here if HHS publishes a list from a later Census.
RESTRICTED_ZIP3: frozenset[str] = frozenset({
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884",
    "890", "893",
})
AGE_TOP = 90
# Aggregate tables: the columns that classify cells (the cohort strata and their usual spellings), and
# numeric columns that are not computed from the count and stay visible when it is withheld.
AGGREGATE_DIMENSIONS: frozenset[str] = frozenset({*STRATA, "age_group", "year", "county", "state",
                                                  "site", "site_group", "stage", "facility", "month"})
NOT_DERIVED: frozenset[str] = frozenset({"population"})


def snake(name: str) -> str:
    """A column name in snake_case (NAACCR ids like `dateOfBirth` become `date_of_birth`)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name)).lower()


def classify(column: str) -> str | None:
    """The policy class of a column: direct, date, date_derived, age, zip, substate, or None (released)."""
    name = snake(column)
    if name in DIRECT_IDENTIFIER_COLUMNS or _DIRECT_PATTERN.search(name):
        return "direct"
    if name in DATE_DERIVED_COLUMNS:
        return "date_derived"
    if name in DATE_COLUMNS or (_DATE_PATTERN.search(name) and not _DATE_EXEMPT.search(name)):
        return "date"
    if name in AGE_COLUMNS or _AGE_PATTERN.match(name):
        return "age"
    if name in ZIP_COLUMNS or _ZIP_PATTERN.search(name):
        return "zip"
    if name in SUBSTATE_COLUMNS or _SUBSTATE_PATTERN.search(name):
        return "substate"
    return None


def as_released(principal: Principal) -> Principal:
    """The researcher view of `principal` (no grants): what a registrar previews as released."""
    return Principal(user=principal.user, role=RESEARCHER, grants=frozenset())


def as_limited_data_set(principal: Principal) -> Principal:
    """The limited-data-set view of `principal` (a researcher with the `lds` grant): what an approved
    limited-data-set export releases, to a registrar too (never names, numbers or street)."""
    return Principal(user=principal.user, role=RESEARCHER, grants=frozenset({LDS}))


def _treatment(principal: Principal, column: str, kind: Kind) -> str:
    """keep, drop or generalise: what happens to one column for this caller and kind of data."""
    if allowed(principal, READ_IDENTIFIED):
        return "keep"
    cls = classify(column)
    lds = allowed(principal, READ_LIMITED_DATA_SET)
    if cls is None:
        return "keep"
    if cls == "direct":
        return "drop"
    if lds:
        return "keep"
    if cls == "substate":
        return "keep" if kind == "aggregate" else "drop"
    if cls == "date_derived":
        return "drop"
    return "generalise"


def columns_allowed(principal: Principal, columns: Iterable[str], *, kind: Kind = "record") -> list[str]:
    """The columns the caller may receive (some of them generalised), in their order."""
    _check_kind(principal, kind)
    return [c for c in columns if _treatment(principal, c, kind) != "drop"]


def _check_kind(principal: Principal, kind: str) -> None:
    if kind not in ("record", "aggregate"):
        raise ValueError(f"kind: expected 'record' or 'aggregate', not {kind!r}")
    require(principal, READ_DEIDENTIFIED if kind == "record" else READ_AGGREGATES)


def zip3(value: Any) -> str | None:
    """The Safe Harbor form of a ZIP code: its first 3 digits, 000 for restricted ZIP3s, None if not a ZIP."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    if len(text) < 5 or not text[:5].isdigit():
        return None
    return "000" if text[:3] in RESTRICTED_ZIP3 else text[:3]


def age_group_top(value: Any) -> Any:
    """An age in years, or "90+" for 90 and over (None stays None)."""
    if value is None or pd.isna(value):
        return None
    number = int(value)
    return f"{AGE_TOP}+" if number >= AGE_TOP else number


def _generalise(column: str, values: pd.Series) -> pd.Series:
    cls = classify(column)
    if cls == "date":
        return pd.to_datetime(values, errors="coerce").dt.year.astype("Int64")
    if cls == "age":
        return values.map(age_group_top).astype(object)
    if cls == "zip":
        return values.map(zip3).astype(object)
    raise AssertionError(f"no generalisation for {column}")  # pragma: no cover


def apply_policy(principal: Principal, frame: pd.DataFrame, *, kind: Kind = "record",
                 count_column: str = "count", threshold: int = DEFAULT_THRESHOLD,
                 dimensions: Sequence[str] | None = None, derived_columns: Sequence[str] | None = None,
                 totals: Mapping[str, Hashable] | None = None, margins: bool = True,
                 withhold: Iterable[int] = ()) -> pd.DataFrame:
    """What `principal` may receive of `frame`: columns dropped or generalised, aggregates suppressed.

    For aggregates, `dimensions` defaults to the known strata present (`AGGREGATE_DIMENSIONS`), and
    `derived_columns` to every other numeric column except the count and `NOT_DERIVED` (population):
    withheld with the count unless declared otherwise. The rest goes to `registry.suppression.suppress`.
    """
    _check_kind(principal, kind)
    if allowed(principal, READ_IDENTIFIED if kind == "record" else READ_UNSUPPRESSED):
        return frame.copy()
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        treatment = _treatment(principal, column, kind)
        if treatment == "keep":
            out[column] = frame[column]
        elif treatment == "generalise":
            out[column] = _generalise(column, frame[column])
    out.attrs.update(frame.attrs)
    if kind == "record":
        return out
    if dimensions is None:
        dimensions = [c for c in out.columns if c in AGGREGATE_DIMENSIONS and c != count_column]
    dimensions = [d for d in dimensions if d in out.columns]
    if derived_columns is None:
        keep = {count_column, *dimensions, *NOT_DERIVED, SUPPRESSED, REASON}
        derived_columns = [c for c in out.columns if c not in keep and pd.api.types.is_numeric_dtype(out[c])
                           and not pd.api.types.is_bool_dtype(out[c])]
    return suppress(out, count_column=count_column, threshold=threshold, dimensions=dimensions,
                    derived_columns=derived_columns, totals=totals, margins=margins, withhold=withhold)


def release_row_counts(principal: Principal, frame: pd.DataFrame, *, counts: Sequence[str], key: str,
                       withheld_with: Sequence[str] = (), threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """What `principal` may receive of a listing with several counts per row (one row per ingest batch).

    A registrar gets it unchanged. For anyone else a row any of whose `counts` (of records) is
    1..threshold-1 has all of them and its `withheld_with` columns withheld (a file's tumors read = loaded
    + rejected, so one left shown would give the others away), and so have complementary rows, chosen per
    count column by `suppress` over `key`, so that no withheld row follows from the column totals the
    store overview publishes.
    """
    if allowed(principal, READ_UNSUPPRESSED):
        return frame.copy()
    out = frame.reset_index(drop=True).copy()
    hidden = pd.Series(False, index=out.index)
    primary = pd.Series(False, index=out.index)
    for column in counts:
        released = suppress(out[[key, column]], count_column=column, threshold=threshold, dimensions=[key],
                            derived_columns=())
        hidden |= released[SUPPRESSED].astype(bool)
        primary |= released[REASON].eq(primary_reason(threshold))
    for column in (*counts, *withheld_with):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float).mask(hidden)
    out[SUPPRESSED] = hidden
    out[REASON] = pd.Series([primary_reason(threshold) if p else COMPLEMENTARY if h else None
                             for p, h in zip(primary, hidden, strict=True)], dtype=object)
    out.attrs.update(frame.attrs)
    return out


def release_total(principal: Principal, count: int, *, threshold: int = DEFAULT_THRESHOLD) -> int | None:
    """A count published on its own (a store's total tumors): None for anyone but a registrar when it is
    1..threshold-1."""
    if not allowed(principal, READ_UNSUPPRESSED) and 0 < count < threshold:
        return None
    return count


def definition_of(definition: Any) -> Any:
    """A JSON-friendly form of a filter or definition (dataclasses become dicts)."""
    if is_dataclass(definition) and not isinstance(definition, type):
        return asdict(definition)
    return definition


def audited(ops: OperationalStore, principal: Principal, action: str, definition: Any,
            rows: int | pd.DataFrame) -> AuditEvent:
    """Write the one audit event of a release that returns identities or exports: who, what, how many rows."""
    count = len(rows) if isinstance(rows, pd.DataFrame) else int(rows)
    return record_event(ops, principal, action, definition=definition_of(definition), rows=count)
