"""Funding and workload figures: what the registry receives, holds and does, for its funders and managers.

Cases by reporting facility and diagnosis year (source reports received and consolidated registry tumors),
site groups by year with their trend, recurrences by site, first-course treatment, primary payer at
diagnosis, residency, timeliness of reporting and the registrars' workload. Every figure counts every tumor
the registry holds, whatever its behavior (the caseload), unlike the Explore pages, which count invasive
tumors. Each function takes the caller's ``Principal`` (VIEW_PROGRAM_STATISTICS: registrars and
administrators) and returns a ``registry.release.Release``: administrators are non-registrars, so counts of
1-15 and their complements are withheld and every cell and margin passes the differencing ledger; a
percentage is a derived column, withheld with its count. The annual report (``registry.annual_report``)
is built from these functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from registry.access import READ_UNSUPPRESSED, VIEW_PROGRAM_STATISTICS, allowed, require
from registry.batches import records_loaded_by_month
from registry.cohort import (
    RECURRED_SQL,
    TREATMENT_GROUP_LABELS,
    TREATMENT_GROUP_SQL,
    TumorFilter,
    data_vintage,
)
from registry.corrections import corrections_by_month
from registry.errors import InvalidRequest
from registry.export_variables import code_labels
from registry.link_review import decisions_by_month
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.release import Provenance, Release, bare, cell_spec, release_count, release_table
from registry.site_recode import SITE_GROUPS, UNKNOWN
from registry.stats import annual_percent_change
from registry.store import read_connection
from registry.suppression import DEFAULT_THRESHOLD, SUPPRESSED
from registry.worklist import resolutions_by_month

Years = tuple[int, int] | None
REPORTS = "source tumor reports received"
TUMORS = "registry tumors (any behavior)"
MIN_TREND_YEARS = 3
RECURRENCE_KINDS = {"0": "in situ", "1": "local", "2": "regional", "3": "regional", "4": "distant", "5": "distant",
                    "6": "distant"}
NO_RECURRENCE = "no recurrence known"
# NAACCR Addr at DX--State codes that name no US state or Canadian province (item 80).
RESIDENCE_UNKNOWN = ("ZZ", "")
OUTSIDE_US_CANADA = ("XX", "YY")
RESIDENCY = ("resident, reported in state", "resident, reported only by another registry",
             "non-resident, reported in state", "outside the US and Canada", "residence unknown")


# ---- shared pieces ------------------------------------------------------------------------------------

def _scope(years: Years) -> TumorFilter:
    """The filter the ledger files every cell under: the years, and every behavior."""
    if years is not None and years[0] > years[1]:
        raise InvalidRequest(f"years: {years[0]} is after {years[1]}")
    return TumorFilter(behaviors=(), first_year=None if years is None else int(years[0]),
                       last_year=None if years is None else int(years[1]))


def _years_sql(column: str, years: Years) -> tuple[str, list[Any]]:
    """``column BETWEEN ? AND ?`` (or TRUE for every year) and its parameters."""
    if years is None:
        return "TRUE", []
    return f"{column} BETWEEN ? AND ?", [int(years[0]), int(years[1])]


def _read(db_path: Path, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    with read_connection(db_path) as con:
        return con.execute(sql, list(params)).df()


def _provenance(db_path: Path, years: Years, method: str) -> Provenance:
    spec = {key: value for key, value in _scope(years).spec().items() if key != "extra"}
    return Provenance(method=method, data_vintage=data_vintage(db_path), filter=spec)


def _share(raw: pd.DataFrame, within: str) -> pd.Series:
    """Each row's count as a percentage of its ``within`` group's total (released: see ``_released``)."""
    totals = raw.groupby(within, dropna=False)["count"].transform("sum")
    return (100.0 * raw["count"] / totals.where(totals > 0)).astype(float)


def _site_names(codes: pd.Series) -> pd.Series:
    names = dict(zip(SITE_GROUPS["code"], SITE_GROUPS["name"], strict=True))
    return codes.map(lambda code: names.get(str(code), str(code)))


def _released(principal: Principal, db_path: Path, raw: pd.DataFrame, years: Years, measure: str,
              dimensions: list[str], *, share_within: str | None = None,
              totals: pd.Series | None = None) -> pd.DataFrame:
    """The table through the release path; with ``share_within``, its ``percent`` column (a share of that
    dimension's group) is withheld with its count, and a group's total, which a shown count and its
    percentage give away, is screened and recorded by the ledger like any count (percentages of a group
    whose total would disclose a small difference are withheld). ``totals`` gives each group's registry tumors
    when the rows do not add up to them (modalities: a tumor may have several)."""
    released = bare(release_table(principal, db_path, raw, base=_scope(years), measure=measure,
                                  dimensions=dimensions, derived_columns=["percent"] if share_within else []))
    if share_within is None or allowed(principal, READ_UNSUPPRESSED):
        return released
    group_totals = raw.groupby(share_within, dropna=False)["count"].sum() if totals is None else totals
    for value, total in group_totals.items():
        rows = released[share_within].astype(str) == str(value)   # groups are never missing (coalesced, dated)
        if released.loc[rows, "percent"].notna().any() and release_count(
                principal, db_path, int(total), cell_spec(_scope(years), {share_within: value}, TUMORS)) is None:
            released.loc[rows, "percent"] = np.nan
    return released


# ---- cases by facility and year ------------------------------------------------------------------------

FACILITY_COUNTS = """SELECT coalesce(reporting_facility, 'unknown') AS reporting_facility, diagnosis_year,
                            count(*) AS count
                     FROM {table} WHERE {years} GROUP BY ALL ORDER BY reporting_facility, diagnosis_year"""


def cases_by_facility(principal: Principal, db_path: Path, years: Years = None) -> Release:
    """Reports received (source tumor records, by the facility that sent them) and registry tumors (by the
    consolidated reporting facility), by diagnosis year: one table, ``counted`` telling the two apart, each
    released as its own two-way table. The counts beside are the two grand totals."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    parts, totals = [], {}
    for counted, table, measure in (("reports received", "tumor", REPORTS), ("registry tumors", "registry_tumor", TUMORS)):
        where, params = _years_sql("diagnosis_year", years)
        raw = _read(db_path, FACILITY_COUNTS.format(table=table, years=where), params)
        released = _released(principal, db_path, raw, years, measure, ["reporting_facility", "diagnosis_year"])
        released.insert(0, "counted", counted)
        parts.append(released)
        key = "reports" if table == "tumor" else "registry_tumors"
        totals[key] = release_count(principal, db_path, int(raw["count"].sum()), cell_spec(_scope(years), {}, measure))
    return Release(table=bare(pd.concat(parts, ignore_index=True)), counts=totals, provenance=_provenance(
        db_path, years, "count of source tumor reports received by reporting facility and diagnosis year, and of "
                        "registry tumors (each cancer once, its reports linked) by consolidated reporting facility"))


# ---- site groups by year, with the trend ----------------------------------------------------------------

def site_groups_by_year(principal: Principal, db_path: Path, years: Years = None) -> tuple[Release, Release]:
    """Registry tumors by SEER site recode group and diagnosis year, and per group the annual percent change
    of its yearly counts (weighted log-linear fit, Poisson standard errors; years without cases left out;
    ``registry.stats.annual_percent_change``). A group's APC is withheld when any of its years is, and not
    fitted (NaN, ``n_years`` says why) with fewer than three years with cases."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    where, params = _years_sql("diagnosis_year", years)
    raw = _read(db_path, f"""SELECT coalesce(site_recode, '{UNKNOWN}') AS site_recode, diagnosis_year, count(*) AS count
                             FROM registry_tumor WHERE {where} AND diagnosis_year IS NOT NULL
                             GROUP BY ALL ORDER BY site_recode, diagnosis_year""", params)
    raw.insert(1, "site_group", _site_names(raw["site_recode"]))
    yearly = _released(principal, db_path, raw, years, TUMORS, ["site_recode", "diagnosis_year"])
    rows, method = [], "no trend fitted"
    for code, group in raw.groupby("site_recode", sort=True):
        shown = yearly[yearly["site_recode"] == code]
        withheld = bool(shown[SUPPRESSED].any()) if SUPPRESSED in shown.columns else False
        usable = group[group["count"] > 0]
        row: dict[str, Any] = {"site_recode": code, "site_group": group["site_group"].iloc[0], "apc": np.nan,
                               "lower": np.nan, "upper": np.nan, "p_value": np.nan, "n_years": len(usable),
                               SUPPRESSED: withheld}
        if len(usable) >= MIN_TREND_YEARS and not withheld:
            counts = usable["count"].to_numpy(dtype=float)
            fit = annual_percent_change(usable["diagnosis_year"].to_numpy(dtype=float), counts, se=np.sqrt(counts))
            row.update({key: float(fit[key].iloc[0]) for key in ("apc", "lower", "upper", "p_value")})
            method = str(fit.attrs.get("method"))
        rows.append(row)
    trend = pd.DataFrame(rows, columns=["site_recode", "site_group", "apc", "lower", "upper", "p_value", "n_years",
                                        SUPPRESSED])
    provenance = _provenance(db_path, years, "count of registry tumors by SEER site recode (ICD-O-3 2023) group "
                                             "and diagnosis year")
    trend_provenance = _provenance(db_path, years, f"{method}; fitted to yearly case counts (weights = counts, "
                                                   f"Poisson), groups with fewer than {MIN_TREND_YEARS} years with "
                                                   "cases not fitted")
    return Release(table=bare(yearly), provenance=provenance), Release(table=bare(trend), provenance=trend_provenance)


# ---- recurrences, treatment, payer ----------------------------------------------------------------------

def recurrences_by_site(principal: Principal, db_path: Path, years: Years = None) -> Release:
    """Registry tumors by site group and kind of first recurrence (in situ, local, regional, distant, or none
    known: disease-free, never disease-free, unknown, or no date), with each kind's percentage of the group."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    where, params = _years_sql("t.diagnosis_year", years)
    raw = _read(db_path, f"""SELECT coalesce(t.site_recode, '{UNKNOWN}') AS site_recode,
                                    CASE WHEN {RECURRED_SQL} THEN substr(t.recurrence_type_1st, 1, 1) END AS kind,
                                    count(*) AS count
                             FROM registry_tumor t WHERE {where} GROUP BY ALL""", params)
    raw["recurrence"] = raw.pop("kind").map(lambda k: RECURRENCE_KINDS.get(str(k), NO_RECURRENCE))
    raw = raw.groupby(["site_recode", "recurrence"], as_index=False).agg(count=("count", "sum"))
    raw.insert(1, "site_group", _site_names(raw["site_recode"]))
    raw["percent"] = _share(raw, "site_recode")
    released = _released(principal, db_path, raw, years, TUMORS, ["site_recode", "recurrence"],
                         share_within="site_recode")
    return Release(table=released, provenance=_provenance(
        db_path, years, "count of registry tumors by site group and Recurrence Type--1st (NAACCR item 1880: a "
                        "type other than 00, 70, 88, 99 with a recurrence date), percent of the site group"))


MODALITIES = {"surgery": "Surgery", "radiation": "Radiation", "chemotherapy": "Chemotherapy",
              "hormone": "Hormone therapy", "immunotherapy": "Immunotherapy",
              "transplant_endocrine": "Transplant or endocrine procedure", "other": "Other treatment"}
TREATMENT_VIEWS = ("combination", "modality")


def treatment_mix(principal: Principal, db_path: Path, years: Years = None, *, by: str = "combination") -> Release:
    """Registry tumors by site group and first-course treatment, with each row's percentage of the group.

    ``by="combination"``: the combination of modalities given (surgery, radiation, systemic therapy; none;
    unknown), one per tumor. ``by="modality"``: per modality (``MODALITIES``), the tumors any report says it
    was given to (a tumor counts under each of its modalities, so a group's rows do not add up to it).
    """
    require(principal, VIEW_PROGRAM_STATISTICS)
    if by not in TREATMENT_VIEWS:
        raise InvalidRequest(f"by: unknown {by!r}; use {' or '.join(TREATMENT_VIEWS)}")
    where, params = _years_sql("t.diagnosis_year", years)
    if by == "modality":
        return _modalities(principal, db_path, years, where, params)
    raw = _read(db_path, f"""SELECT coalesce(t.site_recode, '{UNKNOWN}') AS site_recode,
                                    {TREATMENT_GROUP_SQL} AS treatment_group, count(*) AS count
                             FROM registry_tumor t WHERE {where} GROUP BY ALL ORDER BY ALL""", params)
    raw.insert(1, "site_group", _site_names(raw["site_recode"]))
    raw.insert(3, "treatment", raw["treatment_group"].map(TREATMENT_GROUP_LABELS))
    raw["percent"] = _share(raw, "site_recode")
    released = _released(principal, db_path, raw, years, TUMORS, ["site_recode", "treatment_group"],
                         share_within="site_recode")
    return Release(table=released, provenance=_provenance(
        db_path, years, "count of registry tumors by site group and first-course treatment combination (a "
                        "modality counts when any report says it was given), percent of the site group"))


def _modalities(principal: Principal, db_path: Path, years: Years, where: str, params: list[Any]) -> Release:
    """The ``by="modality"`` view of ``treatment_mix``."""
    sites = f"coalesce(t.site_recode, '{UNKNOWN}')"
    totals = _read(db_path, f"SELECT {sites} AS site_recode, count(*) AS count FROM registry_tumor t WHERE {where} "
                            "GROUP BY ALL", params).set_index("site_recode")["count"]
    raw = _read(db_path, f"""SELECT {sites} AS site_recode, x.modality, count(DISTINCT t.tumor_id) AS count
                             FROM registry_tumor t JOIN registry_treatment x ON x.tumor_id = t.tumor_id AND x.given
                             WHERE {where} GROUP BY ALL ORDER BY ALL""", params)
    raw.insert(1, "site_group", _site_names(raw["site_recode"]))
    raw.insert(3, "treatment", raw["modality"].map(MODALITIES))
    raw["percent"] = (100.0 * raw["count"] / raw["site_recode"].map(totals)).astype(float)
    released = _released(principal, db_path, raw, years, "registry tumors given a modality",
                         ["site_recode", "modality"], share_within="site_recode", totals=totals)
    return Release(table=released, provenance=_provenance(
        db_path, years, "count of registry tumors by site group given each first-course modality (any report "
                        "says given; a tumor counts under each of its modalities), percent of the site group"))


def payer_mix(principal: Principal, db_path: Path, years: Years = None) -> Release:
    """Registry tumors by diagnosis year and Primary Payer at DX (NAACCR item 630, labelled from the NAACCR
    code list in registry/data/code_labels.csv), with each payer's percentage of the year."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    where, params = _years_sql("diagnosis_year", years)
    raw = _read(db_path, f"""SELECT diagnosis_year, coalesce(primary_payer_at_dx, '') AS payer, count(*) AS count
                             FROM registry_tumor WHERE {where} AND diagnosis_year IS NOT NULL
                             GROUP BY ALL ORDER BY ALL""", params)
    labels = code_labels().get("primaryPayerAtDx", {})
    raw.insert(2, "payer_label", raw["payer"].map(lambda c: labels.get(str(c), "not coded" if c == "" else str(c))))
    raw["percent"] = _share(raw, "diagnosis_year")
    released = _released(principal, db_path, raw, years, TUMORS, ["diagnosis_year", "payer"],
                         share_within="diagnosis_year")
    return Release(table=released, provenance=_provenance(
        db_path, years, "count of registry tumors by diagnosis year and Primary Payer at DX (NAACCR item 630), "
                        "percent of the year"))


# ---- residency --------------------------------------------------------------------------------------

def registry_state(db_path: Path) -> tuple[str | None, str]:
    """The registry's own state (postal abbreviation) and how it is known: the one state of the loaded
    population files when they cover exactly one, otherwise the most common Addr at DX--State of the
    registry tumors (None when neither exists)."""
    with read_connection(db_path) as con:
        states = {s for row in con.execute("SELECT states FROM population_load").fetchall() for s in (row[0] or [])}
        if len(states) == 1:
            return next(iter(states)), "the state of the loaded population file"
        row = con.execute("""SELECT addr_at_dx_state FROM registry_tumor
                             WHERE addr_at_dx_state IS NOT NULL AND addr_at_dx_state NOT IN ('XX', 'YY', 'ZZ')
                             GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""").fetchall()
    return (str(row[0][0]), "the most common state of residence at diagnosis") if row else (None, "unknown")


RESIDENCY_SQL = """
    WITH own AS (SELECT registry_id FROM patient WHERE registry_id IS NOT NULL
                 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
    reported AS (SELECT l.registry_tumor_id, bool_or(p.registry_id IS NULL OR p.registry_id = (SELECT registry_id FROM own))
                        AS in_state
                 FROM tumor_link l JOIN tumor s ON s.tumor_id = l.source_tumor_id
                 JOIN patient p ON p.patient_id = s.patient_id GROUP BY 1)
    SELECT t.diagnosis_year, coalesce(t.addr_at_dx_state, '') AS state, coalesce(r.in_state, true) AS in_state,
           count(*) AS count
    FROM registry_tumor t LEFT JOIN reported r ON r.registry_tumor_id = t.tumor_id
    WHERE {years} AND t.diagnosis_year IS NOT NULL GROUP BY ALL"""


def _residency(state: str, in_state: bool, own: str | None) -> str:
    if state in RESIDENCE_UNKNOWN or own is None:
        return RESIDENCY[4]
    if state in OUTSIDE_US_CANADA:
        return RESIDENCY[3]
    if state == own:
        return RESIDENCY[0] if in_state else RESIDENCY[1]
    return RESIDENCY[2]


def residency(principal: Principal, db_path: Path, years: Years = None) -> Release:
    """Registry tumors by diagnosis year and residency: residents of the registry's state (``registry_state``)
    reported by its own facilities or only by another registry (reports in files whose Registry ID, NAACCR
    item 40, is not the registry's own, the most common one: interstate exchange, i.e. treated out of
    state), non-residents reported in state (treated in state), residence outside the US and Canada, or
    unknown; with each category's percentage of the year. Where no report came from another registry the
    method says that residents treated out of state cannot be counted from the data."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    own, how = registry_state(db_path)
    where, params = _years_sql("t.diagnosis_year", years)
    raw = _read(db_path, RESIDENCY_SQL.format(years=where), params)
    with read_connection(db_path) as con:
        registries = int(con.execute("SELECT count(DISTINCT registry_id) FROM patient").fetchall()[0][0])
    raw["residency"] = [_residency(str(s), bool(i), own) for s, i in zip(raw["state"], raw["in_state"], strict=True)]
    raw = raw.groupby(["diagnosis_year", "residency"], as_index=False).agg(count=("count", "sum"))
    raw["percent"] = _share(raw, "diagnosis_year")
    released = _released(principal, db_path, raw, years, TUMORS, ["diagnosis_year", "residency"],
                         share_within="diagnosis_year")
    allow = ("reports from other registries were loaded" if registries > 1 else
             "no reports from other registries were loaded, so residents treated out of state cannot be counted")
    return Release(table=released, provenance=_provenance(
        db_path, years, f"count of registry tumors by Addr at DX--State against the registry's state "
                        f"({own or 'unknown'}: {how}); {allow}"))


# ---- timeliness -----------------------------------------------------------------------------------------

TIMELINESS_SQL = """
    SELECT coalesce(reporting_facility, 'unknown') AS reporting_facility,
           count(*) AS count,
           median(datediff('day', date_of_diagnosis, date_case_report_received)) AS median_days,
           count(*) FILTER (WHERE date_case_report_received <= date_of_diagnosis + INTERVAL 6 MONTH) AS within_6_months,
           count(*) FILTER (WHERE date_case_report_received <= date_of_diagnosis + INTERVAL 12 MONTH) AS within_12_months
    FROM tumor WHERE {years} AND date_of_diagnosis IS NOT NULL AND date_case_report_received IS NOT NULL
    GROUP BY ALL ORDER BY reporting_facility"""
TIMELINESS_COUNTS = ("count", "within_6_months", "within_12_months")


def timeliness(principal: Principal, db_path: Path, years: Years = None) -> Release:
    """Per reporting facility, its reports (source tumor records) with a diagnosis date and a received date
    (NAACCR item 2111): the median days from diagnosis to receipt and the shares received within 6 and 12
    months (calendar months) of diagnosis. For non-registrars a facility is withheld whole when its reports,
    or the reports within or beyond either limit, number 1-15 (each would follow from the shares). The count
    beside (``without_received_date``) is the reports of those years lacking either date."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    where, params = _years_sql("diagnosis_year", years)
    raw = _read(db_path, TIMELINESS_SQL.format(years=where), params)
    for column in TIMELINESS_COUNTS:
        raw[column] = raw[column].astype("int64")
    raw["median_days"] = raw["median_days"].astype(float)
    raw["share_6_months"] = 100.0 * raw["within_6_months"] / raw["count"]
    raw["share_12_months"] = 100.0 * raw["within_12_months"] / raw["count"]
    parts = [raw["count"], raw["within_6_months"], raw["count"] - raw["within_6_months"], raw["within_12_months"],
             raw["count"] - raw["within_12_months"]]
    small = [part.where(part.between(1, DEFAULT_THRESHOLD - 1)) for part in parts]
    raw["cell"] = pd.concat(small, axis=1).min(axis=1).fillna(raw["count"]).astype("int64")
    released = release_table(principal, db_path, raw, base=_scope(years), measure="reports with a received date",
                             count_column="cell", dimensions=["reporting_facility"],
                             derived_columns=[*TIMELINESS_COUNTS, "median_days", "share_6_months", "share_12_months"],
                             also={"count": "reports with a received date"})
    with read_connection(db_path) as con:
        missing = int(con.execute(f"SELECT count(*) FILTER (WHERE date_of_diagnosis IS NULL OR "
                                  f"date_case_report_received IS NULL) FROM tumor WHERE {where}",
                                  params).fetchall()[0][0])
    lacking = release_count(principal, db_path, missing, cell_spec(_scope(years), {}, "reports without a received date"))
    return Release(table=bare(released.drop(columns="cell")), counts={"without_received_date": lacking},
                   provenance=_provenance(db_path, years, "reports by reporting facility: median days from "
                                                          "diagnosis to Date Case Report Received (NAACCR item "
                                                          "2111), shares received within 6 and 12 months"))


# ---- registrar workload ---------------------------------------------------------------------------------

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _months(months: tuple[str, str] | None) -> tuple[str, str] | None:
    """Checked (first, last) months, YYYY-MM."""
    if months is None:
        return None
    for month in months:
        if not MONTH.fullmatch(str(month)):
            raise InvalidRequest(f"months: {month!r} is not a month (YYYY-MM)")
    if months[0] > months[1]:
        raise InvalidRequest(f"months: {months[0]} is after {months[1]}")
    return str(months[0]), str(months[1])


def registrar_workload(principal: Principal, db_path: Path, months: tuple[str, str] | None = None) -> Release:
    """Per person and month (UTC): tumor records loaded (ingest batches they loaded), link reviews decided,
    work items resolved or closed as valid (the worklist sync's automatic resolutions left out) and
    registry-level corrections made. One long table (``activity``, ``person``, ``month``, ``count``), each
    activity released as its own two-way table."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    chosen = _months(months)
    ops = open_operational_store(db_path)
    sources = {"records loaded": records_loaded_by_month(db_path),
               "link reviews decided": pd.DataFrame(decisions_by_month(ops), columns=["person", "month", "count"]),
               "work items resolved": pd.DataFrame(resolutions_by_month(ops), columns=["person", "month", "count"]),
               "corrections made": corrections_by_month(db_path)}
    base = {"months": list(chosen) if chosen else "all"}
    parts = []
    for activity, raw in sources.items():
        raw = raw[["person", "month", "count"]].copy()
        raw["count"] = raw["count"].astype("int64")
        if chosen is not None:
            raw = raw[raw["month"].between(*chosen)].reset_index(drop=True)
        released = bare(release_table(principal, db_path, raw, base=base, measure=activity,
                                      dimensions=["person", "month"]))
        released.insert(0, "activity", activity)
        parts.append(released)
    table = pd.concat(parts, ignore_index=True)
    return Release(table=bare(table), provenance=Provenance(
        method="per person and month: tumor records loaded (ingest_batch.loaded_by), link reviews decided, work "
               "items resolved or closed as valid, registry-level corrections",
        data_vintage=data_vintage(db_path), filter=base))

