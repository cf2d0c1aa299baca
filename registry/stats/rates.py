"""Incidence and mortality rates: age-specific, directly age-adjusted, and ratios of adjusted rates.

Inputs are two long frames: ``cases`` (``age_group``, ``count`` and the ``by`` columns) and ``population``
(``age_group``, ``population`` and the ``by`` columns). Age groups are SEER age-group codes (``00``,
``01-04``, ``05-09`` ... ``80-84``, ``85+``; also ``00-04``, ``85-89``, ``90+``, ``90-94``, ``95-99``,
``95+``, ``100+``). Rows repeating a stratum and age group are summed, so frames may carry finer detail
(years, counties) than ``by`` asks for.

Conventions, following the SEER*Stat rate algorithms
(https://seer.cancer.gov/help/seerstat/equations-and-algorithms/rate-algorithms):

- an age group with no row in ``cases`` has a count of zero;
- ``population`` must have a row for every age group of every stratum (an age group present in ``cases``
  but missing from ``population`` is an error, as is a stratum missing an age group the others have);
- an age group with zero count and zero population contributes a rate of zero; an age group with cases but
  zero population has its population set to its count for the rate and the interval weights, and the
  stratum's ``note`` says so;
- a stratum whose whole population is zero has undefined rates (NaN) and a ``note``;
- a zero count gives a rate of zero with a valid (positive) upper confidence limit.

Nothing here suppresses small numbers; age-adjusted rates on fewer than ``SMALL_COUNT`` cases raise a
:class:`StatisticalWarning`.

Every result records its method, parameters, standard and alpha with
:func:`registry.stats.result.annotate`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from registry.standard_populations import age_group_bounds, standard_age_groups
from registry.stats.result import StatisticalWarning, annotate

SMALL_COUNT = 16
"""Age-adjusted rates on fewer cases than this are flagged with a :class:`StatisticalWarning` (SEER
suppresses rates based on fewer than 16 cases as statistically unreliable)."""

AGE_ADJUSTED_CI = ("tiwari", "gamma")
AGE_SPECIFIC_CI = ("exact",)

_STRATUM = "__stratum__"

_METHOD_AGE_ADJUSTED = {
    "tiwari": ("Direct age adjustment (SEER*Stat rate algorithms); modified gamma interval of Tiwari, "
               "Clegg & Zou (2006, Stat Methods Med Res 15:547-569)"),
    "gamma": ("Direct age adjustment (SEER*Stat rate algorithms); gamma interval of Fay & Feuer "
              "(1997, Stat Med 16:791-801)"),
}
_METHOD_AGE_SPECIFIC = ("Age-specific rates; exact Poisson (Garwood 1936) interval from chi-square "
                        "quantiles")
_METHOD_RATIO = {
    "tiwari": ("Ratio of age-adjusted rates; F interval of Fay (1999, Commun Stat Theory Methods "
               "28:2141-2160) with the Tiwari, Clegg & Zou (2006) modification"),
    "gamma": ("Ratio of age-adjusted rates; F interval of Fay (1999, Commun Stat Theory Methods "
              "28:2141-2160)"),
}


# --------------------------------------------------------------------------------------------------
# input checks and shaping


def _by_columns(by: str | Sequence[str]) -> list[str]:
    columns = [by] if isinstance(by, str) else list(by)
    if len(set(columns)) != len(columns):
        raise ValueError(f"by names a column twice: {columns}")
    reserved = {"age_group", "count", "population", _STRATUM}
    clash = [c for c in columns if c in reserved]
    if clash:
        raise ValueError(f"by may not name {clash}: those columns are the rate inputs")
    return columns


def _require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(frame.columns)}")


def _shown(values: Sequence[Any], limit: int = 10) -> str:
    shown = [v for v in values][:limit]
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{shown}{more}"


def _check_values(frame: pd.DataFrame, name: str, column: str) -> pd.Series:
    """The column as float, after checking it is numeric, present and not negative."""
    try:
        values = pd.to_numeric(frame[column], errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}[{column!r}] must be numeric: {exc}") from None
    if values.isna().any():
        raise ValueError(f"{name}[{column!r}] has missing values in {int(values.isna().sum())} row(s)")
    if np.isinf(values).any():
        raise ValueError(f"{name}[{column!r}] has infinite values")
    negative = values < 0
    if negative.any():
        bad = sorted(set(values[negative].tolist()))
        raise ValueError(f"{name}[{column!r}] has negative values: {_shown(bad)}")
    return values


def _check_age_groups(frame: pd.DataFrame, name: str, bounds: Mapping[str, tuple[float, float]]) -> pd.Series:
    codes = frame["age_group"]
    if codes.isna().any():
        raise ValueError(f"{name}['age_group'] has missing values in {int(codes.isna().sum())} row(s)")
    codes = codes.astype(str)
    unknown = sorted(set(codes) - set(bounds))
    if unknown:
        raise ValueError(f"{name}['age_group'] has unknown age-group codes {_shown(unknown)}; "
                         f"expected SEER codes such as '00', '01-04', '05-09', ..., '80-84', '85+'")
    return codes


def _integral(values: pd.Series) -> pd.Series:
    """Integer dtype when every value is a whole number (counts and populations usually are)."""
    if len(values) and np.all(np.mod(values.to_numpy(float), 1) == 0):
        return values.astype("int64")
    return values


def _describe(keys: Sequence[str], values: Any) -> str:
    if keys == [_STRATUM]:
        return "all data"
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v!r}" for k, v in zip(keys, values, strict=True))


def _grid(cases: pd.DataFrame, population: pd.DataFrame, by: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per stratum x age group of the data: keys, age_group, age_lo, age_hi, count, population.

    Checks the inputs; raises ValueError naming the column and values at fault.
    """
    _require_columns(cases, "cases", ["age_group", "count", *by])
    _require_columns(population, "population", ["age_group", "population", *by])
    bounds = age_group_bounds()
    keys = by or [_STRATUM]

    c = cases[by].copy()
    c["age_group"] = _check_age_groups(cases, "cases", bounds).to_numpy()
    c["count"] = _check_values(cases, "cases", "count").to_numpy()
    p = population[by].copy()
    p["age_group"] = _check_age_groups(population, "population", bounds).to_numpy()
    p["population"] = _check_values(population, "population", "population").to_numpy()
    if not by:
        c[_STRATUM] = 0
        p[_STRATUM] = 0
    if p.empty:
        raise ValueError("population has no rows")

    c = c.groupby([*keys, "age_group"], dropna=False, sort=False, observed=True, as_index=False)[["count"]].sum()
    p = p.groupby([*keys, "age_group"], dropna=False, sort=False, observed=True, as_index=False)[["population"]].sum()

    # The data's age groups must not overlap (e.g. '00-04' next to '00').
    codes = sorted(set(p["age_group"]) | set(c["age_group"]), key=lambda code: bounds[code])
    for first, second in zip(codes, codes[1:], strict=False):
        if bounds[second][0] <= bounds[first][1]:
            raise ValueError(f"age groups overlap: {first!r} and {second!r} both occur in the data "
                             f"(cases['age_group'] / population['age_group']); use one age grouping")

    # Population must be complete: every stratum, every age group of the data.
    strata = pd.concat([p[keys], c[keys]], ignore_index=True).drop_duplicates(ignore_index=True)
    full = strata.merge(pd.DataFrame({"age_group": codes}), how="cross")
    grid = full.merge(p, on=[*keys, "age_group"], how="left").merge(c, on=[*keys, "age_group"], how="left")
    missing = grid["population"].isna()
    if missing.any():
        with_cases = missing & grid["count"].notna()
        rows = grid[with_cases if with_cases.any() else missing]
        where = [f"{_describe(keys, tuple(r[keys]))}: {r['age_group']}" for _, r in rows.head(10).iterrows()]
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        if with_cases.any():
            raise ValueError("population has no row for age groups present in cases "
                             f"(population['age_group'] missing): {where}{more}")
        raise ValueError("population lacks age groups that other strata have "
                         f"(population['age_group'] missing): {where}{more}")
    grid["count"] = grid["count"].fillna(0.0)
    grid["age_lo"] = grid["age_group"].map(lambda code: bounds[code][0])
    grid["age_hi"] = grid["age_group"].map(lambda code: bounds[code][1])
    grid = grid.sort_values([*keys, "age_lo"], ignore_index=True, na_position="last")
    return grid, keys


def _map_to_standard(grid: pd.DataFrame, standard: str) -> tuple[pd.Series, pd.DataFrame]:
    """The standard's age group of every grid row, after checking the data's groups nest in the
    standard's and cover every one of them."""
    table = standard_age_groups(standard)
    data = grid[["age_group", "age_lo", "age_hi"]].drop_duplicates().sort_values("age_lo")
    target: dict[str, str] = {}
    spanning: list[str] = []
    for code, lo, hi in data.itertuples(index=False):
        inside = table[(table["age_lo"] <= lo) & (table["age_hi"] >= hi)]
        if inside.empty:
            spanning.append(code)
        else:
            target[code] = inside["age_group"].iloc[0]
    if spanning:
        wide = data[data["age_group"].isin(spanning)]
        overlaps = [(table["age_lo"] <= hi) & (table["age_hi"] >= lo)
                    for lo, hi in zip(wide["age_lo"], wide["age_hi"], strict=True)]
        needed = table[np.logical_or.reduce(overlaps)]
        raise ValueError(f"standard {standard!r} needs age groups {list(needed['age_group'])}, but the "
                         f"data's age_group {spanning} spans several of them; supply finer age groups "
                         f"or choose a standard with the data's grouping")
    uncovered: list[str] = []
    for code, lo, hi in table[["age_group", "age_lo", "age_hi"]].itertuples(index=False):
        parts = data[data["age_group"].map(target) == code].sort_values("age_lo")
        reach = lo - 1
        for part_lo, part_hi in zip(parts["age_lo"], parts["age_hi"], strict=True):
            if part_lo != reach + 1:
                break
            reach = part_hi
        if reach != hi:
            uncovered.append(code)
    if uncovered:
        raise ValueError(f"standard {standard!r} needs age groups {uncovered}, which the data "
                         f"(population['age_group'] {list(data['age_group'])}) do not cover")
    return grid["age_group"].map(target), table


# --------------------------------------------------------------------------------------------------
# age-specific rates


def age_specific_rates(cases: pd.DataFrame, population: pd.DataFrame, *, by: str | Sequence[str] = (),
                       per: float = 100_000, alpha: float = 0.05, ci: str = "exact") -> pd.DataFrame:
    """Age-specific rates with exact Poisson confidence intervals, one row per stratum x age group.

    Method: rate = count / population x ``per``; standard error sqrt(count) / population x ``per``
    (SEER*Stat); interval: the exact (Garwood 1936) Poisson interval for the count, divided by the
    population: lower = chi2(alpha/2; 2x)/2, upper = chi2(1 - alpha/2; 2x + 2)/2, lower = 0 when x = 0
    (the interval of R's ``poisson.test``). An age group with zero population has undefined rate and
    limits (NaN) and a ``note``.

    Columns: the ``by`` columns, ``age_group``, ``count``, ``population``, ``rate``, ``std_err``,
    ``lower``, ``upper``, ``note``.
    """
    if ci not in AGE_SPECIFIC_CI:
        raise ValueError(f"ci must be one of {AGE_SPECIFIC_CI}, not {ci!r}")
    _check_alpha(alpha)
    _check_per(per)
    by_cols = _by_columns(by)
    grid, keys = _grid(cases, population, by_cols)
    x = grid["count"].to_numpy(float)
    n = grid["population"].to_numpy(float)
    defined = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(defined, x / n, np.nan)
        std_err = np.where(defined, np.sqrt(x) / n, np.nan)
        lower = np.where(defined & (x > 0), sps.chi2.ppf(alpha / 2, 2 * x) / 2 / n, 0.0)
        upper = sps.chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2 / n
    lower = np.where(defined, lower, np.nan)
    upper = np.where(defined, upper, np.nan)
    out = grid[[*by_cols, "age_group", "count", "population"]].copy()
    out["count"] = _integral(out["count"])
    out["population"] = _integral(out["population"])
    out["rate"] = rate * per
    out["std_err"] = std_err * per
    out["lower"] = lower * per
    out["upper"] = upper * per
    out["note"] = np.where(defined, "", "population is zero: rate undefined")
    return annotate(out, method=_METHOD_AGE_SPECIFIC, alpha=alpha,
                    parameters={"by": by_cols, "per": per, "ci": ci})


# --------------------------------------------------------------------------------------------------
# age-adjusted rates


def age_adjusted_rates(cases: pd.DataFrame, population: pd.DataFrame, *, by: str | Sequence[str] = (),
                       standard: str = "us2000_19", ci: str = "tiwari", per: float = 100_000,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Directly age-adjusted rates with gamma-family confidence intervals, one row per stratum.

    Method (SEER*Stat rate algorithms): with d_i cases and n_i persons in age group i of the standard
    and standard weights s_i (the standard population, normalised to sum to 1),

    - rate y = sum s_i d_i / n_i; variance v = sum s_i^2 d_i / n_i^2; ``std_err`` = sqrt(v);
    - interval weights w_i = s_i / n_i;
    - ``ci="gamma"`` -- Fay MP, Feuer EJ. Confidence intervals for directly standardized rates: a method
      based on the gamma distribution. Stat Med 1997;16:791-801: lower = G^-1(alpha/2; y^2/v, v/y),
      upper = G^-1(1 - alpha/2; (y + w_M)^2/(v + w_M^2), (v + w_M^2)/(y + w_M)) with w_M = max w_i
      (G^-1(p; shape, scale) the gamma quantile; the interval of R's ``epitools::ageadjust.direct``);
    - ``ci="tiwari"`` (default, SEER*Stat's "Tiwari et al. 2006 modification") -- Tiwari RC, Clegg LX,
      Zou Z. Efficient interval estimation for age-adjusted cancer rates. Stat Methods Med Res
      2006;15:547-569: the same lower limit; the upper limit uses y + mean(w_i) and v + mean(w_i^2)
      in place of y + w_M and v + w_M^2 (as ``asht::wspoissonTest(wmtype = "tcz")``).

    Means and maxima of w_i run over the standard's age groups with a positive population. Lower = 0
    when the count is 0. The data's age groups are mapped to the standard's: several data groups may
    make one standard group (``00`` + ``01-04`` for an 18-group standard's ``00-04``), but a data group
    may not span several standard groups (``85+`` data cannot use ``us2000_20``'s 85-89 / 90+), and every
    standard group must be covered. Zero counts, zero populations and missing age groups are handled as
    described in the module docstring.

    Columns: the ``by`` columns, ``count``, ``population``, ``crude_rate``, ``rate``, ``std_err``,
    ``lower``, ``upper``, ``note``, and the internals :func:`rate_ratio` needs, on the ``per`` scale:
    ``variance`` (= std_err^2), ``w_max``, ``w_mean``, ``w2_mean`` (max and mean of w_i, mean of w_i^2).
    """
    if ci not in AGE_ADJUSTED_CI:
        raise ValueError(f"ci must be one of {AGE_ADJUSTED_CI}, not {ci!r}")
    _check_alpha(alpha)
    _check_per(per)
    by_cols = _by_columns(by)
    grid, keys = _grid(cases, population, by_cols)
    grid["std_group"], table = _map_to_standard(grid, standard)

    # Merge the data's age groups into the standard's.
    g = grid.groupby([*keys, "std_group"], dropna=False, sort=False, observed=True, as_index=False)[
        ["count", "population"]].sum()
    g["s"] = g["std_group"].map(dict(zip(table["age_group"], table["weight"], strict=True)))
    d = g["count"].to_numpy(float)
    n = g["population"].to_numpy(float)
    s = g["s"].to_numpy(float)
    adjusted = (n == 0) & (d > 0)
    n_eff = np.where(adjusted, d, n)
    live = n_eff > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        g["term"] = np.where(live, s * d / n_eff, 0.0)
        g["var_term"] = np.where(live, s * s * d / n_eff**2, 0.0)
        w = np.where(live, s / n_eff, np.nan)
    g["w"] = w
    g["w2"] = w * w
    g["adjusted"] = g["std_group"].where(pd.Series(adjusted, index=g.index))

    # groupby(sort=False) keeps the grid's sorted stratum order.
    grouped = g.groupby(keys, dropna=False, sort=False, observed=True)
    out = grouped.agg(count=("count", "sum"), population=("population", "sum"), y=("term", "sum"),
                      v=("var_term", "sum"), w_max=("w", "max"), w_mean=("w", "mean"),
                      w2_mean=("w2", "mean"))
    out["adjusted"] = grouped["adjusted"].agg(lambda col: ", ".join(str(c) for c in col if pd.notna(c)))
    out = out.reset_index()

    y = out["y"].to_numpy(float)
    v = out["v"].to_numpy(float)
    total = out["population"].to_numpy(float)
    defined = total > 0
    if ci == "gamma":
        shift, shift2 = out["w_max"].to_numpy(float), out["w_max"].to_numpy(float) ** 2
    else:
        shift, shift2 = out["w_mean"].to_numpy(float), out["w2_mean"].to_numpy(float)
    lower, upper = _gamma_limits(y, v, shift, shift2, alpha)

    result = out[by_cols].copy() if by_cols else pd.DataFrame(index=out.index)
    result["count"] = _integral(out["count"]).to_numpy()
    result["population"] = _integral(out["population"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        result["crude_rate"] = np.where(defined, out["count"] / np.where(defined, total, 1.0), np.nan) * per
    result["rate"] = np.where(defined, y, np.nan) * per
    result["std_err"] = np.where(defined, np.sqrt(v), np.nan) * per
    result["lower"] = np.where(defined, lower, np.nan) * per
    result["upper"] = np.where(defined, upper, np.nan) * per
    result["variance"] = np.where(defined, v, np.nan) * per**2
    result["w_max"] = np.where(defined, out["w_max"], np.nan) * per
    result["w_mean"] = np.where(defined, out["w_mean"], np.nan) * per
    result["w2_mean"] = np.where(defined, out["w2_mean"], np.nan) * per**2
    notes = []
    for ok, groups in zip(defined, out["adjusted"], strict=True):
        if not ok:
            notes.append("population is zero: rate undefined")
        elif groups:
            notes.append(f"cases with zero population in age group(s) {groups}: population "
                         "set to the count there (SEER*Stat rule)")
        else:
            notes.append("")
    result["note"] = notes
    result = result.reset_index(drop=True)

    small = defined & (out["count"].to_numpy(float) < SMALL_COUNT)
    if small.any():
        where = [_describe(keys, tuple(r)) for r in out.loc[small, keys].itertuples(index=False)]
        warnings.warn(f"{int(small.sum())} age-adjusted rate(s) rest on fewer than {SMALL_COUNT} cases and "
                      f"are statistically unreliable: {_shown(where)}", StatisticalWarning, stacklevel=2)

    parameters = {"by": by_cols, "ci": ci, "per": per, "standard_age_groups": list(table["age_group"]),
                  "data_age_groups": list(dict.fromkeys(grid["age_group"]))}
    return annotate(result, method=_METHOD_AGE_ADJUSTED[ci], alpha=alpha, parameters=parameters,
                    standard=standard)


def _gamma_limits(y: np.ndarray, v: np.ndarray, shift: np.ndarray, shift2: np.ndarray,
                  alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Fay-Feuer style gamma limits: lower from (y, v), upper from (y + shift, v + shift2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = y > 0
        lower = np.where(positive, sps.gamma.ppf(alpha / 2, np.where(positive, y * y / v, 1.0),
                                                 scale=np.where(positive, v / y, 1.0)), 0.0)
        ys, vs = y + shift, v + shift2
        upper = sps.gamma.ppf(1 - alpha / 2, ys * ys / vs, scale=vs / ys)
    return lower, upper


# --------------------------------------------------------------------------------------------------
# rate ratios


def _select(rates: pd.DataFrame, selector: Mapping[str, Any], role: str) -> pd.Series:
    if not selector:
        raise ValueError(f"{role} must name at least one column and value, e.g. {{'sex': 'F'}}")
    unknown = [k for k in selector if k not in rates.columns]
    if unknown:
        raise ValueError(f"{role} names column(s) {unknown} that the rates do not have")
    mask = pd.Series(True, index=rates.index)
    for column, value in selector.items():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            mask &= rates[column].isna()
        else:
            mask &= rates[column] == value
    rows = rates[mask]
    if len(rows) != 1:
        raise ValueError(f"{role} {dict(selector)} matches {len(rows)} rows of the rates; it must match "
                         "exactly one (name more by columns)")
    return rows.iloc[0]


def rate_ratio(rates: pd.DataFrame, *, numerator: Mapping[str, Any],
               denominator: Mapping[str, Any], alpha: float | None = None) -> pd.DataFrame:
    """Ratio of two age-adjusted rates of one :func:`age_adjusted_rates` result, with its interval.

    ``numerator`` and ``denominator`` select one row each by column values, e.g.
    ``rate_ratio(rates, numerator={"sex": "M"}, denominator={"sex": "F"})``. ``alpha`` defaults to the
    result's. The two rates are assumed independent (non-overlapping populations).

    Method: ratio R = y1 / y2. Interval: the F interval of Fay MP. Approximate confidence intervals for
    rate ratios from directly standardized rates with sparse data. Commun Stat Theory Methods
    1999;28:2141-2160, which SEER*Stat uses:
    lower = y1 / (y2 + a2) x F^-1(alpha/2; 2 y1^2/v1, 2 (y2 + a2)^2/(v2 + b2)),
    upper = (y1 + a1) / y2 x F^-1(1 - alpha/2; 2 (y1 + a1)^2/(v1 + b1), 2 y2^2/v2),
    where (a, b) = (w_M, w_M^2) for a ``ci="gamma"`` result and (mean w_i, mean w_i^2) -- the Tiwari,
    Clegg & Zou (2006) modification -- for a ``ci="tiwari"`` result. The published SEER*Stat help names
    these two papers but does not spell out the formula; this is their construction. A numerator rate
    of 0 gives ratio 0 and lower limit 0; a denominator rate of 0 gives an undefined ratio (NaN) and an
    infinite upper limit.

    Columns: ``numerator``, ``denominator`` (descriptions), ``numerator_rate``, ``denominator_rate``,
    ``rate_ratio``, ``lower``, ``upper``.
    """
    needed = ["rate", "variance", "w_max", "w_mean", "w2_mean"]
    ci = (rates.attrs.get("parameters") or {}).get("ci")
    if ci not in AGE_ADJUSTED_CI or any(c not in rates.columns for c in needed):
        raise ValueError("rates must be a result of age_adjusted_rates (with its columns and provenance)")
    alpha = rates.attrs.get("alpha") if alpha is None else alpha
    if alpha is None:
        raise ValueError("alpha is not given and the rates do not record one")
    _check_alpha(alpha)
    top = _select(rates, numerator, "numerator")
    bottom = _select(rates, denominator, "denominator")
    if top.name == bottom.name:
        raise ValueError("numerator and denominator select the same row")
    y1, v1, y2, v2 = (float(top["rate"]), float(top["variance"]), float(bottom["rate"]),
                      float(bottom["variance"]))
    if np.isnan(y1) or np.isnan(y2):
        raise ValueError("a selected rate is undefined (zero population)")
    if ci == "gamma":
        a1, b1, a2, b2 = (float(top["w_max"]), float(top["w_max"]) ** 2, float(bottom["w_max"]),
                          float(bottom["w_max"]) ** 2)
    else:
        a1, b1, a2, b2 = (float(top["w_mean"]), float(top["w2_mean"]), float(bottom["w_mean"]),
                          float(bottom["w2_mean"]))
    if y1 > 0:
        lower = y1 / (y2 + a2) * float(sps.f.ppf(alpha / 2, 2 * y1 * y1 / v1,
                                                 2 * (y2 + a2) ** 2 / (v2 + b2)))
    else:
        lower = 0.0
    if y2 > 0:
        ratio = y1 / y2
        upper = (y1 + a1) / y2 * float(sps.f.ppf(1 - alpha / 2, 2 * (y1 + a1) ** 2 / (v1 + b1),
                                                 2 * y2 * y2 / v2))
    else:
        ratio, upper = float("nan"), float("inf")
    out = pd.DataFrame({
        "numerator": [", ".join(f"{k}={v!r}" for k, v in numerator.items())],
        "denominator": [", ".join(f"{k}={v!r}" for k, v in denominator.items())],
        "numerator_rate": [y1], "denominator_rate": [y2],
        "rate_ratio": [ratio], "lower": [lower], "upper": [upper],
    })
    parameters = {"numerator": dict(numerator), "denominator": dict(denominator), "ci": ci,
                  "per": (rates.attrs.get("parameters") or {}).get("per")}
    return annotate(out, method=_METHOD_RATIO[ci], alpha=alpha, parameters=parameters,
                    standard=rates.attrs.get("standard"))


# --------------------------------------------------------------------------------------------------


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")


def _check_per(per: float) -> None:
    if not per > 0:
        raise ValueError(f"per must be positive, not {per!r}")
