"""Trends in rates: annual percent change (APC) and average annual percent change (AAPC).

Both fit a log-linear model, ln(rate) = b0 + b1 x year (+ hinge terms), by least squares -- weighted
by 1 / var(ln rate) when standard errors of the rates are given, with var(ln r) ~ (se / r)^2 (delta
method), as SEER*Stat's weighted-least-squares APC does. Choosing joinpoints (the NCI Joinpoint
program's permutation tests, Kim et al. 2000) is out of scope: :func:`aapc` takes the joinpoints, if
any, as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from registry.stats.result import annotate

_METHOD_APC = ("Annual percent change: least-squares fit of ln(rate) on year, APC = 100 (exp(b) - 1), "
               "t interval with n - 2 df (SEER*Stat trend algorithm)")
_METHOD_APC_WLS = ("Annual percent change: weighted least-squares fit of ln(rate) on year, weights "
                   "1 / (se/rate)^2, APC = 100 (exp(b) - 1), t interval with n - 2 df (SEER*Stat trend "
                   "algorithm)")
_METHOD_AAPC = ("Average annual percent change: continuous piecewise log-linear fit with the given "
                "joinpoints, AAPC = 100 (exp(sum l_k b_k / sum l_k) - 1) with segment lengths l_k "
                "(Clegg et al. 2009, Stat Med 28:3670-3682; NCI Joinpoint), t interval with n - p df")


def _as_array(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if np.isnan(array).any() or np.isinf(array).any():
        raise ValueError(f"{name} has missing or infinite values")
    return array


def _inputs(years: Any, rates: Any, se: Any, minimum: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    x = _as_array(years, "years")
    r = _as_array(rates, "rates")
    if len(x) != len(r):
        raise ValueError(f"years ({len(x)}) and rates ({len(r)}) differ in length")
    if len(x) < minimum:
        raise ValueError(f"need at least {minimum} years, got {len(x)}")
    duplicated = pd.Series(x).duplicated()
    if duplicated.any():
        raise ValueError(f"years repeat: {sorted(set(x[duplicated.to_numpy()].tolist()))}")
    bad = r <= 0
    if bad.any():
        raise ValueError("rates must be positive for a log-linear trend; zero or negative rates in years "
                         f"{x[bad].tolist()}: {r[bad].tolist()}")
    weights = None
    if se is not None:
        s = _as_array(se, "se")
        if len(s) != len(x):
            raise ValueError(f"se ({len(s)}) and rates ({len(r)}) differ in length")
        if (s <= 0).any():
            raise ValueError(f"se must be positive; got {s[s <= 0].tolist()} in years {x[s <= 0].tolist()}")
        weights = (r / s) ** 2
    order = np.argsort(x)
    return x[order], r[order], None if weights is None else weights[order]


def _wls(design: np.ndarray, response: np.ndarray, weights: np.ndarray | None
         ) -> tuple[np.ndarray, np.ndarray, int]:
    """Coefficients, their covariance (residual variance scaled, as R's lm) and residual df."""
    w = np.ones(len(response)) if weights is None else weights
    root = np.sqrt(w)
    xw = design * root[:, None]
    yw = response * root
    coef, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    df = len(response) - design.shape[1]
    resid = yw - xw @ coef
    sigma2 = float(resid @ resid) / df
    cov = sigma2 * np.linalg.inv(xw.T @ xw)
    return coef, cov, df


def annual_percent_change(years: Any, rates: Any, *, se: Any = None, alpha: float = 0.05) -> pd.DataFrame:
    """Annual percent change of a series of rates, from a log-linear regression on year.

    Method (SEER*Stat trend algorithm): fit ln(r_t) = b0 + b1 t by least squares -- by weighted least
    squares with weights 1 / var(ln r_t) ~ (r_t / se_t)^2 when ``se`` (standard errors of the rates) is
    given; APC = 100 (exp(b1) - 1); the interval transforms b1 -/+ t(1 - alpha/2; n - 2) SE(b1), and
    the p-value is the two-sided t test of b1 = 0 with n - 2 df. SE(b1) uses the residual variance, as
    R's ``lm(log(rate) ~ year, weights = w)``. Rates must be positive; years need not be consecutive.

    Returns one row: ``apc``, ``lower``, ``upper``, ``p_value``, ``slope``, ``slope_se``, ``n_years``,
    ``first_year``, ``last_year``.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    x, r, weights = _inputs(years, rates, se, minimum=3)
    design = np.column_stack([np.ones_like(x), x - x.mean()])
    coef, cov, df = _wls(design, np.log(r), weights)
    slope, slope_se = float(coef[1]), float(np.sqrt(cov[1, 1]))
    t = float(sps.t.ppf(1 - alpha / 2, df))
    p_value = float(2 * sps.t.sf(abs(slope / slope_se), df)) if slope_se > 0 else 0.0
    out = pd.DataFrame({
        "apc": [100 * np.expm1(slope)],
        "lower": [100 * np.expm1(slope - t * slope_se)],
        "upper": [100 * np.expm1(slope + t * slope_se)],
        "p_value": [p_value], "slope": [slope], "slope_se": [slope_se], "n_years": [len(x)],
        "first_year": [x[0]], "last_year": [x[-1]],
    })
    return annotate(out, method=_METHOD_APC if weights is None else _METHOD_APC_WLS, alpha=alpha,
                    parameters={"weighted": weights is not None, "df": df})


def aapc(years: Any, rates: Any, *, start: float | None = None, end: float | None = None,
         joinpoints: Sequence[float] = (), se: Any = None, alpha: float = 0.05) -> pd.DataFrame:
    """Average annual percent change over [``start``, ``end``] of a (segmented) log-linear trend.

    Method: fit ln(r_t) = b0 + b1 t + sum_j d_j max(t - tau_j, 0) by (weighted, as in
    :func:`annual_percent_change`) least squares, with the joinpoints tau_j as given -- a continuous
    line whose slope in segment k is b_k = b1 + sum_{j<k} d_j. As the NCI Joinpoint documentation and
    Clegg LX, Hankey BF, Tiwari R, Feuer EJ, Edwards BK. Estimating average annual per cent change in
    trend analysis. Stat Med 2009;28:3670-3682 define it, AAPC = 100 (exp(sum_k l_k b_k / sum_k l_k) - 1)
    where l_k is the length of segment k inside [start, end]. Its interval transforms the weighted slope
    -/+ t(1 - alpha/2; n - p) SE, the SE from the fitted covariance (p = 2 + number of joinpoints); the
    p-value tests a weighted slope of 0. Because the joinpoints are fixed, not estimated, the df are not
    reduced for their selection (Joinpoint's own intervals are, and may be wider). With no joinpoints
    and the full range this equals :func:`annual_percent_change`.

    ``start`` and ``end`` default to the first and last year and must lie within the observed years;
    each joinpoint must lie strictly inside them, with at least two years in every segment.

    Returns one row: ``aapc``, ``lower``, ``upper``, ``p_value``, ``slope`` (the weighted mean slope),
    ``slope_se``, ``start``, ``end``, ``n_years``, ``n_segments``, ``segment_apcs`` (APC of each segment,
    a list).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    x, r, weights = _inputs(years, rates, se, minimum=3)
    taus = sorted(float(j) for j in joinpoints)
    if len(set(taus)) != len(taus):
        raise ValueError(f"joinpoints repeat: {taus}")
    start = float(x[0]) if start is None else float(start)
    end = float(x[-1]) if end is None else float(end)
    if not x[0] <= start < end <= x[-1]:
        raise ValueError(f"need first year <= start < end <= last year ({x[0]:g}..{x[-1]:g}); "
                         f"got start={start:g}, end={end:g}")
    edges = [float(x[0]), *taus, float(x[-1])]
    for lo, hi in zip(edges, edges[1:], strict=False):
        if not lo < hi:
            raise ValueError(f"joinpoints must lie strictly inside the years {x[0]:g}..{x[-1]:g}: {taus}")
        if ((x >= lo) & (x <= hi)).sum() < 2:
            raise ValueError(f"segment {lo:g}..{hi:g} holds fewer than two years")
    n_par = 2 + len(taus)
    if len(x) <= n_par:
        raise ValueError(f"{len(taus)} joinpoint(s) need more than {n_par} years, got {len(x)}")

    centre = x.mean()
    columns = [np.ones_like(x), x - centre] + [np.maximum(x - tau, 0.0) for tau in taus]
    coef, cov, df = _wls(np.column_stack(columns), np.log(r), weights)

    # Segment k's slope is b1 + d_1 + ... + d_{k-1}: a row of the contrast matrix.
    n_seg = len(taus) + 1
    contrast = np.zeros((n_seg, n_par))
    contrast[:, 1] = 1.0
    for k in range(1, n_seg):
        contrast[k, 2:2 + k] = 1.0
    seg_lo = np.array(edges[:-1])
    seg_hi = np.array(edges[1:])
    lengths = np.clip(np.minimum(seg_hi, end) - np.maximum(seg_lo, start), 0.0, None)
    weight = lengths / lengths.sum()
    combo = weight @ contrast
    slope = float(combo @ coef)
    slope_se = float(np.sqrt(combo @ cov @ combo))
    t = float(sps.t.ppf(1 - alpha / 2, df))
    p_value = float(2 * sps.t.sf(abs(slope / slope_se), df)) if slope_se > 0 else 0.0
    out = pd.DataFrame({
        "aapc": [100 * np.expm1(slope)],
        "lower": [100 * np.expm1(slope - t * slope_se)],
        "upper": [100 * np.expm1(slope + t * slope_se)],
        "p_value": [p_value], "slope": [slope], "slope_se": [slope_se], "start": [start], "end": [end],
        "n_years": [len(x)], "n_segments": [n_seg],
        "segment_apcs": [[float(v) for v in 100 * np.expm1(contrast @ coef)]],
    })
    return annotate(out, method=_METHOD_AAPC, alpha=alpha,
                    parameters={"joinpoints": taus, "start": start, "end": end,
                                "weighted": weights is not None, "df": df})
