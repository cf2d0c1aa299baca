"""Registry-level statistics straight from the store: incidence, survival and recurrence for a filter.

Each function selects tumors with a ``TumorFilter`` (aggregation pushed down to DuckDB by
``registry.cohort``), runs the estimator from ``registry.stats`` and stamps the result with the store's
data vintage, so a page or export can cite exactly which data and method produced every number.
Survival times are in years (days / 365.241, the relsurv convention). Every function takes the caller's
``Principal`` and releases its result through ``registry.privacy.apply_policy``: researchers and
administrators get small cells (and curve points resting on fewer than 16 at risk) withheld and flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from registry.cohort import (
    TumorFilter,
    _case_counts,
    _population_counts,
    _survival_counts,
    _survival_data,
    data_vintage,
)
from registry.operational import open_operational_store
from registry.principal import Principal
from registry.privacy import apply_policy
from registry.ratetables import DAYS_PER_YEAR, us_life_table
from registry.stats import (
    age_adjusted_rates,
    age_specific_rates,
    annotate,
    annual_percent_change,
    cumulative_incidence,
    kaplan_meier,
    relative_survival,
)
from registry.suppression import DifferencingGuard

# recurrenceType1st codes that mean "no recurrence known" (disease-free, never disease-free, unknown).
NO_RECURRENCE = ("00", "70", "88", "99")
RECURRENCE, DEATH_WITHOUT_RECURRENCE = 1, 2


def _stamp(frame: pd.DataFrame, db_path: Path, tumor_filter: TumorFilter) -> pd.DataFrame:
    frame.attrs["data_vintage"] = data_vintage(db_path)
    frame.attrs.setdefault("parameters", {})["filter"] = {
        name: list(value) if isinstance(value, tuple) else value for name, value in asdict(tumor_filter).items()}
    return frame


def incidence_rates(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = (),
                    standard: str = "us2000_19", ci: str = "tiwari", per: int = 100_000,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Age-adjusted incidence rates for the filter, one row per stratum of ``by``, as the role may see them.

    Tumors without a known age, sex or (when grouping by county) county have no denominator and are
    left out; their number is reported in ``attrs["excluded_cases"]``.
    """
    result = _incidence_rates(db_path, tumor_filter, by=by, standard=standard, ci=ci, per=per, alpha=alpha)
    _guard_differencing(principal, db_path, tumor_filter, int(result["count"].sum()))
    return apply_policy(principal, result, kind="aggregate", dimensions=list(by))


def _guard_differencing(principal: Principal, db_path: Path, tumor_filter: TumorFilter, total: int) -> None:
    """Refuse (DisclosureRisk) a case total that differs by 1-15 from one released to the same user under
    a filter differing in one dimension (``registry.suppression.DifferencingGuard``); not for registrars."""
    if principal.role == "registrar":
        return
    spec = {name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(tumor_filter).items() if name != "extra"}
    DifferencingGuard(open_operational_store(db_path)).release(principal.user, spec, total)


def _incidence_rates(db_path: Path, tumor_filter: TumorFilter, *, by: Sequence[str] = (),
                     standard: str = "us2000_19", ci: str = "tiwari", per: int = 100_000,
                     alpha: float = 0.05) -> pd.DataFrame:
    """The rates before release (see ``incidence_rates``)."""
    cases = _case_counts(db_path, tumor_filter, by=by)
    population = _population_counts(db_path, tumor_filter, by=by)
    keys = [*by, "age_group"]
    known = cases.merge(population[keys].drop_duplicates(), on=keys, how="inner")
    excluded = int(cases["count"].sum() - known["count"].sum())
    result = age_adjusted_rates(known, population, by=by, standard=standard, ci=ci, per=per, alpha=alpha)
    result.attrs["excluded_cases"] = excluded
    return _stamp(result, db_path, tumor_filter)


def age_specific(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, per: int = 100_000,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Age-specific incidence rates (exact Poisson intervals) by SEER age group, as the role may see them."""
    cases = _case_counts(db_path, tumor_filter)
    population = _population_counts(db_path, tumor_filter)
    cases = cases.merge(population[["age_group"]], on="age_group", how="inner")
    result = age_specific_rates(cases, population, per=per, alpha=alpha)
    return apply_policy(principal, _stamp(result, db_path, tumor_filter), kind="aggregate",
                        dimensions=["age_group"])


def incidence_trend(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, standard: str = "us2000_19",
                    alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Age-adjusted rate by diagnosis year and its annual percent change (weighted log-linear fit)."""
    raw = _incidence_rates(db_path, tumor_filter, by=("diagnosis_year",), standard=standard, alpha=alpha)
    yearly = apply_policy(principal, raw, kind="aggregate", dimensions=["diagnosis_year"])
    usable = raw[raw["rate"] > 0]
    apc = annual_percent_change(usable["diagnosis_year"].to_numpy(), usable["rate"].to_numpy(),
                                se=usable["std_err"].to_numpy(), alpha=alpha)
    # A trend over years whose rates are withheld would leak them: it is withheld too.
    withheld = bool(yearly["suppressed"].any()) if "suppressed" in yearly.columns else False
    apc["suppressed"] = withheld
    if withheld:
        apc.loc[:, ["apc", "lower", "upper", "p_value", "slope", "slope_se"]] = np.nan
    return yearly, _stamp(apc, db_path, tumor_filter)


def survival(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, method: str = "kaplan-meier",
             times_years: Sequence[float] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Observed (Kaplan-Meier) or net/relative (Pohar-Perme, Ederer II, US life table) survival, in years."""
    if method == "kaplan-meier":
        counts = _survival_counts(db_path, tumor_filter)   # aggregated in DuckDB: one row per time and status
        result = kaplan_meier(counts["time_days"] / DAYS_PER_YEAR, counts["dead"], counts=counts["count"],
                              times=times_years, alpha=alpha)
        result.attrs["patients"] = int(counts["count"].sum())
        return _release_curve(principal, _stamp(result, db_path, tumor_filter))
    data = _survival_data(db_path, tumor_filter)
    if method in ("pohar-perme", "ederer2"):
        times = None if times_years is None else np.asarray(times_years, dtype=float) * DAYS_PER_YEAR
        result = relative_survival(data, us_life_table(), method=method, times=times, alpha=alpha)
        result["time"] = result["time"] / DAYS_PER_YEAR
    else:
        raise ValueError(f"method: unknown {method!r}; use kaplan-meier, pohar-perme or ederer2")
    result.attrs["patients"] = len(data)
    return _release_curve(principal, _stamp(result, db_path, tumor_filter))


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


def recurrence_events(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Time (years) and event code per tumor: 1 first recurrence, 2 death without recurrence, 0 censored."""
    recurred = ~data["recurrence_type_1st"].isin(NO_RECURRENCE) & data["recurrence_date_1st"].notna()
    diagnosis = pd.to_datetime(data["diagnosis_date"])
    recurrence_days = (pd.to_datetime(data["recurrence_date_1st"]) - diagnosis).dt.days
    time_days = np.where(recurred, recurrence_days, data["time_days"])
    event = np.where(recurred, RECURRENCE, np.where(data["dead"] == 1, DEATH_WITHOUT_RECURRENCE, 0))
    return np.maximum(time_days, 0) / DAYS_PER_YEAR, event


def recurrence(principal: Principal, db_path: Path, tumor_filter: TumorFilter, *, times_years: Sequence[float] | None = None,
               alpha: float = 0.05) -> pd.DataFrame:
    """Cumulative incidence of first recurrence with death as a competing event (Aalen-Johansen)."""
    data = _survival_data(db_path, tumor_filter)
    time, event = recurrence_events(data)
    result = cumulative_incidence(time, event, event_of_interest=RECURRENCE, times=times_years, alpha=alpha)
    result.attrs["patients"] = len(data)
    annotate(result, method=str(result.attrs.get("method")) + "; death without recurrence competes",
             alpha=alpha, parameters=result.attrs.get("parameters"))
    return _release_curve(principal, _stamp(result, db_path, tumor_filter))
