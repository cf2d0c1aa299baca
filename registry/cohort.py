"""Select tumors from the store by the filters every page and export shares, and aggregate them in DuckDB.

A ``TumorFilter`` (site groups, sex, race, counties, diagnosis years, ages, stage, behavior, first-course
treatment) becomes one
parameterized WHERE clause: user input only ever travels as query parameters, and the column names come
from this module's constants. Aggregation (counts by age group and strata, person-years) runs inside
DuckDB so pages read aggregates, never raw rows; survival inputs come back one row per tumor with only
the columns the estimators need.

Access: nothing here is released to a caller; the underscore functions are the raw queries
``registry.analysis`` builds on and releases through ``registry.release`` (for use inside ``registry``
only).

Counting unit: until linkage consolidates source records into registry tumors, each loaded source tumor
record counts once (a tumor reported by two facilities counts twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from registry.errors import InvalidRequest, NotComputable
from registry.store import read_connection

# SEER 19 age groups from age at diagnosis (years).
AGE_GROUP_SQL = """CASE
    WHEN t.age_at_diagnosis IS NULL THEN NULL
    WHEN t.age_at_diagnosis = 0 THEN '00'
    WHEN t.age_at_diagnosis < 5 THEN '01-04'
    WHEN t.age_at_diagnosis >= 85 THEN '85+'
    ELSE lpad(CAST(t.age_at_diagnosis // 5 * 5 AS VARCHAR), 2, '0') || '-'
         || lpad(CAST(t.age_at_diagnosis // 5 * 5 + 4 AS VARCHAR), 2, '0')
END"""
# Summary stage group from SEER Summary Stage 2018 (2018+) or 2000 (earlier), derived when not coded.
STAGE_GROUP_SQL = """CASE coalesce(t.summary_stage_2018, t.derived_summary_stage_2018, t.seer_summary_stage_2000,
                             t.derived_ss2000)
    WHEN '0' THEN 'in_situ' WHEN '1' THEN 'localized' WHEN '2' THEN 'regional' WHEN '3' THEN 'regional'
    WHEN '4' THEN 'regional' WHEN '5' THEN 'regional' WHEN '7' THEN 'distant' ELSE 'unknown'
END"""
STAGE_GROUPS = ("in_situ", "localized", "regional", "distant", "unknown")
# SEER race recode (the population file's race code) from NAACCR Race 1: 1 White, 2 Black, 3 American
# Indian/Alaska Native, 4 Asian or Pacific Islander (race1 04-17, 20-32, 96, 97); 9 other or unknown.
RACE_RECODE_SQL = """CASE WHEN p.race1 = '01' THEN '1' WHEN p.race1 = '02' THEN '2' WHEN p.race1 = '03' THEN '3'
    WHEN length(p.race1) = 2 AND (p.race1 BETWEEN '04' AND '17' OR p.race1 BETWEEN '20' AND '32'
                                  OR p.race1 IN ('96', '97')) THEN '4' ELSE '9' END"""
RACE_RECODES = {"1": "White", "2": "Black", "3": "American Indian/Alaska Native", "4": "Asian or Pacific Islander"}
# First-course treatment combination from the long-form treatment table (a modality counts when given).
# Systemic therapy: chemotherapy, hormone, immunotherapy, hematologic transplant / endocrine procedures.
# No treatment rows at all, or only modalities of unknown status, is "unknown"; all known not given is "none".
TREATMENT_GROUP_SQL = """(SELECT CASE
        WHEN s AND r AND y THEN 'surgery_radiation_systemic' WHEN s AND r THEN 'surgery_radiation'
        WHEN s AND y THEN 'surgery_systemic' WHEN s THEN 'surgery_only'
        WHEN r AND y THEN 'radiation_systemic' WHEN r THEN 'radiation_only' WHEN y THEN 'systemic_only'
        WHEN u THEN 'unknown' ELSE 'none' END
    FROM (SELECT coalesce(bool_or(x.modality = 'surgery' AND x.given), false) AS s,
                 coalesce(bool_or(x.modality = 'radiation' AND x.given), false) AS r,
                 coalesce(bool_or(x.modality IN ('chemotherapy', 'hormone', 'immunotherapy', 'transplant_endocrine')
                                  AND x.given), false) AS y,
                 coalesce(bool_and(x.given IS NULL), true) AS u
          FROM registry_treatment x WHERE x.tumor_id = t.tumor_id))"""
TREATMENT_GROUPS = ("surgery_only", "surgery_radiation", "surgery_systemic", "surgery_radiation_systemic",
                    "radiation_only", "systemic_only", "radiation_systemic", "none", "unknown")
TREATMENT_GROUP_LABELS = {
    "surgery_only": "Surgery only", "surgery_radiation": "Surgery + radiation",
    "surgery_systemic": "Surgery + systemic therapy", "surgery_radiation_systemic": "Surgery + radiation + systemic",
    "radiation_only": "Radiation only", "systemic_only": "Systemic therapy only",
    "radiation_systemic": "Radiation + systemic, no surgery", "none": "No treatment", "unknown": "Unknown"}
# Strata a caller may group by: name -> SQL expression over tumor t / patient p.
STRATA: dict[str, str] = {
    "diagnosis_year": "t.diagnosis_year",
    "sex": "p.sex",
    "race": RACE_RECODE_SQL,
    "county_fips": "t.county_fips",
    "stage_group": STAGE_GROUP_SQL,
    "site_recode": "t.site_recode",
    "reporting_site": "CASE WHEN t.site_recode = '39' AND p.sex = '1' THEN '39m' ELSE t.site_recode END",
    "treatment_group": TREATMENT_GROUP_SQL,
}
# A person's first in situ or malignant primary: central sequence number 00 (the only one) or 01 (the first).
FIRST_PRIMARY_SQL = "t.sequence_number_central IN ('00', '01')"
# SEER survival conventions: death-certificate-only and autopsy-only cases have no survival time.
NO_SURVIVAL_SOURCES = ("6", "7")


@dataclass(frozen=True)
class TumorFilter:
    """Which tumors a statistic covers. Empty tuples mean "all"."""

    site_recodes: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    races: tuple[str, ...] = ()             # SEER race recode 1-4 (RACE_RECODES)
    counties: tuple[str, ...] = ()
    first_year: int | None = None
    last_year: int | None = None
    stage_groups: tuple[str, ...] = ()
    behaviors: tuple[str, ...] = ("3",)
    min_age: int | None = None             # age at diagnosis, years, inclusive
    max_age: int | None = None
    treatment_groups: tuple[str, ...] = ()  # first-course treatment combinations (TREATMENT_GROUPS)
    first_primary_only: bool = False       # only each person's first in situ or malignant primary
    extra: dict[str, str] = field(default_factory=dict)   # reserved: never formatted into SQL

    def __post_init__(self) -> None:
        unknown = set(self.stage_groups) - set(STAGE_GROUPS)
        if unknown:
            raise InvalidRequest(f"stage_groups: unknown values {sorted(unknown)}; use {', '.join(STAGE_GROUPS)}")
        unknown = set(self.races) - set(RACE_RECODES)
        if unknown:
            raise InvalidRequest(f"races: unknown values {sorted(unknown)}; use SEER race recode {', '.join(RACE_RECODES)}")
        unknown = set(self.treatment_groups) - set(TREATMENT_GROUPS)
        if unknown:
            raise InvalidRequest(f"treatment_groups: unknown values {sorted(unknown)}; use {', '.join(TREATMENT_GROUPS)}")
        if self.first_year is not None and self.last_year is not None and self.first_year > self.last_year:
            raise InvalidRequest(f"first_year {self.first_year} is after last_year {self.last_year}")
        for name in ("min_age", "max_age"):
            age = getattr(self, name)
            if age is not None and not (isinstance(age, int) and 0 <= age <= 120):
                raise InvalidRequest(f"{name}: {age!r} is not an age in years (0-120)")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise InvalidRequest(f"min_age {self.min_age} is above max_age {self.max_age}")

    def spec(self) -> dict[str, object]:
        """The filter as plain JSON-friendly values (tuples as lists), for provenance and the guard."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}

    def where(self) -> tuple[str, list[object]]:
        """SQL condition over tumor t and patient p, and its parameters (values never enter the SQL text)."""
        where, params = _conditions((("t.site_recode", self.site_recodes), ("p.sex", self.sexes),
                                     (RACE_RECODE_SQL, self.races), ("t.county_fips", self.counties),
                                     (STAGE_GROUP_SQL, self.stage_groups), ("t.behavior", self.behaviors),
                                     (TREATMENT_GROUP_SQL, self.treatment_groups)),
                                    "t.diagnosis_year", self.first_year, self.last_year)
        for operator, age in ((">=", self.min_age), ("<=", self.max_age)):
            if age is not None:
                where += f" AND t.age_at_diagnosis {operator} ?"
                params.append(age)
        if self.first_primary_only:
            where += f" AND {FIRST_PRIMARY_SQL}"
        return where, params


# What survival and recurrence curves can be compared by (name -> label shown with the groups).
COMPARISONS = {"stage_group": "Summary stage", "sex": "Sex", "age_band": "Age at diagnosis",
               "period": "Diagnosis period", "race": "Race", "treatment_group": "First-course treatment"}
# Age bands for survival comparisons: the International Cancer Survival Standard bands (Corazziari et
# al. 2004), with everyone under 45 in the first band.
SURVIVAL_AGE_BANDS = ((0, 44), (45, 54), (55, 64), (65, 74), (75, None))
PERIOD_YEARS = 5
SEX_LABELS = {"1": "Male", "2": "Female"}
# SEER convention for sex-specific sites (SEER*Explorer, U.S. Cancer Statistics): breast is reported for
# females, with male breast as a reporting site of its own; the female genital sites (site recode groups
# 40-47) for females and the male genital sites (48-51) for males. Reporting them this way also keeps a
# both-sexes total from standing beside a one-sex one, whose difference would count a handful of people.
SEX_SPECIFIC_SITES: dict[str, str] = {"39": "2", **{str(code): "2" for code in range(40, 48)},
                                      **{str(code): "1" for code in range(48, 52)}}
MALE_BREAST = "39m"


def reporting_site(code: str) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """The site recode groups and, for a sex-specific site, the one sex a reporting site stands for
    (``""`` is all sites, ``MALE_BREAST`` breast in males)."""
    if code == MALE_BREAST:
        return ("39",), ("1",)
    if code in SEX_SPECIFIC_SITES:
        return (code,), (SEX_SPECIFIC_SITES[code],)
    return ((code,) if code else ()), None


class ComparisonGroup(NamedTuple):
    """One group of a comparison: its label, its value of the ``STRATA`` expression named by the
    comparison (``None`` when the comparison is not a stratum: age bands, periods) and its filter."""

    label: str
    stratum: str | None
    tumor_filter: TumorFilter


def comparison_groups(tumor_filter: TumorFilter, by: str) -> list[ComparisonGroup]:
    """The filter split into the groups of one comparison, in display order.

    Groups stay inside the filter (comparing stages of a filter limited to two stages gives two curves).
    Periods are consecutive blocks of ``PERIOD_YEARS`` diagnosis years ending at the filter's last year.
    """
    if by == "stage_group":
        return [ComparisonGroup(g.replace("_", " ").capitalize(), g, replace(tumor_filter, stage_groups=(g,)))
                for g in tumor_filter.stage_groups or STAGE_GROUPS]
    if by == "sex":
        return [ComparisonGroup(SEX_LABELS.get(code, code), code, replace(tumor_filter, sexes=(code,)))
                for code in tumor_filter.sexes or tuple(SEX_LABELS)]
    if by == "race":
        return [ComparisonGroup(RACE_RECODES[code], code, replace(tumor_filter, races=(code,)))
                for code in tumor_filter.races or tuple(RACE_RECODES)]
    if by == "treatment_group":
        return [ComparisonGroup(TREATMENT_GROUP_LABELS[g], g, replace(tumor_filter, treatment_groups=(g,)))
                for g in tumor_filter.treatment_groups or TREATMENT_GROUPS]
    if by == "age_band":
        low, high = tumor_filter.min_age or 0, tumor_filter.max_age
        groups: list[ComparisonGroup] = []
        for start, end in SURVIVAL_AGE_BANDS:
            first, last = max(start, low), end if high is None else (high if end is None else min(end, high))
            if last is not None and first > last:
                continue
            label = f"{first}+" if last is None else f"{first}-{last}"
            groups.append(ComparisonGroup(label, None, replace(tumor_filter, min_age=first, max_age=last)))
        return groups
    if by == "period":
        if tumor_filter.first_year is None or tumor_filter.last_year is None:
            raise InvalidRequest("by period: the filter needs first_year and last_year")
        groups = []
        end = tumor_filter.last_year
        while end >= tumor_filter.first_year:
            start = max(tumor_filter.first_year, end - PERIOD_YEARS + 1)
            groups.append(ComparisonGroup(f"{start}-{end}", None, replace(tumor_filter, first_year=start, last_year=end)))
            end = start - 1
        return groups[::-1]
    raise InvalidRequest(f"by: unknown comparison {by!r}; choose from {', '.join(COMPARISONS)}")


def _conditions(memberships: Sequence[tuple[str, tuple[str, ...]]], year_column: str, first_year: int | None,
                last_year: int | None) -> tuple[str, list[object]]:
    """``expression IN (?, ...)`` for each non-empty value list plus the year range, with parameters."""
    clauses: list[str] = []
    params: list[object] = []
    for expression, values in memberships:
        if values:
            clauses.append(f"({expression}) IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    for operator, year in ((">=", first_year), ("<=", last_year)):
        if year is not None:
            clauses.append(f"{year_column} {operator} ?")
            params.append(year)
    return (" AND ".join(clauses) or "TRUE"), params


def _strata(by: Sequence[str]) -> list[str]:
    unknown = [name for name in by if name not in STRATA]
    if unknown:
        raise InvalidRequest(f"by: unknown strata {unknown}; choose from {', '.join(STRATA)}")
    return list(by)


# Statistics count registry entities: each cancer once (registry_tumor, consolidated from its reports),
# each person once (registry_patient); first-course treatment is the union of the reports.
FROM_TUMORS = "FROM registry_tumor t JOIN registry_patient p USING (patient_id)"


def _case_counts(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Tumors by SEER age group and strata (columns: the strata, ``age_group``, ``count``)."""
    strata = _strata(by)
    where, params = tumor_filter.where()
    selects = [f"{STRATA[name]} AS {name}" for name in strata]
    group = ", ".join([*strata, "age_group"])
    sql = (f"SELECT {', '.join([*selects, f'{AGE_GROUP_SQL} AS age_group'])}, count(*) AS count "
           f"{FROM_TUMORS} WHERE {where} AND t.age_at_diagnosis IS NOT NULL GROUP BY {group} ORDER BY {group}")
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()


POPULATION_STRATA = {"diagnosis_year": "year", "sex": "sex", "county_fips": "fips", "race": "race"}


def _population_counts(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Person-years by SEER age group and strata for the filter's years, sexes, counties, races and ages.

    Only strata that denominators carry (diagnosis year, sex, county, race) are allowed. A race filter or
    stratum needs a population file with a race breakdown (SEER race 1-4), an age range must fall on SEER age-group
    limits, and treatment has no denominator: otherwise the call is refused rather than giving wrong rates.
    """
    unknown = [name for name in by if name not in POPULATION_STRATA]
    if unknown:
        raise InvalidRequest(f"by: population has no strata {unknown}; choose from {', '.join(POPULATION_STRATA)}")
    if tumor_filter.treatment_groups:
        raise NotComputable("treatment_groups: incidence rates have no treatment-specific population")
    where, params = _conditions((("sex", tumor_filter.sexes), ("fips", tumor_filter.counties),
                                 ("race", tumor_filter.races),
                                 ("age_group", age_groups_between(tumor_filter.min_age, tumor_filter.max_age))),
                                "year", tumor_filter.first_year, tumor_filter.last_year)
    selects = [f"{POPULATION_STRATA[name]} AS {name}" for name in by]
    group = ", ".join([*by, "age_group"])
    sql = (f"SELECT {', '.join([*selects, 'age_group'])}, CAST(sum(population) AS BIGINT) AS population FROM population "
           f"WHERE {where} GROUP BY {group} ORDER BY {group}")
    with read_connection(db_path) as con:
        if (tumor_filter.races or "race" in by) and not con.execute(
                "SELECT count(*) FROM population WHERE race IN ('1', '2', '3', '4')").fetchall()[0][0]:
            raise NotComputable("races: the loaded population file has no race breakdown (SEER race 1-4); "
                             "rates by race need one")
        return con.execute(sql, params).df()


def age_groups_between(min_age: int | None, max_age: int | None) -> tuple[str, ...]:
    """The SEER 19 age groups making up ages ``min_age``-``max_age`` (empty: all ages).

    Refuses a range that cuts through an age group: the population has no finer ages to match it.
    """
    if min_age is None and max_age is None:
        return ()
    low, high = min_age or 0, max_age
    starts = [0, 1, *range(5, 90, 5)]
    ends = [0, 4, *range(9, 85, 5)]
    if low not in starts or (high is not None and high not in ends):
        raise InvalidRequest(f"ages {low}-{high if high is not None else ''}: incidence rates need an age range on "
                         "SEER age-group limits (from 0, 1, 5, 10, ... 85; to 0, 4, 9, ... 84 or no limit)")
    labels = ["00", "01-04", *[f"{a:02d}-{a + 4:02d}" for a in range(5, 85, 5)], "85+"]
    return tuple(label for start, label in zip(starts, labels, strict=True)
                 if start >= low and (high is None or start <= high))


# An age at diagnosis over this many years is a probable error (almost always a wrong or transposed birth
# date): the loader flags it (warning ``age-over-105``) and survival analysis leaves the tumor out.
MAX_PLAUSIBLE_AGE = 105


def completed_years_sql(birth: str, at: str) -> str:
    """SQL for the completed years of age on date ``at`` of someone born on ``birth`` (column names)."""
    return f"(datediff('year', {birth}, {at}) - CASE WHEN strftime({at}, '%m%d') < strftime({birth}, '%m%d') " \
           "THEN 1 ELSE 0 END)"


AGE_FROM_DATES_SQL = completed_years_sql("p.date_of_birth", "t.date_of_diagnosis")
# Probable age errors over tumor t and patient p: an age over MAX_PLAUSIBLE_AGE, coded or from the dates, or a
# coded age that is not the completed years between full birth and diagnosis dates (NAACCR edit "Age, Birth
# Date, Date of Diagnosis"): one of the three items is wrong, so the age a net survival weight needs is unknown.
AGE_ERROR_SQL = f"""coalesce({AGE_FROM_DATES_SQL} > {MAX_PLAUSIBLE_AGE} OR t.age_at_diagnosis > {MAX_PLAUSIBLE_AGE}
    OR (p.date_of_birth_precision = 'D' AND t.date_of_diagnosis_precision = 'D'
        AND t.age_at_diagnosis <> {AGE_FROM_DATES_SQL}), false)"""
# SEER's survival selection: no death-certificate-only or autopsy-only cases, full diagnosis date, birth and
# last contact consistent with it, known sex (the life tables are by sex); and no probable age errors (an
# age of 119 from a transposed birth date would weigh as thousands of patients in net survival).
SURVIVAL_SELECTION = f"""
          AND coalesce(t.type_of_reporting_source, '') NOT IN ('6', '7')
          AND t.date_of_diagnosis_precision = 'D' AND p.date_of_birth <= t.date_of_diagnosis
          AND p.date_of_last_contact IS NOT NULL AND p.date_of_last_contact >= t.date_of_diagnosis
          AND p.sex IN ('1', '2')
          AND NOT {AGE_ERROR_SQL}"""
TIME_DAYS_SQL = "datediff('day', t.date_of_diagnosis, p.date_of_last_contact)"
DEAD_SQL = "CASE WHEN p.vital_status = '0' THEN 1 ELSE 0 END"


def _survival_data(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per tumor with known survival: ``time_days``, ``dead``, ``age_days``, ``sex``,
    ``diagnosis_date`` (+ strata, ``cause_of_death``, recurrence columns) as the estimators take them.

    Follows SEER's survival selection (``SURVIVAL_SELECTION``): death-certificate-only and autopsy-only
    cases are excluded, and so are tumors without a full diagnosis date, birth date or date of last
    contact, with a birth or last contact that contradicts the diagnosis date, or with a probable age error
    (``AGE_ERROR_SQL``: flagged at ingest; ``_age_error_count`` counts them).
    """
    strata = [name for name in _strata(by) if name != "sex"]   # sex is always there (as a number)
    where, params = tumor_filter.where()
    selects = "".join(f", {STRATA[name]} AS {name}" for name in strata)
    sql = f"""
        SELECT {TIME_DAYS_SQL} AS time_days, {DEAD_SQL} AS dead,
               datediff('day', p.date_of_birth, t.date_of_diagnosis) AS age_days,
               CAST(p.sex AS INTEGER) AS sex, t.date_of_diagnosis AS diagnosis_date,
               p.cause_of_death, t.recurrence_type_1st, t.recurrence_date_1st,
               t.primary_site, t.tumor_id{selects}
        {FROM_TUMORS}
        WHERE {where} {SURVIVAL_SELECTION}
        ORDER BY t.tumor_id"""
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()


def _age_error_count(db_path: Path, tumor_filter: TumorFilter) -> int:
    """Tumors of the filter left out of survival analysis as probable age errors (``AGE_ERROR_SQL``: an age
    over ``MAX_PLAUSIBLE_AGE``, or a coded age that disagrees with the birth and diagnosis dates)."""
    where, params = tumor_filter.where()
    with read_connection(db_path) as con:
        return int(con.execute(f"SELECT count(*) {FROM_TUMORS} WHERE {where} AND {AGE_ERROR_SQL}",
                               params).fetchall()[0][0])


def _survival_counts(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """The same selection as ``survival_data`` aggregated in DuckDB: strata, ``time_days``, ``dead``, ``count``.

    Enough for Kaplan-Meier (frequency weights) and a few thousand rows whatever the store's size.
    """
    where, params = tumor_filter.where()
    selects = "".join(f"{STRATA[name]} AS {name}, " for name in _strata(by))
    sql = f"""
        SELECT {selects}{TIME_DAYS_SQL} AS time_days, {DEAD_SQL} AS dead, count(*) AS count
        {FROM_TUMORS}
        WHERE {where} {SURVIVAL_SELECTION}
        GROUP BY ALL ORDER BY time_days, dead"""
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()


# recurrenceType1st codes that mean "no recurrence known" (disease-free, never disease-free, unknown).
NO_RECURRENCE = ("00", "70", "88", "99")
RECURRED_SQL = (f"(coalesce(t.recurrence_type_1st, '') NOT IN ({', '.join(repr(c) for c in NO_RECURRENCE)}) "
                "AND t.recurrence_date_1st IS NOT NULL)")


def _recurrence_counts(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """The survival selection aggregated for recurrence analysis: strata, ``time_days``, ``event``, ``count``.

    Event 1 is a first recurrence (a recurrence type other than ``NO_RECURRENCE``, with a date; time to
    the recurrence date), 2 death without recurrence, 0 censored at last contact; negative times are 0.
    """
    where, params = tumor_filter.where()
    selects = "".join(f"{STRATA[name]} AS {name}, " for name in _strata(by))
    sql = f"""
        SELECT {selects}greatest(CASE WHEN {RECURRED_SQL} THEN datediff('day', t.date_of_diagnosis, t.recurrence_date_1st)
                             ELSE {TIME_DAYS_SQL} END, 0) AS time_days,
               CASE WHEN {RECURRED_SQL} THEN 1 WHEN p.vital_status = '0' THEN 2 ELSE 0 END AS event,
               count(*) AS count
        {FROM_TUMORS}
        WHERE {where} {SURVIVAL_SELECTION}
        GROUP BY ALL ORDER BY time_days, event"""
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()


def data_vintage(db_path: Path) -> str | None:
    """When the registry's data last changed (the data vintage results cite, and what cached results are keyed
    on): the newest loaded batch, linkage decision or registry-level correction."""
    with read_connection(db_path) as con:
        row = con.execute(
            "SELECT greatest((SELECT max(finished_at) FROM ingest_batch WHERE status = 'loaded'), "
            "(SELECT max(decided_at) FROM patient_link), (SELECT max(decided_at) FROM tumor_link), "
            "(SELECT max(corrected_at) FROM registry_correction))::VARCHAR").fetchall()
    return row[0][0] if row else None
