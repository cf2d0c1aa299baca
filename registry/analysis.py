"""Registry-level statistics straight from the store: incidence, survival and recurrence for a filter.

Each function selects tumors with a ``TumorFilter`` (aggregation pushed down to DuckDB by
``registry.cohort``), runs the estimator from ``registry.stats`` and hands the result over as a
``registry.release.Release`` carrying the method and the store's data vintage, so a page or export can
cite exactly which data and method produced every number. Survival times are in years (days / 365.241,
the relsurv convention). Every function takes the caller's ``Principal`` and releases through
``registry.release``: researchers and administrators get small cells, differences with earlier releases
and thinned curves instead of per-event detail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from registry.access import READ_POPULATION, READ_UNSUPPRESSED, allowed, require
from registry.cohort import (
    ComparisonGroup,
    TumorFilter,
    _age_error_count,
    _case_counts,
    _population_counts,
    _recurrence_counts,
    _survival_counts,
    _survival_data,
    comparison_groups,
    data_vintage,
)
from registry.errors import InvalidRequest, NotComputable
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.privacy import apply_policy, audited
from registry.ratetables import DAYS_PER_YEAR, us_life_table
from registry.release import (
    GroupSize,
    Provenance,
    Release,
    bare,
    cell_spec,
    provenance_of,
    release_count,
    release_curve,
    release_table,
)
from registry.stats import (
    age_adjusted_rates,
    age_specific_rates,
    age_standardised_survival,
    annotate,
    annual_percent_change,
    cumulative_incidence,
    kaplan_meier,
    recurrence_free_survival,
    recurrence_rate,
    relative_survival,
)
from registry.suppression import DEFAULT_THRESHOLD

RECURRENCE = 1   # event code of a first recurrence in ``registry.cohort._recurrence_counts``


def _provenance(principal: Principal, frame: pd.DataFrame, db_path: Path, tumor_filter: TumorFilter) -> Provenance:
    return provenance_of(frame, principal, tumor_filter, data_vintage(db_path))


CASES = "tumors"                                  # what the ledger counts for incidence tables
OUTSIDE_DENOMINATORS = "tumors without a denominator"
SURVIVAL_PATIENTS = "patients in the survival selection"
RECURRENCES = "first recurrences"
AGE_ERRORS = "tumors with a probable age error"
DIAGNOSTICS = ("effective_n", "max_weight_share")   # how much a net survival point rests on few patients


def incidence_rates(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = (),
                    standard: str = "us2000_19", ci: str = "tiwari", per: int = 100_000,
                    alpha: float = 0.05) -> Release:
    """Age-adjusted incidence rates for the filter, one row per stratum of ``by``, as the role may see them.

    Tumors without a known age, sex or (when grouping by county) county have no denominator and are
    left out; their number is the release's ``excluded_cases`` count (``None`` when withheld).
    """
    raw = _incidence_rates(db_path, tumor_filter, by=by, standard=standard, ci=ci, per=per, alpha=alpha)
    return _rates_release(principal, db_path, tumor_filter, raw, by)


def _rates_release(principal: Principal, db_path: Path, tumor_filter: TumorFilter, raw: pd.DataFrame,
                   by: Sequence[str]) -> Release:
    """A rate table and its count of tumors left out, through the release path."""
    table = release_table(principal, db_path, raw, base=tumor_filter, measure=CASES, dimensions=list(by))
    excluded = release_count(principal, db_path, raw.attrs.get("excluded_cases"),
                             cell_spec(tumor_filter, {}, f"{OUTSIDE_DENOMINATORS} by {', '.join(by) or 'age'}"))
    return Release(table=bare(table), provenance=_provenance(principal, raw, db_path, tumor_filter),
                   counts={"excluded_cases": excluded})


def _incidence_rates(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = (),
                     standard: str = "us2000_19", ci: str = "tiwari", per: int = 100_000,
                     alpha: float = 0.05) -> pd.DataFrame:
    """The rates before release (see ``incidence_rates``)."""
    cases = _case_counts(db_path, tumor_filter, by=by)
    population = _checked_population(db_path, tumor_filter, by)
    keys = [*by, "age_group"]
    known = cases.merge(population[keys].drop_duplicates(), on=keys, how="inner")
    excluded = int(cases["count"].sum() - known["count"].sum())
    result = age_adjusted_rates(known, population, by=by, standard=standard, ci=ci, per=per, alpha=alpha)
    result.attrs["excluded_cases"] = excluded
    return result


MIN_TREND_YEARS = 3   # the fewest years an annual percent change is fitted to
NO_POPULATION = ("no population (denominators) is loaded for these years, areas and sexes: load a SEER "
                 "population file with `registry population load`")


def _checked_population(db_path: Path, tumor_filter: TumorFilter, by: Sequence[str]) -> pd.DataFrame:
    """The filter's person-years, refusing with an actionable message when none are loaded."""
    population = _population_counts(db_path, tumor_filter, by=by)
    if population.empty:
        raise NotComputable(NO_POPULATION)
    return population


def age_specific(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, per: int = 100_000,
                 alpha: float = 0.05) -> Release:
    """Age-specific incidence rates (exact Poisson intervals) by SEER age group, as the role may see them."""
    cases = _case_counts(db_path, tumor_filter)
    population = _checked_population(db_path, tumor_filter, ())
    cases = cases.merge(population[["age_group"]], on="age_group", how="inner")
    raw = age_specific_rates(cases, population, per=per, alpha=alpha)
    table = release_table(principal, db_path, raw, base=tumor_filter, measure=CASES, dimensions=["age_group"])
    return Release(table=bare(table), provenance=_provenance(principal, raw, db_path, tumor_filter))


def incidence_trend(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, standard: str = "us2000_19",
                    alpha: float = 0.05, by: str | None = None) -> tuple[Release, Release]:
    """Age-adjusted rate by diagnosis year and its annual percent change (weighted log-linear fit).

    With ``by`` (``sex`` or ``race``) the years are crossed with that stratum and released as one two-way
    table, so complementary suppression protects a withheld year of one group against the other groups
    and the yearly totals; the APC is then one row per group. A group's APC is withheld when any of its
    years is: the trend would reveal them.
    """
    strata = ("diagnosis_year",) if by is None else ("diagnosis_year", by)
    raw = _incidence_rates(db_path, tumor_filter, by=strata, standard=standard, alpha=alpha)
    yearly = _rates_release(principal, db_path, tumor_filter, raw, strata)
    groups = [(None, raw, yearly.table)] if by is None else \
        [(value, raw[raw[by] == value], yearly.table[yearly.table[by] == value]) for value in raw[by].drop_duplicates()]
    rows = []
    for value, group_raw, group_released in groups:
        usable = group_raw[group_raw["rate"] > 0]
        if len(usable) < MIN_TREND_YEARS:
            raise NotComputable(f"a trend needs at least {MIN_TREND_YEARS} years with cases"
                                + (f" in every group ({value} has {len(usable)})" if by else f", not {len(usable)}"))
        apc = annual_percent_change(usable["diagnosis_year"].to_numpy(), usable["rate"].to_numpy(),
                                    se=usable["std_err"].to_numpy(), alpha=alpha)
        withheld = bool(group_released["suppressed"].any()) if "suppressed" in group_released.columns else False
        apc["suppressed"] = withheld
        if withheld:
            apc.loc[:, ["apc", "lower", "upper", "p_value", "slope", "slope_se"]] = np.nan
        if by is not None:
            apc.insert(0, by, value)
        rows.append(apc)
    trend = pd.concat(rows, ignore_index=True) if by is not None else rows[0]
    return yearly, Release(table=bare(trend), provenance=_provenance(principal, rows[0], db_path, tumor_filter))


def survival(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, method: str = "kaplan-meier",
             times_years: Sequence[float] | None = None, alpha: float = 0.05, by: str | None = None,
             age_standard: str | None = None) -> Release:
    """Observed (Kaplan-Meier) or net/relative (Pohar-Perme, Ederer II, US life table) survival, in years.

    With ``by`` (one of ``registry.cohort.COMPARISONS``) there is one curve per group, told apart by a
    leading ``group`` column; see ``_compare`` for how curves and group sizes are released. ``age_standard``
    (``icss1``, ``icss2``, ``icss3``) age-standardises net survival (``registry.stats.age_standardised``).
    Pohar-Perme at ``times_years`` carries ``effective_n`` and ``max_weight_share`` (how much the estimate
    rests on few heavily weighted patients; ``registry.stats.relative_survival.net_survival_notes``). The
    release's ``age_errors`` count is the tumors left out as probable age errors (``cohort.AGE_ERROR_SQL``).
    """
    if method not in SURVIVAL_METHODS:
        raise InvalidRequest(f"method: unknown {method!r}; use {', '.join(SURVIVAL_METHODS)}")
    if age_standard is not None and (method == "kaplan-meier" or by == "age_band"):
        raise InvalidRequest("age_standard: only for net survival (pohar-perme, ederer2), and not compared by age band")

    def fetch(chosen: TumorFilter, strata: Sequence[str]) -> pd.DataFrame:
        if method == "kaplan-meier":   # aggregated in DuckDB: one row per stratum, time and status
            return _survival_counts(db_path, chosen, by=strata)
        return _survival_data(db_path, chosen, by=strata)

    result = _compare(principal, db_path, tumor_filter, by, fetch, times_years,
                      lambda data, times: _estimate_survival(data, method, times, alpha, age_standard),
                      estimate_column="survival" if method == "kaplan-meier" else "estimate",
                      diagnostics=method == "pohar-perme")   # only Pohar-Perme weighs patients
    age_errors = release_count(principal, db_path, _age_error_count(db_path, tumor_filter),
                               cell_spec(tumor_filter, {}, AGE_ERRORS))
    return replace(result, counts={**result.counts, "age_errors": age_errors})


SURVIVAL_METHODS = ("kaplan-meier", "pohar-perme", "ederer2")


def _estimate_survival(data: pd.DataFrame, method: str, times_years: Sequence[float] | None,
                       alpha: float, age_standard: str | None = None) -> pd.DataFrame:
    """One survival curve from fetched rows (attrs ``patients``: tumors in the survival selection)."""
    if data.empty:   # the estimator's own column name, so a comparison's stacked curves share one column
        return _no_patients("survival" if method == "kaplan-meier" else "estimate")
    if method == "kaplan-meier":
        result = kaplan_meier(data["time_days"] / DAYS_PER_YEAR, data["dead"], counts=data["count"],
                              times=times_years, alpha=alpha)
        result.attrs["patients"] = int(data["count"].sum())
        return result
    times = None if times_years is None else np.asarray(times_years, dtype=float) * DAYS_PER_YEAR
    if age_standard is not None:
        result = age_standardised_survival(data.reset_index(drop=True), us_life_table(), standard=age_standard,
                                           method=method, times=times, alpha=alpha)
    else:
        result = relative_survival(data.reset_index(drop=True), us_life_table(), method=method, times=times,
                                   alpha=alpha)
    result["time"] = result["time"] / DAYS_PER_YEAR
    result.attrs["patients"] = len(data)
    return result


def _no_patients(estimate: str) -> pd.DataFrame:
    """The empty curve of a selection without patients (no estimate exists; ``patients`` is 0)."""
    empty = pd.DataFrame({column: pd.Series(dtype=float) for column in ("time", estimate, "lower", "upper")})
    empty["at_risk"] = pd.Series(dtype="int64")
    empty["events"] = pd.Series(dtype="int64")
    empty.attrs["patients"] = 0
    return annotate(empty, method="no estimate: no patients match the filter")


Fetch = Callable[[TumorFilter, Sequence[str]], pd.DataFrame]
Estimate = Callable[[pd.DataFrame, Sequence[float] | None], pd.DataFrame]


def _group_rows(tumor_filter: TumorFilter, by: str, fetch: Fetch) -> list[tuple[ComparisonGroup, pd.DataFrame]]:
    """Each comparison group with its fetched rows: one query split on the stratum column when the
    comparison is a stratum (stage, sex, race, treatment), else one query per group (age bands, periods)."""
    groups = comparison_groups(tumor_filter, by)
    if all(group.stratum is not None for group in groups):
        rows = fetch(tumor_filter, (by,))
        values = rows[by].astype(str)   # sex comes back as a number from the per-tumor extract
        return [(group, rows[values == group.stratum]) for group in groups]
    return [(group, fetch(group.tumor_filter, ())) for group in groups]


def _compare(principal: Principal, db_path: Path, tumor_filter: TumorFilter, by: str | None, fetch: Fetch,
             times: Sequence[float] | None, estimate: Estimate, *, estimate_column: str,
             diagnostics: bool = False) -> Release:
    """One released curve, or with ``by`` one per comparison group stacked under a ``group`` column.

    Registrars get the estimator's output (at ``times`` when given). Others get curves through
    ``registry.release.release_curve`` (thinned, whole-year anchors, numbers at risk screened), computed
    from the full curve so that every view of the same data shows the same points. Group sizes are
    released like a one-way table (primary and complementary suppression, and the ledger), so a small
    group cannot be recovered from the total and the other groups; a withheld group's curve is withheld.
    """
    full = allowed(principal, READ_UNSUPPRESSED) and times is not None
    requested = times if full else None

    def curve_of(rows: pd.DataFrame) -> pd.DataFrame:
        return estimate(rows, requested)

    def diagnosed(released: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        """Net survival's weight diagnostics at the requested times, beside the released points."""
        if not diagnostics or full or times is None or released.empty or len(rows) == 0:
            return released
        at_times = estimate(rows, times)
        columns = [c for c in DIAGNOSTICS if c in at_times.columns]
        if not columns:
            return released
        values = at_times.assign(key=at_times["time"].round(6)).set_index("key")[columns]
        shown = ~released["suppressed"].astype(bool)
        keys = released["time"].round(6)
        return released.assign(**{c: keys.map(values[c]).where(shown) for c in columns})

    if by is None:
        rows = fetch(tumor_filter, ())
        curve = curve_of(rows)
        patients = int(curve.attrs.get("patients") or 0)
        table = diagnosed(release_curve(principal, db_path, curve, estimate=estimate_column,
                                        spec=cell_spec(tumor_filter, {}, SURVIVAL_PATIENTS), requested=times), rows)
        count = release_count(principal, db_path, patients, cell_spec(tumor_filter, {}, SURVIVAL_PATIENTS))
        return Release(table=table, provenance=_provenance(principal, curve, db_path, tumor_filter),
                       counts={"patients": count})
    fetched = _group_rows(tumor_filter, by, fetch)
    curves = [(group, curve_of(rows)) for group, rows in fetched]
    sizes = pd.DataFrame({"group": [group.label for group, _ in curves],
                          "count": [int(curve.attrs.get("patients") or 0) for _, curve in curves]})
    specs = [cell_spec(group.tumor_filter, {}, SURVIVAL_PATIENTS) for group, _ in curves]
    released_sizes = release_table(principal, db_path, sizes, base=tumor_filter, measure=SURVIVAL_PATIENTS,
                                   dimensions=["group"], cell_specs=specs)
    withheld = released_sizes["suppressed"].astype(bool).tolist() if "suppressed" in released_sizes.columns \
        else [False] * len(curves)
    parts = []
    for (group, curve), (_, rows), spec, hidden in zip(curves, fetched, specs, withheld, strict=True):
        part = release_curve(principal, db_path, curve, estimate=estimate_column, spec=spec, requested=times,
                             withheld=hidden)
        part = part if hidden else diagnosed(part, rows)
        part.insert(0, "group", group.label)
        parts.append(part)
    table = pd.concat([part for part in parts if len(part)] or parts[:1], ignore_index=True)
    groups = tuple(GroupSize(str(row["group"]), None if pd.isna(row["count"]) else int(row["count"]),
                             bool(hidden)) for row, hidden in zip(released_sizes.to_dict("records"), withheld,
                                                                  strict=True))
    total = int(sizes["count"].sum())
    count = total if not any(withheld) else \
        release_count(principal, db_path, total, cell_spec(tumor_filter, {}, SURVIVAL_PATIENTS))
    source = next((c for _, c in curves if c.attrs.get("patients")), curves[0][1])
    return Release(table=table, provenance=_provenance(principal, source, db_path, tumor_filter),
                   counts={"patients": count}, groups=groups, comparison=by)


RECURRENCE_ENDPOINTS = ("cumulative_incidence", "recurrence_free")


def recurrence(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, times_years: Sequence[float] | None = None,
               alpha: float = 0.05, endpoint: str = "cumulative_incidence", by: str | None = None) -> Release:
    """Cumulative incidence of first recurrence with death as a competing event (Aalen-Johansen), or
    recurrence-free survival (Kaplan-Meier of recurrence or death); ``by`` compares groups as ``survival``.
    """
    if endpoint not in RECURRENCE_ENDPOINTS:
        raise InvalidRequest(f"endpoint: unknown {endpoint!r}; use {', '.join(RECURRENCE_ENDPOINTS)}")
    return _compare(principal, db_path, tumor_filter, by,
                    lambda chosen, strata: _recurrence_counts(db_path, chosen, by=strata), times_years,
                    lambda counts, times: _estimate_recurrence(counts, times, alpha, endpoint),
                    estimate_column="estimate")


def _estimate_recurrence(counts: pd.DataFrame, times_years: Sequence[float] | None, alpha: float,
                         endpoint: str) -> pd.DataFrame:
    """One recurrence curve from aggregated rows (one per time and event; attrs ``patients``)."""
    if counts.empty:
        return _no_patients("estimate")
    time, event, weight = counts["time_days"] / DAYS_PER_YEAR, counts["event"], counts["count"]
    if endpoint == "recurrence_free":
        result = recurrence_free_survival(time, event, times=times_years, alpha=alpha, counts=weight)
    else:
        result = cumulative_incidence(time, event, event_of_interest=RECURRENCE, times=times_years, alpha=alpha,
                                      counts=weight)
        annotate(result, method=str(result.attrs.get("method")) + "; death without recurrence competes",
                 alpha=alpha, parameters=result.attrs.get("parameters"))
    result.attrs["patients"] = int(weight.sum())
    return result


def recurrence_rates(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, by: str | None = None,
                     per: float = 100.0, alpha: float = 0.05) -> Release:
    """First recurrences per ``per`` person-years of recurrence-free follow-up (exact Poisson interval),
    one row, or one per comparison group; rates resting on 1-15 recurrences are withheld for non-registrars.
    """
    def fetch(chosen: TumorFilter, strata: Sequence[str]) -> pd.DataFrame:
        return _recurrence_counts(db_path, chosen, by=strata)

    groups = [(None, fetch(tumor_filter, ()))] if by is None else \
        [(group, rows) for group, rows in _group_rows(tumor_filter, by, fetch)]
    rows = []
    facts: dict[str, object] = {}
    for group, counts in groups:
        time = counts["time_days"] / DAYS_PER_YEAR
        if (time * counts["count"]).sum() > 0:
            row = recurrence_rate(time, counts["event"], event_of_interest=RECURRENCE, per=per, alpha=alpha,
                                  counts=counts["count"])
            facts = {str(key): value for key, value in row.attrs.items()}
        else:
            row = pd.DataFrame({"events": [0], "person_years": [0.0], "rate": [np.nan], "lower": [np.nan],
                                "upper": [np.nan], "subjects": [int(counts["count"].sum())]})
        row.insert(0, "group", "All" if group is None else group.label)
        rows.append(row)
    result = pd.concat(rows, ignore_index=True)
    result.attrs.update(facts)
    if "method" not in result.attrs:
        annotate(result, method=f"crude rate per {per:g} person-years, exact Poisson interval", alpha=alpha)
    # A row rests on its recurrences and on its patients: either being 1-15 withholds it (and a complement).
    small_group = result["subjects"].between(1, DEFAULT_THRESHOLD - 1)
    result["cell"] = np.where(small_group, result["subjects"], result["events"])
    specs = None if by is None else [cell_spec(group.tumor_filter, {}, RECURRENCES)
                                     for group, _ in groups if group is not None]
    # Person-years go too: with the usual follow-up they would tell a withheld group's size.
    released = release_table(principal, db_path, result, base=tumor_filter, measure=RECURRENCES, count_column="cell",
                             dimensions=["group"] if by else [], margins=by is not None, cell_specs=specs,
                             derived_columns=["events", "person_years", "rate", "lower", "upper", "subjects"],
                             also={"subjects": SURVIVAL_PATIENTS})
    return Release(table=bare(released.drop(columns="cell")),
                   provenance=_provenance(principal, result, db_path, tumor_filter), comparison=by)


# ---- counts and the survival extract, released through the access policy ----------------------------

COUNT_METHOD = ("count of tumors with a known age at diagnosis (each loaded source tumor record once, until "
                "linkage consolidates reports)")


def case_counts(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                by: Sequence[str] = ()) -> Release:
    """Tumors by SEER age group and strata, as the caller's role may see them (small cells suppressed)."""
    raw = _case_counts(db_path, tumor_filter, by=by)
    table = release_table(principal, db_path, raw, base=tumor_filter, measure="tumors",
                          dimensions=[*by, "age_group"])
    return _counted(principal, table, db_path, tumor_filter, by)


def case_totals(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                by: Sequence[str] = ()) -> Release:
    """Tumors by strata (all ages together), as the caller's role may see them (small cells suppressed)."""
    counts = _case_counts(db_path, tumor_filter, by=by)
    totals = counts.groupby(list(by), as_index=False, dropna=False).agg(count=("count", "sum")) if by else \
        pd.DataFrame({"count": [int(counts["count"].sum())]})
    table = release_table(principal, db_path, totals, base=tumor_filter, measure="tumors", dimensions=list(by))
    return _counted(principal, table, db_path, tumor_filter, by)


def _counted(principal: Principal, table: pd.DataFrame, db_path: Path, tumor_filter: TumorFilter,
             by: Sequence[str]) -> Release:
    """Counts released with their method, filter and data vintage, so a page or CSV can cite them."""
    del principal   # the counting method says nothing about who asked
    spec = {key: value for key, value in tumor_filter.spec().items() if key != "extra"}
    return Release(table=bare(table), provenance=Provenance(method=COUNT_METHOD, data_vintage=data_vintage(db_path),
                                                            filter=spec, settings={"by": list(by)}))


def population_counts(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                      by: Sequence[str] = ()) -> Release:
    """Person-years by age group and strata (public denominators: any signed-in role)."""
    require(principal, READ_POPULATION)
    return Release(table=bare(_population_counts(db_path, tumor_filter, by=by)),
                   provenance=Provenance(method="person-years from the loaded SEER population files",
                                         data_vintage=data_vintage(db_path), settings={"by": list(by)}))


def survival_data(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *,
                  by: Sequence[str] = ()) -> Release:
    """One row per tumor for survival analysis, as the caller's role may see it; the release is audited.

    Registrars get identifiers and full dates; researchers a de-identified extract (dates as years, no
    record numbers; full dates with the ``lds`` grant); administrators no record-level data at all.
    """
    released = apply_policy(principal, _survival_data(db_path, tumor_filter, by=by), kind="record")
    audited(open_operational_store(db_path), principal, "search", {"survival_data": tumor_filter, "by": list(by)},
            released)
    return Release(table=bare(released), provenance=Provenance(
        method="one row per tumor in the SEER survival selection", data_vintage=data_vintage(db_path),
        settings={"by": list(by)}))
