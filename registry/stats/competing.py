"""Competing risks and recurrence: cumulative incidence, recurrence-free survival, recurrence rates.

Registry follow-up ends in one of several ways: a recurrence (or a cancer death), a death from another
cause, or the end of follow-up (censoring). Three views of that are offered here:

- :func:`cumulative_incidence` — the probability of having had the event of interest by time *t* while
  the other events compete (Aalen-Johansen estimator), the "crude" probability registries report next
  to net survival;
- :func:`recurrence_free_survival` — Kaplan-Meier estimate of the composite endpoint "recurrence or
  death, whichever comes first";
- :func:`recurrence_rate` — events per 100 person-years with an exact Poisson interval.

Input conventions shared by all three:

- ``time`` is the follow-up time from diagnosis (or the start of the at-risk period) to the first event
  or censoring, non-negative and finite;
- ``event`` codes: ``0`` = censored, a positive integer = the cause that ended follow-up (for example
  ``1`` recurrence, ``2`` death without recurrence). Booleans are read as 0/1;
- **ties**: at a time where events and censorings coincide, the events are counted first, so a subject
  censored at *t* is still at risk for the events at *t* (the usual convention of Kaplan-Meier and of
  R ``survival`` and ``cmprsk``). Tied times are kept as ties (no random jittering).

Every result frame carries its provenance (:func:`registry.stats.result.annotate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from registry.stats.result import annotate

ConfType = Literal["log-log", "plain"]
CONF_TYPES: tuple[str, ...] = ("log-log", "plain")

TIME_UNITS: dict[str, float] = {"years": 1.0, "months": 12.0, "days": 365.25}
"""Units accepted by :func:`recurrence_rate`, as the number of units in one year."""

_METHOD_CIF = ("Aalen-Johansen cumulative incidence with competing events (Kalbfleisch & Prentice 1980; "
               "Aalen & Johansen 1978); variance: the delta-method estimator of R cmprsk::cuminc (Gray "
               "1988, Ann Stat 16:1141-1154) with the (n-d)/(n-1) correction for tied events")
_CI_TEXT = {
    "log-log": ("{pct}% interval on the log(-log) scale: F^exp(+-z*se/(F*log F)) (Choudhury 2002, "
                "Stat Med 21:1129-1144)"),
    "plain": "{pct}% plain interval F +- z*se, clipped to [0, 1]",
}
_METHOD_KM = ("Kaplan-Meier estimate of recurrence-free survival (event: recurrence or death, whichever "
              "comes first); Greenwood variance; {ci}")
_KM_CI_TEXT = {
    "log-log": ("{pct}% interval on the log(-log) scale (Kalbfleisch & Prentice 2002), as R "
                "survfit(conf.type = 'log-log')"),
    "plain": "{pct}% plain interval S +- z*se, clipped to [0, 1]",
}
_METHOD_RATE = ("Crude event rate per {per:g} person-years; exact Poisson (Garwood 1936) {pct}% interval "
                "from chi-square quantiles")


# --------------------------------------------------------------------------------------------------
# input checks


def _label(values: Any, default: str) -> str:
    name = getattr(values, "name", None)
    return f"{default} (column {name!r})" if isinstance(name, str) and name != default else default


def _examples(values: np.ndarray, bad: np.ndarray) -> str:
    shown = pd.unique(pd.Series(values[bad], dtype=object))[:5]
    return ", ".join(repr(v) for v in shown)


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    return alpha


def _numbers(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(float array, raw array) of a 1-D input; text and other non-numbers become NaN."""
    raw = np.asarray(values)
    if raw.dtype.kind in "biuf":
        return raw.astype(float).ravel(), raw.ravel()
    raw = np.asarray(values, dtype=object).ravel()
    unboxed = [int(v) if isinstance(v, bool | np.bool_) else v for v in raw]
    return pd.to_numeric(pd.Series(unboxed, dtype=object), errors="coerce").to_numpy(dtype=float), raw


def _check_time_event(time: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``time`` (float, >= 0, finite) and ``event`` (int codes, >= 0)."""
    time_label, event_label = _label(time, "time"), _label(event, "event")
    if np.ndim(time) != 1 or np.ndim(event) != 1:
        raise ValueError(f"{time_label} and {event_label} must be one-dimensional")
    t, t_raw = _numbers(time)
    e, e_raw = _numbers(event)
    if t.size != e.size:
        raise ValueError(f"{time_label} and {event_label} differ in length ({t.size} and {e.size})")
    if t.size == 0:
        raise ValueError(f"{time_label} and {event_label} are empty")
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        raise ValueError(f"{time_label} must be a finite, non-negative number; {int(bad.sum())} value(s) are "
                         f"not: {_examples(t_raw, bad)}")
    bad = ~np.isfinite(e) | (e < 0) | (e != np.round(e))
    if bad.any():
        raise ValueError(f"{event_label} codes must be 0 (censored) or a positive integer (cause); "
                         f"{int(bad.sum())} value(s) are not: {_examples(e_raw, bad)}")
    return t, e.astype(np.int64)


def _check_times(times: Sequence[float] | np.ndarray | None) -> np.ndarray | None:
    if times is None:
        return None
    grid = pd.to_numeric(pd.Series(np.asarray(times, dtype=object).ravel()), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(grid) | (grid < 0)
    if bad.any() or grid.size == 0:
        raise ValueError("times must be a non-empty list of finite, non-negative numbers"
                         + (f"; not: {_examples(np.asarray(times, dtype=object).ravel(), bad)}"
                            if bad.any() else ""))
    return np.unique(grid)


def _z(alpha: float) -> float:
    return float(sps.norm.ppf(1.0 - alpha / 2.0))


# --------------------------------------------------------------------------------------------------
# shared bookkeeping: counts per distinct time
#
# Every estimator here takes optional ``counts``: frequency weights, row i standing for ``counts[i]``
# subjects with that time and event. Results equal those of the expanded data exactly; aggregated
# input (one row per distinct time and event, as the store's queries return) keeps large cohorts cheap.


class _Table:
    """Per distinct observed time (ascending): number at risk and counts of each kind of exit."""

    def __init__(self, t: np.ndarray, e: np.ndarray, event_of_interest: int | None,
                 w: np.ndarray | None = None) -> None:
        self.utimes, inverse = np.unique(t, return_inverse=True)
        m = self.utimes.size
        w = np.ones(t.size) if w is None else w
        is_event = e != 0
        is_cause = is_event if event_of_interest is None else e == event_of_interest
        self.d1 = np.bincount(inverse, weights=is_cause * w, minlength=m)
        self.d2 = np.bincount(inverse, weights=(is_event & ~is_cause) * w, minlength=m)
        self.cens = np.bincount(inverse, weights=~is_event * w, minlength=m)
        exits = self.d1 + self.d2 + self.cens
        # at risk at time u: everyone whose time is >= u (events before censorings at ties)
        self.at_risk = w.sum() - np.concatenate(([0.0], np.cumsum(exits)[:-1]))
        self.max_time = float(self.utimes[-1])

    def counts_on(self, grid: np.ndarray) -> dict[str, np.ndarray]:
        """at_risk at each grid time, and counts in (previous grid time, grid time] (first: [0, t])."""
        # risk set at t: subjects with time >= t (none after the largest time)
        first_ge = np.searchsorted(self.utimes, grid, side="left")
        at_risk = np.concatenate((self.at_risk, [0.0]))[first_ge]
        upto = np.searchsorted(self.utimes, grid, side="right")  # number of distinct times <= t
        out: dict[str, np.ndarray] = {"at_risk": at_risk}
        for name, counts in (("events", self.d1), ("competing_events", self.d2), ("censored", self.cens)):
            cum = np.concatenate(([0.0], np.cumsum(counts)))[upto]
            out[name] = np.diff(np.concatenate(([0.0], cum)))
        return out


def _check_cause(event_of_interest: Any) -> None:
    """The event code of interest must be a positive integer (0 is censoring)."""
    if isinstance(event_of_interest, bool) or not isinstance(event_of_interest, int | np.integer) \
            or event_of_interest <= 0:
        raise ValueError(f"event_of_interest must be a positive integer cause code, got {event_of_interest!r}")


def _check_counts(counts: Any, size: int) -> np.ndarray | None:
    """Frequency weights: one non-negative whole number per row (row i stands for ``counts[i]`` subjects)."""
    if counts is None:
        return None
    w, _ = _numbers(counts)
    if w.size != size:
        raise ValueError(f"counts has {w.size} values for {size} times")
    if not np.isfinite(w).all() or (w < 0).any() or (w != np.round(w)).any():
        raise ValueError(f"counts must be non-negative whole numbers; got {_examples(w, ~np.isfinite(w) | (w < 0) | (w != np.round(w)))}")
    return w


def _step(jump_times: np.ndarray, values: np.ndarray, grid: np.ndarray, before: float,
          max_time: float) -> np.ndarray:
    """A right-continuous step function at ``grid``: the value at the last jump at or before each time,
    ``before`` ahead of the first jump, NaN after ``max_time`` (the largest observed time)."""
    idx = np.searchsorted(jump_times, grid, side="right") - 1
    padded = np.concatenate(([before], values))
    return np.where(grid > max_time, np.nan, padded[idx + 1])


def _frame(columns: dict[str, np.ndarray], order: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame({name: columns[name] for name in order})
    for name in ("at_risk", "events", "competing_events", "censored"):
        if name in frame:
            frame[name] = frame[name].round().astype("int64")
    return frame


# --------------------------------------------------------------------------------------------------
# cumulative incidence


def _cif_at_event_times(tab: _Table) -> dict[str, np.ndarray]:
    """Aalen-Johansen estimate and cmprsk variance at every time with at least one event."""
    d1, d2 = tab.d1, tab.d2
    d = d1 + d2
    keep = d > 0
    n, d1, d2, d = tab.at_risk[keep], d1[keep], d2[keep], d[keep]
    # all-cause Kaplan-Meier just before (s_before) and at (s_after) each event time
    s_after = np.cumprod(1.0 - d / n)
    s_before = np.concatenate(([1.0], s_after[:-1]))
    f = np.cumsum(s_before * d1 / n)

    # Delta-method variance as computed by cmprsk::cuminc:
    #   V(t) = sum_{s<=t} w1(s) [1 + (F(s) - F(t)) / S(s)]^2 + w2(s) [(F(s) - F(t)) / S(s)]^2
    # with w_k(s) = S(s-)^2 * d_k (n - d_k) / ((n - 1) n^2) (the tie factor is 1 when d_k <= 1) and the
    # terms in 1/S(s) dropped where S(s) = 0. Expanded in powers of F(t) so every term is a running sum.
    def weight(dk: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            tie = np.where(dk > 1, (n - dk) / (n - 1.0), 1.0)
        return s_before**2 * tie * dk / n**2

    w1, w2 = weight(d1), weight(d2)
    with np.errstate(divide="ignore"):
        b = np.where(s_after > 0, 1.0 / np.where(s_after > 0, s_after, 1.0), 0.0)
    a = f * b
    big_a = np.cumsum(w1 * (1.0 + a) ** 2 + w2 * a**2)
    big_b = np.cumsum(w1 * b * (1.0 + a) + w2 * a * b)
    big_c = np.cumsum((w1 + w2) * b**2)
    var = np.maximum(big_a - 2.0 * f * big_b + f**2 * big_c, 0.0)
    return {"time": tab.utimes[keep], "estimate": f, "variance": var}


def _cif_interval(est: np.ndarray, se: np.ndarray, z: float, conf_type: str) -> tuple[np.ndarray, np.ndarray]:
    if conf_type == "plain":
        return np.clip(est - z * se, 0.0, 1.0), np.clip(est + z * se, 0.0, 1.0)
    inner = (est > 0) & (est < 1) & (se > 0)
    safe = np.where(inner, est, 0.5)
    # log(-log F) has standard error se / |F log F|; back-transformed: F^exp(+-z se / |F log F|)
    k = z * np.where(inner, se, 0.0) / np.abs(safe * np.log(safe))
    # outside (0, 1), or with no variance, both limits are the estimate (NaN stays NaN)
    return np.where(inner, safe ** np.exp(k), est), np.where(inner, safe ** np.exp(-k), est)


def cumulative_incidence(time: Any, event: Any, *, event_of_interest: int,
                         times: Sequence[float] | np.ndarray | None = None, alpha: float = 0.05,
                         conf_type: ConfType = "log-log", counts: Any = None) -> pd.DataFrame:
    """Cumulative incidence of one event type in the presence of competing events (Aalen-Johansen).

    ``F_k(t) = sum_{s <= t} S(s-) d_k(s) / n(s)``, where ``S`` is the Kaplan-Meier estimate of being free
    of every event type, ``d_k(s)`` the events of type ``k`` at ``s`` and ``n(s)`` the number at risk
    (Kalbfleisch & Prentice 1980; the Aalen & Johansen 1978 estimator for this competing-risks model).
    It is R ``cmprsk::cuminc``'s estimate; unlike lifelines' ``AalenJohansenFitter`` tied times are
    kept (events before censorings), not jittered.

    Variance: the delta-method estimator that ``cmprsk::cuminc`` reports (Gray 1988), including its
    ``(n - d)/(n - 1)`` correction for tied events. The ``1 - alpha`` interval is computed on the
    ``log(-log F)`` scale by default (``F^exp(+-z se / (F log F))``, Choudhury 2002), which keeps it
    inside (0, 1); ``conf_type="plain"`` gives ``F +- z se`` clipped to [0, 1]. Where ``F`` is 0 (or
    the variance is 0) both limits equal the estimate.

    Parameters
    ----------
    time, event:
        Follow-up time and event code per subject (0 = censored, positive integer = cause).
    event_of_interest:
        The cause whose cumulative incidence is estimated; every other positive code competes. A cause
        that never occurs gives an incidence of 0.
    times:
        Report at these times (sorted, duplicates dropped) instead of at every event time. Between
        event times the estimate is a step function (the value at the last event time at or before
        ``t``, as ``cmprsk::timepoints``); before the first event it is 0; after the largest observed
        time it is undefined (NaN), as in ``cmprsk``.
    alpha:
        1 - confidence level of the interval.

    Returns
    -------
    One row per reported time: ``time``, ``estimate``, ``std_err``, ``variance``, ``lower``, ``upper``,
    ``at_risk`` (number at risk at ``time``), and ``events``, ``competing_events``, ``censored`` —
    the counts since the previous row (in the ``times`` form, since the previous requested time; the
    first row counts from 0), the layout of R ``summary.survfit``. With ``times=None`` the rows are the
    distinct times at which any event (of interest or competing) happened.
    """
    alpha = _check_alpha(alpha)
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    _check_cause(event_of_interest)
    t, e = _check_time_event(time, event)
    w = _check_counts(counts, t.size)
    grid = _check_times(times)
    tab = _Table(t, e, int(event_of_interest), w)
    cif = _cif_at_event_times(tab)

    if grid is None:
        grid_times = cif["time"]
        est, var = cif["estimate"], cif["variance"]
    else:
        grid_times = grid
        est = _step(cif["time"], cif["estimate"], grid, 0.0, tab.max_time)
        var = _step(cif["time"], cif["variance"], grid, 0.0, tab.max_time)
    se = np.sqrt(var)
    lower, upper = _cif_interval(est, se, _z(alpha), conf_type)
    counts = tab.counts_on(grid_times)
    frame = _frame({"time": grid_times, "estimate": est, "std_err": se, "variance": var, "lower": lower,
                    "upper": upper, **counts},
                   ("time", "estimate", "std_err", "variance", "lower", "upper", "at_risk", "events",
                    "competing_events", "censored"))
    pct = f"{100 * (1 - alpha):g}"
    return annotate(frame, method=f"{_METHOD_CIF}; {_CI_TEXT[conf_type].format(pct=pct)}", alpha=alpha,
                    parameters={"event_of_interest": int(event_of_interest), "conf_type": conf_type,
                                "times": None if grid is None else grid.tolist(),
                                "n": int(t.size if w is None else w.sum()),
                                "ties": "events before censorings; no jittering"})


# --------------------------------------------------------------------------------------------------
# recurrence-free survival (private minimal Kaplan-Meier)


def _kaplan_meier(tab: _Table) -> dict[str, np.ndarray]:
    """Kaplan-Meier estimate and Greenwood sum at every time with at least one event."""
    keep = tab.d1 > 0
    n, d = tab.at_risk[keep], tab.d1[keep]
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf))
    return {"time": tab.utimes[keep], "estimate": surv, "greenwood": greenwood}


def _km_interval(est: np.ndarray, greenwood: np.ndarray, z: float,
                 conf_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard error of S (Greenwood) and the interval; NaN where undefined (S = 0), as R survfit."""
    with np.errstate(invalid="ignore"):
        se = np.where(np.isfinite(greenwood), est * np.sqrt(greenwood), np.nan)
    if conf_type == "plain":
        return se, np.clip(est - z * se, 0.0, 1.0), np.clip(est + z * se, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(est)
        se_loglog = np.sqrt(greenwood) / np.abs(log_s)
        lower = np.exp(-np.exp(np.log(-log_s) + z * se_loglog))
        upper = np.exp(-np.exp(np.log(-log_s) - z * se_loglog))
    # S = 1 (no event yet): interval [1, 1]; S = 0 or undefined: NaN
    lower = np.where(est == 1.0, 1.0, np.where(np.isfinite(greenwood) & (est > 0), lower, np.nan))
    upper = np.where(est == 1.0, 1.0, np.where(np.isfinite(greenwood) & (est > 0), upper, np.nan))
    return se, lower, upper


def recurrence_free_survival(time: Any, event: Any, *, times: Sequence[float] | np.ndarray | None = None,
                             alpha: float = 0.05, conf_type: ConfType = "log-log", counts: Any = None) -> pd.DataFrame:
    """Recurrence-free survival: Kaplan-Meier estimate of the composite endpoint recurrence-or-death.

    Any positive ``event`` code (recurrence, death from any cause) ends recurrence-free follow-up;
    ``0`` is censoring. ``S(t) = prod_{s <= t} (1 - d(s)/n(s))`` (Kaplan & Meier 1958) with Greenwood's
    variance ``S(t)^2 sum d/(n(n-d))``; the default ``1 - alpha`` interval is on the ``log(-log S)``
    scale (Kalbfleisch & Prentice 2002), as R ``survfit(conf.type = "log-log")``. Where ``S`` reaches 0
    the standard error and interval are undefined (NaN), as in R.

    ``times`` works as in :func:`cumulative_incidence` (step function; NaN after the largest observed
    time). Returns ``time``, ``estimate``, ``std_err`` (of ``S``), ``variance``, ``lower``, ``upper``,
    ``at_risk``, ``events`` and ``censored`` (counts since the previous row, as R ``summary.survfit``).
    """
    alpha = _check_alpha(alpha)
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    t, e = _check_time_event(time, event)
    w = _check_counts(counts, t.size)
    grid = _check_times(times)
    tab = _Table(t, e, None, w)
    km = _kaplan_meier(tab)
    if grid is None:
        grid_times, est, gw = km["time"], km["estimate"], km["greenwood"]
    else:
        grid_times = grid
        est = _step(km["time"], km["estimate"], grid, 1.0, tab.max_time)
        gw = _step(km["time"], km["greenwood"], grid, 0.0, tab.max_time)
    se, lower, upper = _km_interval(est, gw, _z(alpha), conf_type)
    counts = tab.counts_on(grid_times)
    frame = _frame({"time": grid_times, "estimate": est, "std_err": se, "variance": se**2, "lower": lower,
                    "upper": upper, **counts},
                   ("time", "estimate", "std_err", "variance", "lower", "upper", "at_risk", "events",
                    "censored"))
    pct = f"{100 * (1 - alpha):g}"
    return annotate(frame, method=_METHOD_KM.format(ci=_KM_CI_TEXT[conf_type].format(pct=pct)), alpha=alpha,
                    parameters={"endpoint": "recurrence or death (any positive event code)",
                                "conf_type": conf_type, "times": None if grid is None else grid.tolist(),
                                "n": int(t.size if w is None else w.sum()), "ties": "events before censorings"})


# --------------------------------------------------------------------------------------------------
# recurrence rate


def recurrence_rate(time: Any, event: Any, *, event_of_interest: int = 1, time_unit: str = "years",
                    per: float = 100.0, alpha: float = 0.05, counts: Any = None) -> pd.DataFrame:
    """Crude recurrence rate: events of interest per ``per`` person-years, with an exact Poisson interval.

    Person-time is the sum of ``time`` (follow-up until the first of recurrence, death or censoring,
    converted to years from ``time_unit``: ``years``, ``months`` = 1/12 year, ``days`` = 1/365.25 year);
    events are the subjects whose follow-up ended with ``event == event_of_interest``. The interval is
    the exact (Garwood 1936) Poisson interval ``[chi2(alpha/2, 2x)/2, chi2(1 - alpha/2, 2x + 2)/2]`` /
    person-years, R ``poisson.test(x, T)$conf.int``; with no events the lower limit is 0.

    Returns one row: ``events``, ``person_years``, ``rate``, ``lower``, ``upper`` (rates per ``per``
    person-years), ``subjects``.
    """
    alpha = _check_alpha(alpha)
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {tuple(TIME_UNITS)}, got {time_unit!r}")
    if not np.isfinite(per) or per <= 0:
        raise ValueError(f"per must be a positive number, got {per!r}")
    _check_cause(event_of_interest)
    t, e = _check_time_event(time, event)
    w = _check_counts(counts, t.size)
    w = np.ones(t.size) if w is None else w
    person_years = float((t * w).sum()) / TIME_UNITS[time_unit]
    x = int(((e == event_of_interest) * w).sum())
    if person_years <= 0:
        raise ValueError(f"{_label(time, 'time')} sums to zero person-time; a rate is undefined")
    lo = 0.0 if x == 0 else float(sps.chi2.ppf(alpha / 2.0, 2 * x)) / 2.0
    hi = float(sps.chi2.ppf(1.0 - alpha / 2.0, 2 * x + 2)) / 2.0
    scale = per / person_years
    frame = pd.DataFrame({"events": [x], "person_years": [person_years], "rate": [x * scale],
                          "lower": [lo * scale], "upper": [hi * scale], "subjects": [int(w.sum())]})
    pct = f"{100 * (1 - alpha):g}"
    return annotate(frame, method=_METHOD_RATE.format(per=per, pct=pct), alpha=alpha,
                    parameters={"event_of_interest": int(event_of_interest), "time_unit": time_unit,
                                "per": per})
