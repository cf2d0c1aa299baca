"""A cohort definition compiled to one parameterized SQL over the registry's tumors and patients.

Every group becomes one boolean column of a per-tumor scan of `registry_tumor t JOIN registry_patient p`:
its criteria OR-ed (a criterion on an unknown value is false), negated when the group excludes (so a tumor
whose value is unknown is not excluded). A treatment criterion is a semi-join on the given rows of its
modalities in `registry_treatment` (given by any report), an item criterion one on the rows of its item in
`registry_tumor_item`, so only what the definition names is read. Attrition counts every step in the same
scan: each tumor's depth (how many leading groups it passes) is aggregated by tumor and by person. Column
names come from this module's constants and `registry.cohort`; every value of the definition travels as a
query parameter.

Access: nothing here is released to a caller; `registry.cohort_counts` releases counts through
`registry.release`, and the cohort export and the trial-candidate list take `select_tumors` (inside
`registry` only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from registry.cohort import FIRST_PRIMARY_SQL, FROM_TUMORS, STAGE_GROUP_SQL, data_vintage
from registry.cohort_definition import ANY, GRADE_ITEMS, SYSTEMIC, CohortDefinition, Criterion
from registry.errors import InvalidRequest
from registry.store import read_connection

# Registry columns each kind reads (constants: no name in the SQL comes from a definition).
CODE_COLUMNS = {"site_recode": "t.site_recode", "behavior": "t.behavior", "sex": "p.sex", "race": "p.race1",
                "county": "t.county_fips", "vital_status": "p.vital_status", "facility": "t.reporting_facility"}
RANGE_COLUMNS = {"site": "t.primary_site", "histology": "t.histology"}
GRADE_COLUMNS = {name: f"t.{column}" for name, column in GRADE_ITEMS.items()}
SUMMARY_STAGE_COLUMNS = {"2018": ("t.summary_stage_2018",), "2000": ("t.seer_summary_stage_2000",),
                         ANY: ("t.summary_stage_2018", "t.seer_summary_stage_2000")}
DERIVED_STAGE_COLUMNS = {"2018": ("t.derived_summary_stage_2018",), "2000": ("t.derived_ss2000",),
                         ANY: ("t.derived_summary_stage_2018", "t.derived_ss2000")}
# Recurrence Type--1st codes that are not a recurrence: disease-free, never disease-free, unknown.
NOT_RECURRED = ("00", "70", "99")
COUNT_BY = {"county_fips": "t.county_fips", "reporting_facility": "t.reporting_facility"}
ALL_TUMORS = "All registry tumors"


@dataclass
class _Compiled:
    """The pieces of the per-tumor scan: group flag expressions with their parameters, and what to join."""

    groups: list[tuple[str, list[object]]] = field(default_factory=list)
    first_diagnosis: bool = False


def _placeholders(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def _criterion_sql(c: Criterion, as_of: date, compiled: _Compiled) -> tuple[str, list[Any]]:
    """One criterion as a condition over t, p and the joined columns, with its parameters."""
    kind = c.kind
    parts: list[str] = []
    params: list[Any] = []
    if kind in CODE_COLUMNS:
        return f"{CODE_COLUMNS[kind]} IN ({_placeholders(c.codes)})", list(c.codes)
    if kind in RANGE_COLUMNS:
        column = RANGE_COLUMNS[kind]
        for code in c.codes:
            low, _, high = code.partition("-")
            parts.append(f"{column} BETWEEN ? AND ?")
            params += [low, high or low]
        return " OR ".join(parts), params
    if kind == "grade":
        columns = tuple(GRADE_COLUMNS.values()) if c.item == ANY else (GRADE_COLUMNS[str(c.item)],)
        return " OR ".join(f"{col} IN ({_placeholders(c.codes)})" for col in columns), list(c.codes) * len(columns)
    if kind in ("summary_stage", "derived_stage"):
        columns = (SUMMARY_STAGE_COLUMNS if kind == "summary_stage" else DERIVED_STAGE_COLUMNS)[str(c.scheme)]
        return " OR ".join(f"{col} IN ({_placeholders(c.codes)})" for col in columns), list(c.codes) * len(columns)
    if kind == "stage_group":
        return f"({STAGE_GROUP_SQL}) IN ({_placeholders(c.codes)})", list(c.codes)
    if kind == "diagnosis_date":
        return _between("t.date_of_diagnosis", c.from_date, c.to_date, "CAST(? AS DATE)")
    if kind == "age_at_diagnosis":
        return _between("t.age_at_diagnosis", c.min, c.max)
    if kind == "time_since_diagnosis":   # whole months from diagnosis to the as-of date
        months = "date_sub('month', t.date_of_diagnosis, CAST(? AS DATE))"
        for operator, value in ((">=", c.min_months), ("<=", c.max_months)):
            if value is not None:
                parts.append(f"{months} {operator} ?")
                params += [as_of.isoformat(), value]
        return " AND ".join(parts), params
    if kind == "treatment":   # a semi-join on the given rows of the modality (or of any systemic one)
        modalities = SYSTEMIC if c.modality == "systemic" else (str(c.modality),)
        given = (f"t.tumor_id IN (SELECT x.tumor_id FROM registry_treatment x "
                 f"WHERE x.given AND x.modality IN ({_placeholders(modalities)}))")
        return (given if c.received else f"NOT {given}"), list(modalities)
    if kind == "recurrence":
        if c.types:
            sql, params = f"t.recurrence_type_1st IN ({_placeholders(c.types)})", list(c.types)
        else:
            sql, params = f"t.recurrence_type_1st NOT IN ({_placeholders(NOT_RECURRED)})", list(NOT_RECURRED)
        if c.within_months is not None:
            sql = f"({sql}) AND date_sub('month', t.date_of_diagnosis, t.recurrence_date_1st) <= ?"
            params.append(c.within_months)
        return sql, params
    if kind == "first_primary":
        return FIRST_PRIMARY_SQL, []
    if kind == "no_prior_cancer":
        compiled.first_diagnosis = True
        return "t.date_of_diagnosis = first_diagnosis", []
    if kind == "item":   # a semi-join on the item's rows holding one of the codes or a number in range
        params.append(c.item)
        if c.codes:
            parts.append(f"i.value IN ({_placeholders(c.codes)})")
            params += list(c.codes)
        if c.min is not None or c.max is not None:
            sql, bounds = _between("try_cast(i.value AS DOUBLE)", c.min, c.max)
            parts.append(f"({sql})")
            params += bounds
        return (f"t.tumor_id IN (SELECT i.tumor_id FROM registry_tumor_item i WHERE i.naaccr_id = ? "
                f"AND ({' OR '.join(parts)}))"), params
    raise InvalidRequest(f"criterion kind {kind!r} cannot be compiled")


def _between(expression: str, low: object, high: object, cast: str = "?") -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for operator, value in ((">=", low), ("<=", high)):
        if value is not None:
            parts.append(f"{expression} {operator} {cast}")
            params.append(value)
    return " AND ".join(parts), params


def _compile(definition: CohortDefinition, as_of: date) -> _Compiled:
    compiled = _Compiled()
    for group in definition.groups:
        parts: list[str] = []
        params: list[Any] = []
        for criterion in group.criteria:
            sql, values = _criterion_sql(criterion, as_of, compiled)
            parts.append(f"coalesce(({sql}), false)")
            params += values
        flag = " OR ".join(parts)
        compiled.groups.append((f"NOT ({flag})" if group.exclude else f"({flag})", params))
    return compiled


def _scan(definition: CohortDefinition, as_of: date, columns: tuple[str, ...] = ()) -> tuple[str, list[object]]:
    """SELECT of one row per registry tumor: tumor_id, patient_id, `columns`, and g1..gN, the group flags."""
    compiled = _compile(definition, as_of)
    selects = ["t.tumor_id", "t.patient_id", *(f"{COUNT_BY[c]} AS {c}" for c in columns)]
    params: list[object] = []
    for number, (flag, values) in enumerate(compiled.groups, start=1):
        selects.append(f"{flag} AS g{number}")
        params += values
    first = ("LEFT JOIN (SELECT patient_id, min(date_of_diagnosis) AS first_diagnosis FROM registry_tumor "
             "GROUP BY patient_id) fd ON fd.patient_id = t.patient_id") if compiled.first_diagnosis else ""
    return f"SELECT {', '.join(selects)} {FROM_TUMORS} {first}", params


def resolve_as_of(definition: CohortDefinition, vintage: str | None) -> date:
    """The reference date of time since diagnosis: the definition's `as_of`, else the day of `vintage` (the
    store's data vintage), else today."""
    if definition.as_of is not None:
        return date.fromisoformat(definition.as_of)
    return date.fromisoformat(vintage[:10]) if vintage else date.today()


def as_of_date(db_path: Path, definition: CohortDefinition) -> date:
    """The reference date of time since diagnosis in the store `db_path` (`resolve_as_of`)."""
    return resolve_as_of(definition, None if definition.as_of is not None else data_vintage(db_path))


def _all_groups(count: int) -> str:
    return " AND ".join(f"g{k}" for k in range(1, count + 1)) or "TRUE"


def select_tumors(db_path: Path, definition: CohortDefinition, *, as_of: date | None = None) -> pd.DataFrame:
    """The cohort: `tumor_id`, `patient_id` (registry ids) of every registry tumor the definition selects,
    sorted by tumor_id (`as_of`: the reference date when the caller has resolved it)."""
    scan, params = _scan(definition, as_of or as_of_date(db_path, definition))
    sql = (f"SELECT tumor_id, patient_id FROM ({scan}) WHERE {_all_groups(len(definition.groups))} "
           "ORDER BY tumor_id")
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()


def attrition(db_path: Path, definition: CohortDefinition, *, as_of: date | None = None) -> pd.DataFrame:
    """Counts after each group, cumulative, in one scan: `step` (0 = all registry tumors, then one per group),
    `label`, `tumors`, `persons` (distinct registry patients)."""
    groups = definition.groups
    scan, params = _scan(definition, as_of or as_of_date(db_path, definition))
    # A tumor's depth is the number of leading groups it passes (the steps are nested): step k holds the tumors
    # of depth >= k, and the persons whose deepest tumor reaches k. The scan is materialized once.
    depth = ("CASE " + " ".join(f"WHEN NOT g{k} THEN {k - 1}" for k in range(1, len(groups) + 1))
             + f" ELSE {len(groups)} END") if groups else "0"
    sql = f"""WITH scanned AS MATERIALIZED (SELECT patient_id, {depth} AS depth FROM ({scan}))
              SELECT 'tumors', depth, count(*) FROM scanned GROUP BY depth
              UNION ALL
              SELECT 'persons', deepest, count(*) FROM (SELECT max(depth) AS deepest FROM scanned GROUP BY patient_id)
              GROUP BY deepest"""
    with read_connection(db_path) as con:
        found = con.execute(sql, params).fetchall()
    at_depth = {(unit, int(d)): int(n) for unit, d, n in found}
    steps = range(len(groups) + 1)
    labels = [ALL_TUMORS, *(step_label(g.name, g.exclude, k) for k, g in enumerate(groups, start=1))]
    return pd.DataFrame({"step": list(steps), "label": labels,
                         **{unit: [sum(at_depth.get((unit, d), 0) for d in range(k, len(groups) + 1)) for k in steps]
                            for unit in ("tumors", "persons")}})


def step_label(name: str, exclude: bool, number: int) -> str:
    """The attrition label of a group: its name (or `group N`), `excluding: ...` for an excluding group."""
    shown = name or f"group {number}"
    return f"excluding: {shown}" if exclude else shown


def counts_by(db_path: Path, definition: CohortDefinition, by: str, *, as_of: date | None = None) -> pd.DataFrame:
    """The cohort's `tumors` and `persons` by county of residence at diagnosis (`county_fips`) or reporting
    facility (`reporting_facility`), one row per value (unknown as None), sorted."""
    if by not in COUNT_BY:
        raise InvalidRequest(f"by: unknown {by!r}; choose from {', '.join(COUNT_BY)}")
    scan, params = _scan(definition, as_of or as_of_date(db_path, definition), (by,))
    sql = (f"SELECT {by}, count(*) AS tumors, count(DISTINCT patient_id) AS persons FROM ({scan}) "
           f"WHERE {_all_groups(len(definition.groups))} GROUP BY {by} ORDER BY {by} NULLS LAST")
    with read_connection(db_path) as con:
        return con.execute(sql, params).df()
