"""Data-quality certification per diagnosis year: the NAACCR Gold and Silver criteria and the NPCR data quality
standards, with the IARC indicators that cost nothing more, each figure drillable to the records behind it.

Criteria (definitions in docs/architecture.md, "Data-quality certification"; thresholds in
``registry/data/certification_standards.csv``, sources in ``registry/data/README.md``):

* completeness: observed tumors of the sites the reference rates cover / expected cases, where expected =
  sum over site, sex and age group of the US reference rate (``reference_incidence_rates.csv``, USCS 2019)
  x the store's population of that year (like with like: only sites, sexes and behaviors the reference
  counts are observed; ``reference_incidence_sites.csv`` says which registry tumors each site takes);
* timeliness: completeness counting only the tumors whose earliest report had arrived 23 months (12 months)
  after the close of the diagnosis year (``date_case_report_received``), judged once that deadline has passed;
* DCO %: tumors known from a death certificate only (type of reporting source 7);
* unresolved duplicates per 1,000: pending linkage and multiple-primary questions (the linkage counts their
  records apart until a reviewer decides) naming a tumor of the year;
* missing age, sex, county and race %: age unknown (999), sex 9 or blank, county 999 or blank, race 99 or blank;
* passing the edits %: tumors without an error-level failure, on their own consolidated values, of an edit
  that reads an item incidence statistics are computed from (site, histology, behavior, diagnosis date, age,
  birth date, sex, race, state and county at diagnosis);
* IARC indicators (no pass or fail): microscopically verified % (confirmation 1-4) and unknown or
  ill-defined primary site % (C80.9, C76.0-C76.8, C26.9, C39.9).

Which tumors a year certifies is ``registry.certification_store`` (malignant, plus in situ bladder; residents).
Every function takes the caller's ``Principal`` first: the figures need ``view-data-quality`` and are released
through ``registry.release`` (administrators get counts of 1-15 withheld with every figure computed from
them); the records behind a figure need ``data-quality-records`` (registrars) and are audited as a
``record-view`` with purpose ``data-quality``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from registry.access import DATA_QUALITY_RECORDS, VIEW_DATA_QUALITY, require, require_audited
from registry.audit import record_event
from registry.certification_store import (
    DEADLINE_SQL,
    MISSING_SQL,
    certified_among,
    certified_tumors,
    diagnosis_years,
    failing_edits,
    late_tumors,
    person_years,
    publication_edits_ran,
    tumors_by_site,
    yearly_counts,
)
from registry.cohort import data_vintage
from registry.edits import edit_definitions
from registry.errors import InvalidRequest, NotComputable
from registry.link_review import pending_pairs
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.release import Provenance, Release, bare, release_table
from registry.worklist import UNFINISHED, tumor_work_items
from registry.worklist_store import Question, question_reports

PURPOSE = "data-quality"


@dataclass(frozen=True)
class Criterion:
    """One certification figure: what it says, its unit, and whether records stand behind it."""

    label: str
    unit: str            # "%" or "per 1,000"
    records: str         # what the drill-down lists ("" when no record stands behind the figure)


CRITERIA: dict[str, Criterion] = {
    "completeness": Criterion("Completeness (observed / expected)", "%", ""),
    "completeness_23_months": Criterion("Timeliness: completeness at 23 months", "%",
                                        "tumors of the reference sites not reported within 23 months"),
    "completeness_12_months": Criterion("Timeliness: completeness at 12 months", "%",
                                        "tumors of the reference sites not reported within 12 months"),
    "dco": Criterion("Death certificate only", "%", "tumors known from a death certificate only"),
    "duplicates": Criterion("Unresolved duplicates", "per 1,000", "pending linkage and multiple-primary questions"),
    "missing_age": Criterion("Missing age", "%", "tumors without an age at diagnosis"),
    "missing_sex": Criterion("Missing sex", "%", "tumors of patients without a known sex"),
    "missing_county": Criterion("Missing county", "%", "tumors without a county at diagnosis"),
    "missing_race": Criterion("Missing race", "%", "tumors of patients without a known race"),
    "passing_edits": Criterion("Passing the incidence edits", "%", "tumors failing an incidence edit, with their work item"),
    "microscopically_verified": Criterion("Microscopically verified (IARC)", "%",
                                          "tumors not microscopically verified"),
    "unknown_site": Criterion("Unknown or ill-defined primary site (IARC)", "%", "tumors with an unknown primary site"),
}
STANDARDS: dict[str, str] = {"naaccr_gold": "NAACCR Gold", "naaccr_silver": "NAACCR Silver",
                             "npcr_national": "NPCR National (23-month data)",
                             "npcr_advanced": "NPCR Advanced (12-month data)"}
COMPARISONS = {">=": "≥", "<": "<", "<=": "≤"}
# Items incidence statistics are computed from: an error-level edit reading one of them is an incidence edit.
INCIDENCE_ITEMS = frozenset({"primarySite", "histologicTypeIcdO3", "behaviorCodeIcdO3", "dateOfDiagnosis",
                             "ageAtDiagnosis", "dateOfBirth", "sex", "sexAssignedAtBirth", "race1", "addrAtDxState",
                             "countyAtDx"})
MEASURE = "tumors certified"   # what the ledger counts for a criterion (with the criterion in the cell's filter)
METHOD = ("data-quality certification: NAACCR Gold/Silver and NPCR criteria per diagnosis year over malignant "
          "tumors (and in situ bladder) of residents; expected cases from USCS 2019 age-specific rates x the "
          "loaded population")


def _data(name: str) -> pd.DataFrame:
    with resources.files("registry").joinpath("data", name).open(encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


@cache
def standards() -> pd.DataFrame:
    """The thresholds: criterion, standard, comparison (>=, <, <=) and threshold (a number)."""
    table = _data("certification_standards.csv")
    table["threshold"] = table["threshold"].astype(float)
    return table


@cache
def reference_rates() -> pd.DataFrame:
    """Reference age-specific rates per person-year: site_key, sex, age_group, rate."""
    table = _data("reference_incidence_rates.csv")
    return table.assign(rate=table["rate_per_100k"].astype(float) / 100_000)[["site_key", "sex", "age_group", "rate"]]


@cache
def reference_sites() -> pd.DataFrame:
    """Which registry tumors each reference site takes: one row per site, recode, histology range, behavior
    and sex (the sexes the reference has rates for), with the primary sites it is limited to (``sites``,
    None: any) or that it leaves out (``excluded_sites``)."""
    sites = _data("reference_incidence_sites.csv")
    sexes = reference_rates().groupby("site_key")["sex"].unique()
    rows = []
    for row in sites.to_dict("records"):
        ranges = [part.split("-") for part in row["histologies"].split()] or [[None]]
        for low, *high in ranges:
            for behavior in row["behaviors"].split():
                for sex in sexes[row["site_key"]]:
                    rows.append({"site_key": row["site_key"], "site_recode": row["site_recode"],
                                 "histology_low": None if low is None else int(low),
                                 "histology_high": None if low is None else int(high[0] if high else low),
                                 "sites": row["sites"].split() or None, "excluded_sites": row["excluded_sites"].split(),
                                 "behavior": behavior, "sex": sex})
    frame = pd.DataFrame(rows)
    frame[["histology_low", "histology_high"]] = frame[["histology_low", "histology_high"]].astype("Int64")
    return frame


def site_labels() -> dict[str, str]:
    """Reference site key -> label."""
    sites = _data("reference_incidence_sites.csv")
    return dict(zip(sites["site_key"], sites["label"], strict=False))


def incidence_edits() -> list[str]:
    """Ids of the error-level edits that read an item incidence statistics are computed from."""
    return [e.id for e in edit_definitions() if e.severity == "error" and INCIDENCE_ITEMS & set(e.items)]


# ---- the figures, before release -----------------------------------------------------------------------

def _expected(db_path: Path, years: Sequence[int]) -> pd.DataFrame:
    """Expected cases by year and reference site: rate x person-years, summed over sex and age group."""
    population = person_years(db_path, years)
    cells = population.merge(reference_rates(), on=["sex", "age_group"])
    cells["expected"] = cells["population"] * cells["rate"]
    return cells.groupby(["diagnosis_year", "site_key"], as_index=False).agg(expected=("expected", "sum"))


def _duplicates(db_path: Path, years: Sequence[int]) -> pd.DataFrame:
    """Pending questions naming a certified tumor, one row per (question, tumor): review_id, kind, keys,
    registry_tumor_id, diagnosis_year."""
    pending = pending_pairs(open_operational_store(db_path))
    columns = ["review_id", "kind", "left_key", "right_key", "registry_tumor_id", "diagnosis_year"]
    if not pending:
        return pd.DataFrame(columns=columns)
    named = question_reports(db_path, [Question(p.review_id, p.kind, key) for p in pending
                                       for key in (p.left_key, p.right_key)])
    certified = certified_among(db_path, years, named["registry_tumor_id"].astype(int).tolist())
    rows = named[["review_id", "registry_tumor_id"]].drop_duplicates().merge(
        certified.rename(columns={"tumor_id": "registry_tumor_id"}), on="registry_tumor_id")
    keys = pd.DataFrame([{"review_id": p.review_id, "kind": p.kind, "left_key": p.left_key,
                          "right_key": p.right_key} for p in pending])
    return rows.merge(keys, on="review_id")[columns].sort_values(["diagnosis_year", "review_id", "registry_tumor_id"])


def deadline_of(year: int, criterion: str) -> date:
    """The last day a timeliness criterion counts reports of a diagnosis year: the close of the year plus 23
    months (30 November two years on) or 12 months (31 December of the next year)."""
    return date(year + 2, 11, 30) if criterion == "completeness_23_months" else date(year + 1, 12, 31)


def _figures(db_path: Path, years: Sequence[int]) -> pd.DataFrame:
    """One row per year x criterion: count (the figure's numerator), denominator, value and ``cell`` (the
    smallest count the row lets one read: it decides suppression)."""
    counts: dict[int, dict[str, float]] = {
        int(row["diagnosis_year"]): {str(k): float(v) for k, v in row.items()}
        for row in yearly_counts(db_path, years, incidence_edits()).to_dict("records")}
    expected = _expected(db_path, years)
    observed = tumors_by_site(db_path, years, reference_sites())
    expected_by_year = expected.groupby("diagnosis_year")["expected"].sum()
    observed_by_year: dict[int, dict[str, float]] = {
        int(row["diagnosis_year"]): {str(k): float(v) for k, v in row.items()}
        for row in observed.groupby("diagnosis_year", as_index=False)[["count", "dated", *DEADLINE_SQL]].sum()
        .to_dict("records")}
    questions = _duplicates(db_path, years)[["diagnosis_year", "review_id"]].drop_duplicates()
    duplicates = Counter(int(year) for year in questions["diagnosis_year"])   # questions per diagnosis year
    edited = publication_edits_ran(db_path)
    rows: list[dict[str, object]] = []

    def add(year: int, criterion: str, count: float, denominator: float, scale: float,
            reveals: Sequence[float], deadline: date | None = None) -> None:
        value = scale * count / denominator if denominator and not np.isnan(count) else np.nan
        shown = [int(c) for c in reveals if not np.isnan(c) and c > 0]
        rows.append({"diagnosis_year": year, "criterion": criterion, "count": count, "denominator": denominator,
                     "value": value, "cell": min(shown, default=0),
                     "deadline": deadline.isoformat() if deadline else ""})

    for year in years:
        found = counts.get(year, {})
        tumors = found.get("tumors", 0.0)
        seen_by_site = observed_by_year.get(year, {})
        seen = seen_by_site.get("count", 0.0)
        expected_cases = float(expected_by_year.get(year, np.nan))
        add(year, "completeness", seen, expected_cases, 100, [seen, tumors - seen, tumors])
        for criterion in DEADLINE_SQL:
            arrived = seen_by_site[criterion] if seen_by_site.get("dated", 0) > 0 else np.nan
            add(year, criterion, arrived, expected_cases, 100, [arrived, seen - arrived, tumors],
                deadline=deadline_of(year, criterion))
        for criterion in ("dco", *MISSING_SQL, "microscopically_verified", "unknown_site"):
            number = found.get(criterion, 0.0)
            add(year, criterion, number, tumors, 100, [number, tumors - number, tumors])
        pending = float(duplicates.get(int(year), 0))
        add(year, "duplicates", pending, tumors, 1000, [pending, tumors])
        passing = tumors - found.get("failing_edits", 0.0) if edited else np.nan
        add(year, "passing_edits", passing, tumors, 100, [passing, tumors - passing, tumors])
    frame = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate(CRITERIA)}
    return frame.sort_values(["diagnosis_year", "criterion"], key=lambda c: c.map(order) if c.name == "criterion"
                             else c, kind="stable").reset_index(drop=True)


def _judged(table: pd.DataFrame) -> pd.DataFrame:
    """Label, unit, each standard's threshold (as text) and pass/fail (None: no threshold, the value is withheld
    or not computable, or a timeliness deadline has not passed yet) beside each released row."""
    out = table.copy()
    out.insert(2, "label", out["criterion"].map(lambda c: CRITERIA[c].label))
    out.insert(3, "unit", out["criterion"].map(lambda c: CRITERIA[c].unit))
    limits = standards().set_index(["criterion", "standard"])
    today = datetime.now(UTC).date()
    for standard in STANDARDS:
        texts: list[str] = []
        passes: list[bool | None] = []
        for criterion, value, deadline in zip(out["criterion"], out["value"], out["deadline"], strict=True):
            if deadline and date.fromisoformat(deadline) >= today:
                value = np.nan   # not due yet: no verdict
            if (criterion, standard) not in limits.index:
                texts.append("")
                passes.append(None)
                continue
            row = limits.loc[(criterion, standard)]
            texts.append(f"{COMPARISONS[row['comparison']]} {row['threshold']:g}")
            passes.append(None if pd.isna(value) else bool(_meets(float(value), row["comparison"],
                                                                   float(row["threshold"]))))
        out[standard] = texts
        out[f"{standard}_pass"] = pd.Series(passes, index=out.index, dtype=object)
    return out


def _meets(value: float, comparison: str, threshold: float) -> bool:
    return {">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[comparison]


# ---- released figures ----------------------------------------------------------------------------------

def _years(db_path: Path, years: Sequence[int] | None) -> list[int]:
    chosen = diagnosis_years(db_path) if years is None else sorted({int(y) for y in years})
    if not chosen:
        raise NotComputable("the registry has no tumors with a diagnosis year yet")
    return chosen


def _release(principal: Principal, db_path: Path, raw: pd.DataFrame) -> pd.DataFrame:
    """Each criterion's years released as one table through the ledger: the cell decides; the count,
    denominator and value are withheld with it."""
    parts = []
    for criterion, rows in raw.groupby("criterion", sort=False):
        released = release_table(principal, db_path, rows.reset_index(drop=True), base={"certification": criterion},
                                 measure=f"{MEASURE}: {criterion}", dimensions=["diagnosis_year"], count_column="cell",
                                 derived_columns=["count", "denominator", "value"])
        parts.append(released)
    table = pd.concat(parts, ignore_index=True).drop(columns="cell")
    order = {name: i for i, name in enumerate(CRITERIA)}
    return table.sort_values(["diagnosis_year", "criterion"], key=lambda c: c.map(order) if c.name == "criterion"
                             else c, kind="stable").reset_index(drop=True)


def certification(principal: Principal, db_path: Path, years: Sequence[int] | None = None) -> Release:
    """The scorecard: one row per diagnosis year x criterion with its count, denominator, value, each
    standard's threshold and pass/fail (``years`` None: every diagnosis year of the registry)."""
    require(principal, VIEW_DATA_QUALITY)
    chosen = _years(db_path, years)
    table = _judged(_release(principal, db_path, _figures(db_path, chosen)))
    note = "" if publication_edits_ran(db_path) else "; passing the edits not computed: the publication edits have not run"
    return Release(table=bare(table), provenance=Provenance(
        method=METHOD + note, data_vintage=data_vintage(db_path), settings={"start": chosen[0], "end": chosen[-1]}))


def certification_trend(principal: Principal, db_path: Path) -> Release:
    """The scorecard of every diagnosis year of the registry, for a trend over years."""
    return certification(principal, db_path, None)


def completeness_by_site(principal: Principal, db_path: Path, year: int) -> Release:
    """Observed tumors, expected cases and completeness (%) of each reference site for one diagnosis year."""
    require(principal, VIEW_DATA_QUALITY)
    expected = _expected(db_path, [year])
    if expected.empty:
        raise NotComputable(f"no population is loaded for {year}: expected cases need one "
                            "(load a SEER population file with `registry population load`)")
    observed = tumors_by_site(db_path, [year], reference_sites())
    labels = site_labels()
    table = pd.DataFrame({"site_key": list(labels)})
    table["label"] = table["site_key"].map(labels)
    table["count"] = table["site_key"].map(observed.set_index("site_key")["count"]).fillna(0).astype(int)
    table["expected"] = table["site_key"].map(expected.set_index("site_key")["expected"]).fillna(0.0)
    table["completeness"] = np.where(table["expected"] > 0, 100 * table["count"] / table["expected"].where(
        table["expected"] > 0), np.nan)
    released = release_table(principal, db_path, table, base={"certification": "completeness", "first_year": year,
                                                               "last_year": year},
                             measure=f"{MEASURE}: completeness by site", dimensions=["site_key"],
                             derived_columns=["completeness"])
    return Release(table=bare(released), provenance=Provenance(
        method=METHOD, data_vintage=data_vintage(db_path), settings={"start": year, "end": year}))


# ---- the records behind a figure (registrars) ----------------------------------------------------------

RECORD_COLUMNS = ["registry_tumor_id", "registry_patient_id", "diagnosis_year", "date_of_diagnosis",
                  "primary_site", "reporting_facility", "detail"]


def quality_records(principal: Principal, db_path: Path, year: int, criterion: str) -> Release:
    """The records behind one figure of one year: the tumors (with their patient) that make it up, or for
    duplicates the pending questions and the tumors they name, or for the edits the failing tumors with their
    failures and work item. Registrars only; audited as a record view (purpose data-quality)."""
    ops = open_operational_store(db_path)
    require_audited(principal, DATA_QUALITY_RECORDS, ops, purpose=PURPOSE, diagnosis_year=year, criterion=criterion)
    if criterion not in CRITERIA:
        raise InvalidRequest(f"criterion: unknown {criterion!r}; choose from {', '.join(CRITERIA)}")
    if not CRITERIA[criterion].records:
        raise InvalidRequest(f"{criterion}: no record stands behind it (it compares counts with expected cases); "
                             "see completeness by site")
    table = _records(db_path, ops, int(year), criterion)
    record_event(ops, principal, "record-view", purpose=PURPOSE, diagnosis_year=int(year), criterion=criterion,
                 tumors=sorted({int(t) for t in table["registry_tumor_id"]}), rows=len(table))
    return Release(table=bare(table), provenance=Provenance(
        method=f"{CRITERIA[criterion].records} ({CRITERIA[criterion].label}, {year})",
        data_vintage=data_vintage(db_path), settings={"start": int(year), "end": int(year)}))


def _records(db_path: Path, ops: object, year: int, criterion: str) -> pd.DataFrame:
    """The rows of ``quality_records`` (see there), before auditing."""
    if criterion == "duplicates":
        rows = _duplicates(db_path, [year])
        return rows.rename(columns={"left_key": "left_record", "right_key": "right_record"}).merge(
            certified_tumors(db_path, [year], None)[["tumor_id", "patient_id"]].rename(
                columns={"tumor_id": "registry_tumor_id", "patient_id": "registry_patient_id"}),
            on="registry_tumor_id")[["review_id", "kind", "left_record", "right_record", "registry_tumor_id",
                                     "registry_patient_id", "diagnosis_year"]].reset_index(drop=True)
    if criterion in DEADLINE_SQL:
        late = late_tumors(db_path, [year], reference_sites(), criterion)
        detail = [f"received {r.date()} after {d.date()}" if pd.notna(r) else "no received date"
                  for r, d in zip(pd.to_datetime(late["date_case_report_received"]), pd.to_datetime(late["deadline"]),
                                  strict=True)]
        return late.rename(columns={"tumor_id": "registry_tumor_id", "patient_id": "registry_patient_id"}).assign(
            detail=detail)[RECORD_COLUMNS].reset_index(drop=True)
    condition = {"passing_edits": "failing_edits",
                 "microscopically_verified": None}.get(criterion, criterion)
    tumors = certified_tumors(db_path, [year], condition, incidence_edits())
    if criterion == "microscopically_verified":
        tumors = tumors[~tumors["diagnostic_confirmation"].isin(["1", "2", "3", "4"])]
    detail = {
        "dco": lambda t: "type of reporting source " + t["type_of_reporting_source"].fillna(""),
        "missing_age": lambda t: pd.Series("age at diagnosis unknown", index=t.index),
        "missing_sex": lambda t: "sex " + t["sex"].fillna("blank"),
        "missing_county": lambda t: "county " + t["county_at_dx"].fillna("blank"),
        "missing_race": lambda t: "race 1 " + t["race1"].fillna("blank"),
        "microscopically_verified": lambda t: "diagnostic confirmation " + t["diagnostic_confirmation"].fillna("blank"),
        "unknown_site": lambda t: "primary site " + t["primary_site"].fillna("blank"),
        "passing_edits": lambda t: pd.Series("", index=t.index),
    }[criterion](tumors)
    out = tumors.rename(columns={"tumor_id": "registry_tumor_id", "patient_id": "registry_patient_id"}).assign(
        detail=detail)[RECORD_COLUMNS].reset_index(drop=True)
    if criterion != "passing_edits":
        return out
    failures = failing_edits(db_path, out["registry_tumor_id"].tolist(), incidence_edits())
    said: dict[int, list[str]] = {}
    for tumor, edit, message in zip(failures["tumor_id"], failures["edit_id"], failures["message"], strict=True):
        said.setdefault(int(tumor), []).append(f"{edit}: {message}")
    out["detail"] = ["; ".join(said.get(int(t), [])) for t in out["registry_tumor_id"]]
    items = tumor_work_items(ops, out["registry_tumor_id"].astype(int).tolist())   # type: ignore[arg-type]
    out["work_item_id"] = [next((i.work_item_id for i in items.get(int(t), []) if i.status in UNFINISHED),
                                next((i.work_item_id for i in items.get(int(t), [])), None))
                           for t in out["registry_tumor_id"]]
    out["work_item_id"] = out["work_item_id"].astype("Int64")
    return out
