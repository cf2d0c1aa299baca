"""Observed survival: Kaplan-Meier, actuarial life table, cause-specific and conditional survival.

Conventions follow R's ``survival::survfit`` (Therneau, survival package 3.5) so that numbers can be checked
against R, and SEER*Stat for the actuarial life table:

* **Kaplan-Meier** (Kaplan & Meier 1958): ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` over the distinct
  observed times; ``n_j`` counts subjects with time >= t_j (deaths precede censorings at tied times).
  lifelines' ``KaplanMeierFitter`` computes the numbers at risk, the estimate and the log-log interval;
  own code adds only what lifelines lacks or does otherwise than R: the standard errors below, NaN
  limits where S is 0 or 1, the "log" and "plain" intervals and the ``times=`` summary.
* **Standard error** (Greenwood 1926): ``var(-log S(t)) = sum d_j / (n_j (n_j - d_j))``. The result column
  ``std_err`` is the standard error of ``S(t)`` itself (``S * sqrt(var)``, what ``summary.survfit``
  prints); ``std_err_cumhaz`` is ``sqrt(var)`` (what a survfit object stores as ``std.err``). Once S
  reaches 0 both are NaN/inf, as in R.
* **Pointwise intervals** (``conf_type``), as ``survfit`` defines them with z = the 1 - alpha/2 normal
  quantile and ``se = std_err_cumhaz``:
  ``"log-log"`` (Kalbfleisch & Prentice 2002): ``S^exp(+-z se / log S)``, undefined (NaN) where S is 0 or 1;
  ``"log"``: ``S exp(-+z se)``, upper limit capped at 1, NaN where S = 0;
  ``"plain"``: ``S -+ z se S`` clipped to [0, 1].
* **Median and its interval** (:func:`median_survival`): survfit's ``quantile`` rule: the first time
  the curve drops below 0.5; when it equals 0.5 (within sqrt(machine epsilon)) over an interval, the
  midpoint of that interval; the interval limits are the same rule applied to the lower and upper
  pointwise curves (Brookmeyer & Crowley 1982 style inversion).

Results are DataFrames annotated with :func:`registry.stats.result.annotate`; ``attrs["parameters"]``
also records ``time_unit`` when known (used by :func:`conditional_survival`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from registry.ratetables import DAYS_PER_YEAR
from registry.stats.result import StatisticalWarning, annotate

CONF_TYPES = ("log-log", "log", "plain")

MONTHS_PER_YEAR = 12.0
_UNITS_PER_YEAR = {"days": DAYS_PER_YEAR, "months": MONTHS_PER_YEAR, "years": 1.0}
DEFAULT_MIN_AT_RISK = 10

ArrayLike = Sequence[float] | np.ndarray | pd.Series


# ----------------------------------------------------------------------------------------------------
# validation helpers


def _show(value: object) -> str:
    item = value.item() if isinstance(value, np.generic) else value
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return repr(item)


def _values_list(values: np.ndarray, limit: int = 8) -> str:
    uniq = np.unique(np.asarray(values))
    shown = ", ".join(_show(v) for v in uniq[:limit])
    more = f" and {len(uniq) - limit} more" if len(uniq) > limit else ""
    return f"[{shown}{more}]"


def _as_float(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"'{name}' must be one-dimensional (got shape {arr.shape})")
    try:
        out = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'{name}' must be numeric: {exc}") from None
    bad = ~np.isfinite(out)
    if bad.any():
        raise ValueError(f"'{name}' has missing or infinite values at positions "
                         f"{np.flatnonzero(bad)[:8].tolist()}")
    return out


def validate_time_event(time: ArrayLike, event: ArrayLike, *, time_name: str = "time",
                        event_name: str = "event") -> tuple[np.ndarray, np.ndarray]:
    """Check follow-up times (finite, >= 0) and event indicators (0/1, bool); return float arrays.

    Raises ``ValueError`` naming the column and the offending values.
    """
    t = _as_float(time, time_name)
    e = _as_float(event, event_name)
    if len(t) != len(e):
        raise ValueError(f"'{time_name}' and '{event_name}' differ in length ({len(t)} vs {len(e)})")
    if len(t) == 0:
        raise ValueError(f"'{time_name}' is empty")
    neg = t < 0
    if neg.any():
        raise ValueError(f"'{time_name}' has negative values {_values_list(t[neg])}")
    bad = ~np.isin(e, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"'{event_name}' must be 0 (censored) or 1 (event); found {_values_list(e[bad])}")
    return t, e


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}")
    return NormalDist().inv_cdf(1 - alpha / 2)


def _check_conf_type(conf_type: str) -> None:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}; got {conf_type!r}")


def confidence_limits(surv: np.ndarray, se_cumhaz: np.ndarray, conf_type: str, z: float, *,
                      cap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits for a survival curve from the standard error of its cumulative hazard.

    ``cap=True`` reproduces ``survival:::survfit_confint`` (log-log NaN at S in {0, 1}; log upper limit
    capped at 1 and NaN at S = 0; plain clipped to [0, 1]); ``cap=False`` reproduces relsurv's
    ``rs.surv`` (no capping, no clipping; net survival may exceed 1).
    """
    p = np.asarray(surv, dtype=float)
    se = np.asarray(se_cumhaz, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se * p * z
            if cap:
                return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
            return p - half, p + half
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p) if cap else p
            lower = np.exp(np.log(xx) - z * se)
            upper = np.exp(np.log(xx) + z * se)
            return lower, (np.minimum(upper, 1.0) if cap else upper)
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p) if cap else p
            shift = z * se / np.log(xx)
            base = np.log(-np.log(xx))
            return np.exp(-np.exp(base - shift)), np.exp(-np.exp(base + shift))
    raise ValueError(f"conf_type must be one of {CONF_TYPES}; got {conf_type!r}")


def _warn_small(at_risk: np.ndarray, times: np.ndarray, min_at_risk: int, what: str) -> None:
    small = at_risk < min_at_risk
    if small.any():
        warnings.warn(f"{what}: fewer than {min_at_risk} at risk at time(s) "
                      f"{_values_list(times[small])} (at risk {_values_list(at_risk[small])}); "
                      "estimates there are unstable", StatisticalWarning, stacklevel=3)


def step_index(grid: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Index of the last grid time <= each requested time (-1 before the first)."""
    return np.searchsorted(grid, times, side="right") - 1


# ----------------------------------------------------------------------------------------------------
# Kaplan-Meier


def requested_times(times: ArrayLike) -> np.ndarray:
    """Times at which to evaluate a curve: numbers, ascending, not negative (else a ValueError)."""
    req = _as_float(times, "times")
    if (np.diff(req) < 0).any():
        raise ValueError("'times' must be sorted in ascending order")
    if (req < 0).any():
        raise ValueError(f"'times' has negative values {_values_list(req[req < 0])}")
    return req


def _km_table(t: np.ndarray, e: np.ndarray, w: np.ndarray | None, conf_type: str,
              alpha: float) -> dict[str, np.ndarray]:
    """Kaplan-Meier step table, one row per distinct observed time, from lifelines' KaplanMeierFitter."""
    from lifelines import KaplanMeierFitter  # imported here: lifelines is heavy and only needed to fit

    # one row per time and status for lifelines, whose pandas grouping is twice as slow on a million rows
    ut, inv = np.unique(t, return_inverse=True)
    n_at = np.bincount(inv, weights=w, minlength=len(ut))
    d_at = np.bincount(inv, weights=e if w is None else e * w, minlength=len(ut))
    with np.errstate():                  # lifelines calls np.seterr while fitting; keep the caller's settings
        fitter = KaplanMeierFitter(alpha=alpha).fit(np.concatenate((ut, ut)), np.repeat([1, 0], len(ut)),
                                                    weights=np.concatenate((d_at, n_at - d_at)))
    table = fitter.event_table
    rows = slice(1, None) if ut[0] > 0 else slice(None)     # lifelines adds an entry row at time 0
    at_risk = table["at_risk"].to_numpy(dtype=float)[rows]
    d = table["observed"].to_numpy(dtype=float)[rows]
    surv = fitter.survival_function_.to_numpy()[rows, 0]
    # own Greenwood sum: lifelines keeps it private and counts 0 where all at risk die (R: infinite)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0)
    out = {"time": table.index.to_numpy(dtype=float)[rows], "at_risk": at_risk, "events": d,
           "censored": table["censored"].to_numpy(dtype=float)[rows], "survival": surv,
           "std_err_cumhaz": np.sqrt(np.cumsum(term))}
    if conf_type == "log-log":           # lifelines' exponential Greenwood interval; R leaves it NaN at S 0 or 1
        limits = fitter.confidence_interval_survival_function_.to_numpy()[rows]
        undefined = (surv == 0) | (surv == 1)
        out["lower"] = np.where(undefined, np.nan, limits[:, 0])
        out["upper"] = np.where(undefined, np.nan, limits[:, 1])
    return out


def _evaluate_at(table: dict[str, np.ndarray], times: np.ndarray, *, estimate: str) -> dict[str, np.ndarray]:
    """R ``summary.survfit(times=, extend=TRUE)`` semantics for a step function (own code: lifelines'
    ``timeline=`` gives neither R's number at risk at a requested time nor the counts between them)."""
    grid = table["time"]
    idx = step_index(grid, times)
    before = idx < 0
    safe = np.where(before, 0, idx)
    est = np.where(before, 1.0, table[estimate][safe])
    se = np.where(before, 0.0, table["std_err_cumhaz"][safe])
    nxt = np.searchsorted(grid, times, side="left")           # first grid time >= t
    at_risk = np.where(nxt < len(grid), table["at_risk"][np.minimum(nxt, len(grid) - 1)], 0.0)
    cum_d = np.concatenate(([0.0], np.cumsum(table["events"])))
    cum_c = np.concatenate(([0.0], np.cumsum(table["censored"])))
    upto = idx + 1                                             # grid rows with time <= t
    prev = np.concatenate(([0], upto[:-1]))
    prev = np.minimum(prev, upto)
    out = {"time": times, estimate: est, "std_err_cumhaz": se, "at_risk": at_risk,
           "events": cum_d[upto] - cum_d[prev], "censored": cum_c[upto] - cum_c[prev], "before_first": before}
    for limit in ("lower", "upper"):
        if limit in table:
            out[limit] = table[limit][safe]
    return out


def kaplan_meier(time: ArrayLike, event: ArrayLike, *, times: ArrayLike | None = None,
                 conf_type: str = "log-log", alpha: float = 0.05,
                 min_at_risk: int = DEFAULT_MIN_AT_RISK, counts: ArrayLike | None = None) -> pd.DataFrame:
    """Kaplan-Meier estimate of the survival function with Greenwood standard errors.

    Parameters
    ----------
    time, event:
        Follow-up time (any unit, >= 0) and event indicator (1 event, 0 censored).
    times:
        ``None`` returns one row per distinct observed time (events and censorings), like a survfit
        object. Otherwise the step function is evaluated at these times (sorted ascending) as R's
        ``summary(fit, times=, extend=TRUE)``: the estimate at the last observed time <= t (1 before
        the first, with both limits 1), ``at_risk`` = subjects with time >= t, ``events``/``censored`` = counts in
        (previous requested time, t]. Times past the last observation carry the last estimate with
        0 at risk.
    conf_type:
        ``"log-log"`` (default), ``"log"`` or ``"plain"`` as in ``survfit`` (see module docstring).
    alpha:
        1 - confidence level of the pointwise interval.
    min_at_risk:
        With ``times`` given, a :class:`StatisticalWarning` is issued when fewer than this many are at
        risk at a requested time; without ``times`` when the whole sample is smaller than this.
    counts:
        Optional frequency (a whole number) of each (time, event) row, so a store can hand over its
        aggregate (one row per distinct time and status) instead of one row per tumor; the estimate is
        identical.

    Returns
    -------
    DataFrame with ``time``, ``survival``, ``std_err`` (of S), ``lower``, ``upper``, ``at_risk``,
    ``events``, ``censored``, ``std_err_cumhaz``. See :func:`median_survival` for the median.

    References: Kaplan & Meier (1958) JASA 53:457; Greenwood (1926); Kalbfleisch & Prentice (2002)
    The Statistical Analysis of Failure Time Data, 2nd ed.; R survival ``survfit.formula``; computed with
    lifelines ``KaplanMeierFitter``.
    """
    _check_conf_type(conf_type)
    z = _z(alpha)
    t, e = validate_time_event(time, event)
    w = None
    if counts is not None:
        w = _as_float(counts, "counts")
        if w.shape != t.shape or (w < 0).any():
            raise ValueError(f"'counts' must be one non-negative frequency per time; got {_values_list(w[w < 0])}")
        fractional = w != np.floor(w)
        if fractional.any():             # lifelines' Greenwood variance truncates fractional numbers at risk
            raise ValueError(f"'counts' must be whole numbers of subjects; got {_values_list(w[fractional])}")
    table = _km_table(t, e, w, conf_type, alpha)
    n_subjects = int(len(t) if w is None else w.sum())
    if times is not None:
        req = requested_times(times)
        cols = _evaluate_at(table, req, estimate="survival")
        _warn_small(cols["at_risk"], req, min_at_risk, "Kaplan-Meier")
    else:
        cols = table
        if n_subjects < min_at_risk:
            warnings.warn(f"Kaplan-Meier: only {n_subjects} subjects (< {min_at_risk})", StatisticalWarning,
                          stacklevel=2)
    frame = _curve_frame(cols, "survival", conf_type, z, cap=True)
    return annotate(frame, method=f"Kaplan-Meier, Greenwood variance, {conf_type} pointwise interval "
                                  "(Kaplan & Meier 1958; Kalbfleisch & Prentice 2002; as R survfit)",
                    alpha=alpha, parameters={"conf_type": conf_type, "estimator": "kaplan-meier",
                                             "times": None if times is None else list(map(float, cols["time"])),
                                             "full_curve": times is None, "n": n_subjects,
                                             "events": int(table["events"].sum()), "time_unit": None,
                                             "estimate_column": "survival"})


def _curve_frame(cols: dict[str, np.ndarray], estimate: str, conf_type: str, z: float, *,
                 cap: bool) -> pd.DataFrame:
    est = np.asarray(cols[estimate], dtype=float)
    se_ch = np.asarray(cols["std_err_cumhaz"], dtype=float)
    if "lower" in cols:                          # limits already computed by the estimator's library
        lower, upper = np.asarray(cols["lower"], dtype=float), np.asarray(cols["upper"], dtype=float)
    else:
        lower, upper = confidence_limits(est, se_ch, conf_type, z, cap=cap)
    if "before_first" in cols:                   # summary.survfit: limits are 1 before the first time
        lower = np.where(cols["before_first"], 1.0, lower)
        upper = np.where(cols["before_first"], 1.0, upper)
    with np.errstate(invalid="ignore"):
        se = se_ch * est
    frame = pd.DataFrame({"time": np.asarray(cols["time"], dtype=float), estimate: est,
                          "std_err": se, "lower": lower, "upper": upper})
    for extra in ("at_risk", "events", "censored"):
        if extra in cols:
            frame[extra] = np.asarray(cols[extra], dtype=float).round().astype(np.int64)
    frame["std_err_cumhaz"] = se_ch
    return frame


# ----------------------------------------------------------------------------------------------------
# median


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float:
    """survfit's quantile rule on a cumulative-distribution step function y = 1 - S at times x."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    keep = np.zeros(len(y), dtype=bool)
    keep[first] = True
    xs, ys = x[keep], y[keep]
    n = len(ys)
    pos = np.arange(n)

    def locate(shifted: np.ndarray) -> int | None:
        ok = ~np.isnan(shifted)
        order = np.argsort(shifted[ok], kind="stable")
        knots, ids = shifted[ok][order], pos[ok][order]
        if len(knots) == 0 or p < knots[0] or p > knots[-1]:
            return None
        return int(ids[np.searchsorted(knots, p, side="left")])

    i1, i2 = locate(ys + tol), locate(ys - tol)
    if p == 0:
        return float(xs[0])
    if i1 is None:
        return float("nan")
    if not np.isnan(ys[-1]) and abs(p - ys[-1]) < tol:
        return float((xs[i1] + xmax) / 2)
    if i2 is None:
        return float("nan")
    return float((xs[i1] + xs[i2]) / 2)


def median_survival(frame: pd.DataFrame, *, probability: float = 0.5) -> pd.Series:
    """Median survival time (or another quantile) and its confidence interval from a full curve.

    ``frame`` is a full-curve result of :func:`kaplan_meier`, :func:`cause_specific_survival` or
    :func:`registry.stats.relative_survival.relative_survival` (``times=None``). Uses R survfit's
    ``quantile`` convention: the time where ``1 - S`` first reaches ``1 - probability``; if the curve sits
    exactly on that level (within sqrt(machine epsilon)) the midpoint to the next drop (or to the last
    follow-up time); ``lower``/``upper`` apply the same rule to the pointwise lower/upper curves, with the
    interval type of the frame. NaN where a curve never reaches the level. Returns a Series with
    ``median`` (named by the quantile when ``probability != 0.5``), ``lower``, ``upper``.
    """
    params = frame.attrs.get("parameters", {}) or {}
    if params.get("full_curve") is False:
        raise ValueError("median_survival needs the full curve: compute the estimate with times=None")
    col = params.get("estimate_column") or ("survival" if "survival" in frame.columns else "estimate")
    if col not in frame.columns:
        raise ValueError(f"frame has no '{col}' column")
    if not 0 < probability < 1:
        raise ValueError(f"probability must lie in (0, 1); got {probability!r}")
    x = np.concatenate(([0.0], frame["time"].to_numpy(dtype=float)))
    tol = float(np.sqrt(np.finfo(float).eps))
    target = 1 - probability
    vals = {}
    for key, source in (("median", col), ("lower", "lower"), ("upper", "upper")):
        y = np.concatenate(([0.0], 1 - frame[source].to_numpy(dtype=float)))
        vals[key] = _findq(x, y, target, tol)
    name = "median" if probability == 0.5 else f"quantile_{probability:g}"
    return pd.Series({name: vals["median"], "lower": vals["lower"], "upper": vals["upper"]},
                     name="median_survival", dtype=float)


# ----------------------------------------------------------------------------------------------------
# actuarial (life-table) survival


def actuarial_survival(time_months: ArrayLike, event: ArrayLike, *, interval_months: int = 1,
                       max_intervals: int | None = None, times_months: ArrayLike | None = None,
                       conf_type: str = "log-log", alpha: float = 0.05, drop_zero_alive: bool = True,
                       min_at_risk: int = DEFAULT_MIN_AT_RISK) -> pd.DataFrame:
    """Actuarial (life-table) observed survival in fixed intervals, as SEER*Stat computes it.

    Each case enters interval 0 alive and is followed through intervals ``[k w, (k + 1) w)`` months
    (``w = interval_months``; SEER survival months are whole months, so monthly intervals by default).
    For interval x: ``L_x`` alive at the start, ``D_x`` deaths, ``W_x`` withdrawn alive (censored,
    SEER*Stat's lost to follow-up plus withdrawn alive) within it. Withdrawals count half:
    ``L'_x = L_x - W_x / 2``; interval survival ``P_x = 1 - D_x / L'_x``; cumulative ``CP_x = prod P``.
    Standard errors: interval ``sqrt(P_x (1 - P_x) / L'_x)``; cumulative by Greenwood's formula
    ``CP_x sqrt(sum_j D_j / (L'_j (L'_j - D_j)))``. Pointwise intervals from the Greenwood variance of
    ``-log CP`` as in :func:`kaplan_meier` (SEER*Stat reports log(-log) intervals; ``conf_type`` selects).

    ``drop_zero_alive``: SEER*Stat drops cases alive with zero survival time (here time 0 and event 0);
    deaths at time 0 die in the first interval. ``max_intervals`` limits the rows (default: up to the
    last interval anyone enters). ``times_months`` keeps only the rows whose interval ends at these
    times (SEER*Stat's cumulative summary, e.g. ``[12, 36, 60]``); a :class:`StatisticalWarning` then
    flags those entered by fewer than ``min_at_risk`` cases (without it: when the cohort is smaller).

    Returns one row per interval: ``interval`` (0-based), ``start``, ``time`` (interval end, months),
    ``at_start`` (L), ``events`` (D), ``withdrawn`` (W), ``effective_at_risk`` (L'),
    ``interval_survival`` (P), ``interval_std_err``, ``survival`` (CP), ``std_err``, ``lower``, ``upper``,
    ``at_risk`` (= L), ``std_err_cumhaz``.

    References: Cutler & Ederer (1958) J Chronic Dis 8:699; SEER*Stat help, "Algorithms for the Survival
    Output Table" (actuarial adjusted alive, Greenwood standard error).
    """
    _check_conf_type(conf_type)
    z = _z(alpha)
    if int(interval_months) != interval_months or interval_months <= 0:
        raise ValueError(f"interval_months must be a positive whole number; got {interval_months!r}")
    t, e = validate_time_event(time_months, event, time_name="time_months")
    dropped = int(((t == 0) & (e == 0)).sum()) if drop_zero_alive else 0
    if dropped:
        keep = ~((t == 0) & (e == 0))
        t, e = t[keep], e[keep]
    if len(t) == 0:
        raise ValueError("no cases left after dropping cases alive with zero survival time")
    k = np.floor(t / interval_months).astype(np.int64)
    n_int = int(k.max()) + 1 if max_intervals is None else int(max_intervals)
    inside = k < n_int
    deaths = np.bincount(k[inside], weights=e[inside], minlength=n_int)[:n_int]
    withdrawn = np.bincount(k[inside], weights=1 - e[inside], minlength=n_int)[:n_int]
    leaving = np.bincount(np.minimum(k, n_int), minlength=n_int + 1)[:n_int].astype(float)
    at_start = len(t) - np.concatenate(([0.0], np.cumsum(leaving)[:-1]))
    eff = at_start - withdrawn / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(eff > 0, deaths / eff, np.nan)
        p = 1 - q
        p_se = np.sqrt(p * q / eff)
        term = np.where(deaths > 0, deaths / (eff * (eff - deaths)), 0.0)
    cp = np.cumprod(np.where(np.isnan(p), 1.0, p))
    cp[np.cumsum(np.isnan(p)) > 0] = np.nan
    se_cumhaz = np.sqrt(np.cumsum(term))
    cols = {"time": (np.arange(n_int) + 1.0) * interval_months, "survival": cp,
            "std_err_cumhaz": se_cumhaz}
    frame = _curve_frame(cols, "survival", conf_type, z, cap=True)
    frame.insert(0, "interval", np.arange(n_int))
    frame.insert(1, "start", np.arange(n_int) * float(interval_months))
    frame["at_start"] = at_start.round().astype(np.int64)
    frame["events"] = deaths.round().astype(np.int64)
    frame["withdrawn"] = withdrawn.round().astype(np.int64)
    frame["effective_at_risk"] = eff
    frame["interval_survival"] = p
    frame["interval_std_err"] = p_se
    frame["at_risk"] = frame["at_start"]
    if times_months is not None:
        req = _as_float(times_months, "times_months")
        missing = ~np.isin(req, frame["time"].to_numpy())
        if missing.any():
            raise ValueError(f"'times_months' must be interval ends (multiples of {interval_months} up to "
                             f"{n_int * interval_months}); got {_values_list(req[missing])}")
        frame = frame[frame["time"].isin(req)].reset_index(drop=True)
        _warn_small(frame["at_start"].to_numpy(), frame["time"].to_numpy(), min_at_risk,
                    "actuarial survival")
    elif len(t) < min_at_risk:
        warnings.warn(f"actuarial survival: only {len(t)} cases (< {min_at_risk})", StatisticalWarning,
                      stacklevel=2)
    return annotate(frame, method="Actuarial life table (Cutler & Ederer 1958) as SEER*Stat: withdrawals "
                                  "count half, Greenwood standard error", alpha=alpha,
                    parameters={"conf_type": conf_type, "estimator": "actuarial",
                                "interval_months": int(interval_months), "n": int(len(t)),
                                "dropped_zero_alive": dropped, "time_unit": "months",
                                "full_curve": times_months is None,
                                "estimate_column": "survival"})


# ----------------------------------------------------------------------------------------------------
# cause-specific and conditional survival


def cause_specific_survival(time: ArrayLike, event_cause_specific: ArrayLike, *,
                            method: str = "kaplan-meier", times: ArrayLike | None = None,
                            interval_months: int = 1, conf_type: str = "log-log", alpha: float = 0.05,
                            min_at_risk: int = DEFAULT_MIN_AT_RISK) -> pd.DataFrame:
    """Cause-specific survival: deaths from the cancer are events, other deaths are censored.

    ``event_cause_specific`` is 1 for a death attributed to the cancer (e.g. SEER cause-specific death
    classification "dead (attributable to this cancer dx)") and 0 for alive *or dead of other causes*.
    Treating other deaths as censoring estimates net survival under the assumption that, given the
    covariates not modelled, deaths from other causes are independent of cancer death (SEER*Stat's
    cause-specific survival makes the same assumption); it is not the crude probability of surviving the
    cancer in the presence of other causes (use a cumulative incidence estimator for that).

    ``method="kaplan-meier"`` (default) calls :func:`kaplan_meier` on ``time`` (any unit);
    ``method="actuarial"`` calls :func:`actuarial_survival` with ``time`` in months (SEER*Stat's default
    for cause-specific survival is the actuarial method with monthly intervals).
    """
    if method == "kaplan-meier":
        frame = kaplan_meier(time, event_cause_specific, times=times, conf_type=conf_type, alpha=alpha,
                             min_at_risk=min_at_risk)
    elif method == "actuarial":
        if times is not None:
            raise ValueError("times= is not used with method='actuarial'; select rows of the result")
        frame = actuarial_survival(time, event_cause_specific, interval_months=interval_months,
                                   conf_type=conf_type, alpha=alpha, min_at_risk=min_at_risk)
    else:
        raise ValueError(f"method must be 'kaplan-meier' or 'actuarial'; got {method!r}")
    params = dict(frame.attrs["parameters"])
    params["measure"] = "cause-specific"
    return annotate(frame, method="Cause-specific survival (other causes of death censored): "
                                  + str(frame.attrs["method"]), alpha=alpha, parameters=params)


def conditional_survival(frame: pd.DataFrame, given_years: float, *, time_unit: str | None = None,
                         alpha: float | None = None) -> pd.DataFrame:
    """Conditional survival ``S(t | T > g) = S(t) / S(g)`` for ``t >= g`` from a survival result frame.

    ``frame`` is a result of :func:`kaplan_meier`, :func:`actuarial_survival`,
    :func:`cause_specific_survival` or ``relative_survival`` (full curve or evaluated at times; S(g) is
    the step function's value at g, so g should be a time the frame covers). ``given_years`` is converted
    with the frame's time unit (``attrs["parameters"]["time_unit"]``: days use 365.241 days a year,
    months 12 a year); pass ``time_unit`` ("days", "months", "years") for Kaplan-Meier frames, whose
    time unit is not known.

    Interval: the variance of ``-log S(t | g)`` is ``var(-log S(t)) - var(-log S(g))``. For every
    estimator here that variance is a sum of independent increments (Greenwood terms; Pohar Perme and
    Ederer II counting-process terms), so the difference is exactly the sum over (g, t], which is what
    SEER*Stat computes for conditional survival (the life table restricted to those alive at g); the
    delta method for the ratio gives the same value. Limits use the frame's ``conf_type`` and alpha
    (or ``alpha`` if given), with the frame's capping convention.

    Returns rows with ``time >= g``: ``time``, ``time_since_given``, the estimate column (same name as in
    ``frame``), ``std_err``, ``lower``, ``upper``, ``std_err_cumhaz`` (and ``at_risk`` if present).
    """
    params: dict[str, Any] = dict(frame.attrs.get("parameters", {}) or {})
    unit = time_unit or params.get("time_unit")
    if unit not in _UNITS_PER_YEAR:
        raise ValueError("the frame's time unit is unknown; pass time_unit='days', 'months' or 'years'")
    col = params.get("estimate_column") or ("survival" if "survival" in frame.columns else "estimate")
    if col not in frame.columns or "std_err_cumhaz" not in frame.columns:
        raise ValueError("frame must be a survival result with an estimate and a std_err_cumhaz column")
    if given_years < 0:
        raise ValueError(f"given_years must be >= 0; got {given_years!r}")
    g = float(given_years) * _UNITS_PER_YEAR[unit]
    times = frame["time"].to_numpy(dtype=float)
    est = frame[col].to_numpy(dtype=float)
    se = frame["std_err_cumhaz"].to_numpy(dtype=float)
    idx = step_index(times, np.array([g]))[0]          # actuarial rows: the interval ending at g
    if g > times.max():
        raise ValueError(f"given time {g:g} {unit} lies beyond the last time of the frame ({times.max():g})")
    s_g, v_g = (1.0, 0.0) if idx < 0 else (est[idx], se[idx] ** 2)
    if not s_g > 0:
        raise ValueError(f"survival at the given time is {s_g!r}; conditional survival is undefined")
    rows = times >= g
    with np.errstate(invalid="ignore"):
        cond = est[rows] / s_g
        se_c = np.sqrt(np.maximum(se[rows] ** 2 - v_g, 0.0))
    conf_type = params.get("conf_type", "log-log")
    a = frame.attrs.get("alpha") if alpha is None else alpha
    a = 0.05 if a is None else float(a)
    cap = params.get("estimator") not in ("pohar-perme", "ederer2")
    cols = {"time": times[rows], col: cond, "std_err_cumhaz": se_c}
    out = _curve_frame(cols, col, conf_type, _z(a), cap=cap)
    out.insert(1, "time_since_given", times[rows] - g)
    if "at_risk" in frame.columns:
        out["at_risk"] = frame["at_risk"].to_numpy()[rows]
    new_params = {**params, "given_years": float(given_years), "given_time": g, "time_unit": unit}
    return annotate(out, method=f"Conditional survival S(t)/S({given_years:g} years), variance from the "
                                "increments over (given, t] (as SEER*Stat) of: " + str(frame.attrs.get("method")),
                    alpha=a, parameters=new_params)
