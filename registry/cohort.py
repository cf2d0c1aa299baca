"""Select tumors from the store by the filters every page and export shares, and aggregate them in DuckDB.

A ``TumorFilter`` (site groups, sex, race, counties, diagnosis years, stage, behavior) becomes one
parameterized WHERE clause: user input only ever travels as query parameters, and the column names come
from this module's constants. Aggregation (counts by age group and strata, person-years) runs inside
DuckDB so pages read aggregates, never raw rows; survival inputs come back one row per tumor with only
the columns the estimators need.

Access: the public functions take the caller's ``Principal`` and release only what the role may see
(``registry.privacy``: identifiers dropped or generalised, small cells suppressed); the underscore
functions are the raw queries ``registry.analysis`` builds on, for use inside ``registry`` only.

Counting unit: until linkage consolidates source records into registry tumors, each loaded source tumor
record counts once (a tumor reported by two facilities counts twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from registry.principal import ROLES, Principal
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
# Strata a caller may group by: name -> SQL expression over tumor t / patient p.
STRATA: dict[str, str] = {
    "diagnosis_year": "t.diagnosis_year",
    "sex": "p.sex",
    "race": "p.race1",
    "county_fips": "t.county_fips",
    "stage_group": STAGE_GROUP_SQL,
    "site_recode": "t.site_recode",
}
# SEER survival conventions: death-certificate-only and autopsy-only cases have no survival time.
NO_SURVIVAL_SOURCES = ("6", "7")


@dataclass(frozen=True)
class TumorFilter:
    """Which tumors a statistic covers. Empty tuples mean "all"."""

    site_recodes: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    races: tuple[str, ...] = ()
    counties: tuple[str, ...] = ()
    first_year: int | None = None
    last_year: int | None = None
    stage_groups: tuple[str, ...] = ()
    behaviors: tuple[str, ...] = ("3",)
    extra: dict[str, str] = field(default_factory=dict)   # reserved: never formatted into SQL

    def __post_init__(self) -> None:
        unknown = set(self.stage_groups) - set(STAGE_GROUPS)
        if unknown:
            raise ValueError(f"stage_groups: unknown values {sorted(unknown)}; use {', '.join(STAGE_GROUPS)}")
        if self.first_year is not None and self.last_year is not None and self.first_year > self.last_year:
            raise ValueError(f"first_year {self.first_year} is after last_year {self.last_year}")

    def where(self) -> tuple[str, list[object]]:
        """SQL condition over tumor t and patient p, and its parameters (values never enter the SQL text)."""
        return _conditions((("t.site_recode", self.site_recodes), ("p.sex", self.sexes),
                            ("p.race1", self.races), ("t.county_fips", self.counties),
                            (STAGE_GROUP_SQL, self.stage_groups), ("t.behavior", self.behaviors)),
                           "t.diagnosis_year", self.first_year, self.last_year)


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
        raise ValueError(f"by: unknown strata {unknown}; choose from {', '.join(STRATA)}")
    return list(by)


FROM_TUMORS = "FROM tumor t JOIN patient p USING (patient_id)"


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


POPULATION_STRATA = {"diagnosis_year": "year", "sex": "sex", "county_fips": "fips"}


def _population_counts(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Person-years by SEER age group and strata for the filter's years, sexes and counties.

    Only strata that denominators carry (diagnosis year, sex, county) are allowed; race-specific
    denominators are not loaded, so a race filter is refused here rather than giving wrong rates.
    """
    unknown = [name for name in by if name not in POPULATION_STRATA]
    if unknown:
        raise ValueError(f"by: population has no strata {unknown}; choose from {', '.join(POPULATION_STRATA)}")
    if tumor_filter.races:
        raise ValueError("races: the store has no race-specific population; rates by race are not available")
    where, params = _conditions((("sex", tumor_filter.sexes), ("fips", tumor_filter.counties)), "year",
                                tumor_filter.first_year, tumor_filter.last_year)
    selects = [f"{POPULATION_STRATA[name]} AS {name}" for name in by]
    group = ", ".join([*by, "age_group"])
    sql = (f"SELECT {', '.join([*selects, 'age_group'])}, CAST(sum(population) AS BIGINT) AS population FROM population "
           f"WHERE {where} GROUP BY {group} ORDER BY {group}")
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()


# SEER's survival selection: no death-certificate-only or autopsy-only cases, full diagnosis date, birth and
# last contact consistent with it, known sex (the life tables are by sex).
SURVIVAL_SELECTION = """
          AND coalesce(t.type_of_reporting_source, '') NOT IN ('6', '7')
          AND t.date_of_diagnosis_precision = 'D' AND p.date_of_birth <= t.date_of_diagnosis
          AND p.date_of_last_contact IS NOT NULL AND p.date_of_last_contact >= t.date_of_diagnosis
          AND p.sex IN ('1', '2')"""
TIME_DAYS_SQL = "datediff('day', t.date_of_diagnosis, p.date_of_last_contact)"
DEAD_SQL = "CASE WHEN p.vital_status = '0' THEN 1 ELSE 0 END"


def _survival_data(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per tumor with known survival: ``time_days``, ``dead``, ``age_days``, ``sex``,
    ``diagnosis_date`` (+ strata, ``cause_of_death``, recurrence columns) as the estimators take them.

    Follows SEER's survival selection (``SURVIVAL_SELECTION``): death-certificate-only and autopsy-only
    cases are excluded, and so are tumors without a full diagnosis date, birth date or date of last
    contact, or with a birth or last contact that contradicts the diagnosis date.
    """
    strata = _strata(by)
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


def _survival_counts(db_path: Path, tumor_filter: TumorFilter) -> pd.DataFrame:
    """The same selection as ``survival_data`` aggregated in DuckDB: ``time_days``, ``dead``, ``count``.

    Enough for Kaplan-Meier (frequency weights) and a few thousand rows whatever the store's size.
    """
    where, params = tumor_filter.where()
    sql = f"""
        SELECT {TIME_DAYS_SQL} AS time_days, {DEAD_SQL} AS dead, count(*) AS count
        {FROM_TUMORS}
        WHERE {where} {SURVIVAL_SELECTION}
        GROUP BY ALL ORDER BY time_days, dead"""
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()


def data_vintage(db_path: Path) -> str | None:
    """When the newest loaded batch finished (the data vintage results cite)."""
    with read_connection(db_path) as con:
        row = con.execute("SELECT max(finished_at)::VARCHAR FROM ingest_batch WHERE status = 'loaded'").fetchall()
    return row[0][0] if row else None


# ---- public data functions: the raw queries above, released through the access policy -----------------

def case_counts(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                by: Sequence[str] = ()) -> pd.DataFrame:
    """Tumors by SEER age group and strata, as the caller's role may see them (small cells suppressed)."""
    from registry.privacy import apply_policy

    return apply_policy(principal, _case_counts(db_path, tumor_filter, by=by), kind="aggregate")


def case_totals(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                by: Sequence[str] = ()) -> pd.DataFrame:
    """Tumors by strata (all ages together), as the caller's role may see them (small cells suppressed)."""
    from registry.privacy import apply_policy

    counts = _case_counts(db_path, tumor_filter, by=by)
    totals = counts.groupby(list(by), as_index=False, dropna=False).agg(count=("count", "sum")) if by else \
        pd.DataFrame({"count": [int(counts["count"].sum())]})
    return apply_policy(principal, totals, kind="aggregate", dimensions=list(by))


def population_counts(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                      by: Sequence[str] = ()) -> pd.DataFrame:
    """Person-years by age group and strata (public denominators: any signed-in role)."""
    from registry.privacy import require_role

    require_role(principal, *ROLES)
    return _population_counts(db_path, tumor_filter, by=by)


def survival_data(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                  by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per tumor for survival analysis, as the caller's role may see it; the release is audited.

    Registrars get identifiers and full dates; researchers a de-identified extract (dates as years, no
    record numbers; full dates with the ``lds`` grant); administrators no record-level data at all.
    """
    from registry.operational import open_operational_store
    from registry.privacy import apply_policy, audited

    released = apply_policy(principal, _survival_data(db_path, tumor_filter, by=by), kind="record")
    audited(open_operational_store(db_path), principal, "search", {"survival_data": tumor_filter, "by": list(by)},
            released)
    return released
