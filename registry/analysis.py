"""Registry-level statistics straight from the store: incidence, survival and recurrence for a filter.

Each function selects tumors with a ``TumorFilter`` (aggregation pushed down to DuckDB by
``registry.cohort``), runs the estimator from ``registry.stats`` and stamps the result with the store's
data vintage, so a page or export can cite exactly which data and method produced every number.
Survival times are in years (days / 365.241, the relsurv convention). Every function takes the caller's
``Principal`` and releases its result through ``registry.privacy.apply_policy``: researchers and
administrators get small cells (and curve points resting on fewer than 16 at risk) withheld and flagged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

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
from registry.operational import open_operational_store
from registry.principal import Principal
from registry.privacy import DEFAULT_THRESHOLD, apply_policy
from registry.ratetables import DAYS_PER_YEAR, us_life_table
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
from registry.suppression import CellGuard, DifferencingGuard

RECURRENCE = 1   # event code of a first recurrence in ``registry.cohort._recurrence_counts``


def _stamp(frame: pd.DataFrame, db_path: Path, tumor_filter: TumorFilter) -> pd.DataFrame:
    frame.attrs["data_vintage"] = data_vintage(db_path)
    frame.attrs.setdefault("parameters", {})["filter"] = tumor_filter.spec()
    return frame


def incidence_rates(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = (),
                    standard: str = "us2000_19", ci: str = "tiwari", per: int = 100_000,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Age-adjusted incidence rates for the filter, one row per stratum of ``by``, as the role may see them.

    Tumors without a known age, sex or (when grouping by county) county have no denominator and are
    left out; their number is reported in ``attrs["excluded_cases"]`` (``None`` when it is 1-15 and the
    role may not see small counts).
    """
    result = _incidence_rates(db_path, tumor_filter, by=by, standard=standard, ci=ci, per=per, alpha=alpha)
    _guard_differencing(principal, db_path, tumor_filter, int(result["count"].sum()))
    return _release_excluded(principal, _release_cells(principal, db_path, tumor_filter, result, by))


RANGE_LIMITS = frozenset({"first_year", "last_year", "min_age", "max_age"})   # TumorFilter's range bounds


def _release_cells(principal: Principal, db_path: Path, tumor_filter: TumorFilter, raw: pd.DataFrame,
                   dimensions: Sequence[str]) -> pd.DataFrame:
    """An aggregate table released through the policy, with the cell-level differencing guard for roles
    that get suppressed tables: a cell whose count differs by 1-15 from one released earlier under a
    filter differing in one dimension is withheld (with complements), and the released cells are kept."""
    if principal.role == "registrar":
        return apply_policy(principal, raw, kind="aggregate", dimensions=list(dimensions))
    guard = CellGuard(open_operational_store(db_path), bounds=RANGE_LIMITS)
    base = {name: value for name, value in tumor_filter.spec().items() if name != "extra"}
    table = raw.reset_index(drop=True)
    cells = [({**base, **{d: row[d] for d in dimensions}}, int(row["count"]))
             for row in table[[*dimensions, "count"]].to_dict("records")]
    released = apply_policy(principal, table, kind="aggregate", dimensions=list(dimensions),
                            withhold=guard.screen(principal.user, cells))
    shown = ~released["suppressed"].astype(bool).to_numpy() if "suppressed" in released.columns else \
        [True] * len(cells)
    guard.record(principal.user, [cell for cell, keep in zip(cells, shown, strict=True) if keep])
    return released


def _release_excluded(principal: Principal, frame: pd.DataFrame) -> pd.DataFrame:
    """The number of cases left out of the rates is a count too: 1-15 is withheld for non-registrars."""
    return _release_counts(principal, frame, "excluded_cases")


def _release_counts(principal: Principal, frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    """Counts carried in ``attrs`` (cases left out, patients) set to ``None`` when 1-15 for non-registrars."""
    if principal.role != "registrar":
        for name in names:
            value = frame.attrs.get(name)
            if value is not None and 1 <= int(value) < DEFAULT_THRESHOLD:
                frame.attrs[name] = None
    return frame


def _guard_differencing(principal: Principal, db_path: Path, tumor_filter: TumorFilter, total: int) -> None:
    """Refuse (DisclosureRisk) a case total that differs by 1-15 from one released to the same user under
    a filter differing in one dimension (``registry.suppression.DifferencingGuard``); not for registrars."""
    if principal.role == "registrar":
        return
    spec = {name: value for name, value in tumor_filter.spec().items() if name != "extra"}
    DifferencingGuard(open_operational_store(db_path)).release(principal.user, spec, total)


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
    return _stamp(result, db_path, tumor_filter)


NO_POPULATION = ("no population (denominators) is loaded for these years, areas and sexes: load a SEER "
                 "population file with `registry population load`")


def _checked_population(db_path: Path, tumor_filter: TumorFilter, by: Sequence[str]) -> pd.DataFrame:
    """The filter's person-years, refusing with an actionable message when none are loaded."""
    population = _population_counts(db_path, tumor_filter, by=by)
    if population.empty:
        raise ValueError(NO_POPULATION)
    return population


def age_specific(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, per: int = 100_000,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Age-specific incidence rates (exact Poisson intervals) by SEER age group, as the role may see them."""
    cases = _case_counts(db_path, tumor_filter)
    population = _checked_population(db_path, tumor_filter, ())
    cases = cases.merge(population[["age_group"]], on="age_group", how="inner")
    result = age_specific_rates(cases, population, per=per, alpha=alpha)
    return _release_cells(principal, db_path, tumor_filter, _stamp(result, db_path, tumor_filter), ["age_group"])


def incidence_trend(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, standard: str = "us2000_19",
                    alpha: float = 0.05, by: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Age-adjusted rate by diagnosis year and its annual percent change (weighted log-linear fit).

    With ``by`` (``sex`` or ``race``) the years are crossed with that stratum and released as one two-way
    table, so complementary suppression protects a withheld year of one group against the other groups
    and the yearly totals; the APC is then one row per group. A group's APC is withheld when any of its
    years is: the trend would reveal them.
    """
    strata = ("diagnosis_year",) if by is None else ("diagnosis_year", by)
    raw = _incidence_rates(db_path, tumor_filter, by=strata, standard=standard, alpha=alpha)
    yearly = _release_excluded(principal, _release_cells(principal, db_path, tumor_filter, raw, strata))
    groups = [(None, raw, yearly)] if by is None else \
        [(value, raw[raw[by] == value], yearly[yearly[by] == value]) for value in raw[by].drop_duplicates()]
    rows = []
    for value, group_raw, group_released in groups:
        usable = group_raw[group_raw["rate"] > 0]
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
    trend.attrs.update(rows[0].attrs)
    return yearly, _stamp(trend, db_path, tumor_filter)


def survival(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, method: str = "kaplan-meier",
             times_years: Sequence[float] | None = None, alpha: float = 0.05, by: str | None = None,
             age_standard: str | None = None) -> pd.DataFrame:
    """Observed (Kaplan-Meier) or net/relative (Pohar-Perme, Ederer II, US life table) survival, in years.

    With ``by`` (one of ``registry.cohort.COMPARISONS``) there is one curve per group, told apart by a
    leading ``group`` column; see ``_compare`` for how small groups are released. ``age_standard``
    (``icss1``, ``icss2``, ``icss3``) age-standardises net survival (``registry.stats.age_standardised``).
    Pohar-Perme at ``times_years`` carries ``effective_n`` and ``max_weight_share`` (how much the estimate
    rests on few heavily weighted patients; ``registry.stats.relative_survival.net_survival_notes``).
    """
    if method not in SURVIVAL_METHODS:
        raise ValueError(f"method: unknown {method!r}; use {', '.join(SURVIVAL_METHODS)}")
    if age_standard is not None and (method == "kaplan-meier" or by == "age_band"):
        raise ValueError("age_standard: only for net survival (pohar-perme, ederer2), and not compared by age band")

    def fetch(chosen: TumorFilter, strata: Sequence[str]) -> pd.DataFrame:
        if method == "kaplan-meier":   # aggregated in DuckDB: one row per stratum, time and status
            return _survival_counts(db_path, chosen, by=strata)
        return _survival_data(db_path, chosen, by=strata)

    result = _compare(principal, db_path, tumor_filter, by, fetch,
                      lambda data: _estimate_survival(data, method, times_years, alpha, age_standard))
    # Tumors left out as probable age errors (cohort.AGE_ERROR_SQL): a count, released as one.
    result.attrs["age_errors"] = _age_error_count(db_path, tumor_filter)
    return _release_counts(principal, result, "age_errors")


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
    empty.attrs["patients"] = 0
    return annotate(empty, method="no estimate: no patients match the filter")


Fetch = Callable[[TumorFilter, Sequence[str]], pd.DataFrame]


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
             estimate: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """One released curve, or with ``by`` one per comparison group stacked under a ``group`` column.

    Group sizes are released like a one-way table (primary and complementary suppression), so a small
    group cannot be recovered from the overall total and the other groups: for researchers and
    administrators a withheld group's whole curve is withheld. ``attrs["groups"]`` lists each group's
    released number of patients; ``attrs["patients"]`` is the total over the groups.
    """
    if by is None:
        curve = _stamp(estimate(fetch(tumor_filter, ())), db_path, tumor_filter)
        return _release_counts(principal, _release_curve(principal, curve), "patients")
    curves = [(group.label, _stamp(estimate(rows), db_path, group.tumor_filter))
              for group, rows in _group_rows(tumor_filter, by, fetch)]
    sizes = pd.DataFrame({"group": [label for label, _ in curves],
                          "count": [int(curve.attrs.get("patients") or 0) for _, curve in curves]})
    released_sizes = apply_policy(principal, sizes, kind="aggregate", dimensions=["group"])
    withheld = set(released_sizes.loc[released_sizes["suppressed"].astype(bool), "group"]) \
        if "suppressed" in released_sizes.columns else set()
    parts = []
    for label, curve in curves:
        released = _release_curve(principal, curve)
        if label in withheld:
            released = _withhold(released)
        released.insert(0, "group", label)
        parts.append(released)
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(next((c.attrs for _, c in curves if c.attrs.get("patients")), curves[0][1].attrs))
    _stamp(out, db_path, tumor_filter)
    out.attrs["comparison"] = by
    out.attrs["groups"] = [{"group": row["group"], "patients": None if pd.isna(row["count"]) else int(row["count"]),
                            "suppressed": bool(row.get("suppressed", False))}
                           for row in released_sizes.to_dict("records")]
    out.attrs["patients"] = int(sizes["count"].sum())
    return _release_counts(principal, out, "patients")


def _withhold(curve: pd.DataFrame) -> pd.DataFrame:
    """Every point of a released curve withheld: estimates and counts blanked, flagged suppressed."""
    out = curve.copy()
    for column in out.columns:
        if column != "time" and pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(out[column]):
            out[column] = np.nan
    out["suppressed"] = True
    return out


def _release_curve(principal: Principal, curve: pd.DataFrame) -> pd.DataFrame:
    """A survival-type curve as the role may see it.

    For researchers and administrators, points resting on 1-15 at risk are withheld, and the per-time
    event and censoring counts are left out (they are small by nature; the curve itself is the release).
    """
    counts = ["events", "censored", "competing_events"]
    if principal.role != "registrar":
        curve = curve.drop(columns=[c for c in counts if c in curve.columns])
    derived = [c for c in curve.columns if c not in ("time", "at_risk", *counts)]
    return apply_policy(principal, curve, kind="aggregate", count_column="at_risk", dimensions=[],
                        derived_columns=derived, margins=False)


RECURRENCE_ENDPOINTS = ("cumulative_incidence", "recurrence_free")


def recurrence(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, times_years: Sequence[float] | None = None,
               alpha: float = 0.05, endpoint: str = "cumulative_incidence", by: str | None = None) -> pd.DataFrame:
    """Cumulative incidence of first recurrence with death as a competing event (Aalen-Johansen), or
    recurrence-free survival (Kaplan-Meier of recurrence or death); ``by`` compares groups as ``survival``.
    """
    if endpoint not in RECURRENCE_ENDPOINTS:
        raise ValueError(f"endpoint: unknown {endpoint!r}; use {', '.join(RECURRENCE_ENDPOINTS)}")
    return _compare(principal, db_path, tumor_filter, by,
                    lambda chosen, strata: _recurrence_counts(db_path, chosen, by=strata),
                    lambda counts: _estimate_recurrence(counts, times_years, alpha, endpoint))


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
                     per: float = 100.0, alpha: float = 0.05) -> pd.DataFrame:
    """First recurrences per ``per`` person-years of recurrence-free follow-up (exact Poisson interval),
    one row, or one per comparison group; rates resting on 1-15 recurrences are withheld for non-registrars.
    """
    def fetch(chosen: TumorFilter, strata: Sequence[str]) -> pd.DataFrame:
        return _recurrence_counts(db_path, chosen, by=strata)

    groups = [("All", fetch(tumor_filter, ()))] if by is None else \
        [(group.label, rows) for group, rows in _group_rows(tumor_filter, by, fetch)]
    rows = []
    facts: dict[str, object] = {}
    for label, counts in groups:
        time = counts["time_days"] / DAYS_PER_YEAR
        if (time * counts["count"]).sum() > 0:
            row = recurrence_rate(time, counts["event"], event_of_interest=RECURRENCE, per=per, alpha=alpha,
                                  counts=counts["count"])
            facts = {str(key): value for key, value in row.attrs.items()}
        else:
            row = pd.DataFrame({"events": [0], "person_years": [0.0], "rate": [np.nan], "lower": [np.nan],
                                "upper": [np.nan], "subjects": [int(counts["count"].sum())]})
        row.insert(0, "group", label)
        rows.append(row)
    result = pd.concat(rows, ignore_index=True)
    result.attrs.update(facts)
    if "method" not in result.attrs:
        annotate(result, method=f"crude rate per {per:g} person-years, exact Poisson interval", alpha=alpha)
    result.attrs["comparison"] = by
    # A row rests on its recurrences and on its patients: either being 1-15 withholds it (and a complement).
    small_group = result["subjects"].between(1, DEFAULT_THRESHOLD - 1)
    result["cell"] = np.where(small_group, result["subjects"], result["events"])
    # Person-years go too: with the usual follow-up they would tell a withheld group's size.
    released = apply_policy(principal, _stamp(result, db_path, tumor_filter), kind="aggregate", count_column="cell",
                            dimensions=["group"] if by else [], margins=by is not None,
                            derived_columns=["events", "person_years", "rate", "lower", "upper", "subjects"])
    return released.drop(columns="cell")
