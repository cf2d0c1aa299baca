"""Adjusted hazard ratios: Cox proportional hazards regression (fitted with lifelines' CoxPHFitter).

:func:`cox` takes a frame with one row per subject (tumor), the follow-up time, an event indicator and
the covariates, and returns one row per model term with the hazard ratio, its Wald interval and p-value.

Model (Cox 1972): ``h(t | x) = h0_s(t) exp(beta' x)`` with an unspecified baseline hazard ``h0_s`` per
stratum ``s``; ``beta`` maximises the partial likelihood with **Efron's (1977) handling of tied event
times** — the only method lifelines implements, and the default of R ``survival::coxph`` (results agree
with ``coxph(..., ties = "efron")``). Breslow's approximation is not offered. Intervals and p-values are
Wald: ``exp(beta +- z se)``, ``2 (1 - Phi(|beta / se|))``, with ``se`` from the inverse of the observed
information (model-based, not robust).

Covariates:

- numeric and boolean columns enter as they are (booleans as 0/1), one term each, named after the column;
- text, categorical and other non-numeric columns are expanded into indicator (treatment) contrasts
  against a **reference level**: by default the first category of a pandas ``Categorical`` (its
  category order) or else the smallest value in sorted order; ``reference={"column": level}`` chooses
  another. Each non-reference level becomes one term named ``column[level]``; levels absent from the
  analysed rows are dropped;
- rows with a missing value in the duration, event, any covariate or stratum column are left out (as R's
  default ``na.action = na.omit``); how many is recorded in ``attrs["n_dropped"]``.

Every result frame carries its provenance (:func:`registry.stats.result.annotate`) and the fit summary
in ``attrs``: ``n``, ``events``, ``n_dropped``, ``concordance`` (Harrell's C of the fitted linear
predictor, lifelines' ``concordance_index_``), ``log_likelihood`` (log partial likelihood at the
estimate), ``references`` (the reference level of each expanded covariate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from registry.stats.result import annotate

_METHOD = ("Cox proportional hazards regression (Cox 1972), partial likelihood with Efron (1977) ties, "
           "fitted with lifelines CoxPHFitter; Wald {pct}% intervals exp(beta +- z se) and Wald p-values")

_FIT_OPTIONS = {"precision": 1e-10, "r_precision": 1e-14, "max_steps": 200}
"""Newton-Raphson stopping rules tighter than lifelines' defaults, so estimates agree with R coxph to
well below the displayed precision."""

TERM_COLUMNS = ("term", "covariate", "level", "reference", "coef", "std_err", "hazard_ratio", "lower",
                "upper", "z", "p_value")


def _columns(value: str | Sequence[str] | None, what: str) -> list[str]:
    if value is None:
        return []
    columns = [value] if isinstance(value, str) else list(value)
    if len(set(columns)) != len(columns):
        raise ValueError(f"{what} names a column twice: {columns}")
    return columns


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _levels(series: pd.Series) -> list[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [c for c in series.cat.categories if c in present]
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:  # mixed types: sort by text
        return sorted(values, key=str)


def _design(frame: pd.DataFrame, covariates: list[str],
            reference: Mapping[str, Any]) -> tuple[pd.DataFrame, list[dict[str, Any]], dict[str, Any]]:
    """The numeric design matrix, one description per term, and the reference level per expanded column."""
    columns: dict[str, np.ndarray] = {}
    terms: list[dict[str, Any]] = []
    references: dict[str, Any] = {}
    for name in covariates:
        series = frame[name]
        if not _is_categorical(series):
            if name in reference:
                raise ValueError(f"reference given for numeric covariate {name!r}; a reference level applies "
                                 "only to text or categorical columns")
            columns[name] = series.to_numpy(dtype=float)
            terms.append({"term": name, "covariate": name, "level": None, "reference": None})
            continue
        levels = _levels(series)
        if len(levels) < 2:
            raise ValueError(f"categorical covariate {name!r} has fewer than two levels in the analysed rows: "
                             f"{levels}")
        ref = reference.get(name, levels[0])
        if ref not in levels:
            raise ValueError(f"reference level {ref!r} of covariate {name!r} is not among its levels {levels}")
        references[name] = ref
        values = series.to_numpy(dtype=object)
        for level in levels:
            if level == ref:
                continue
            term = f"{name}[{level}]"
            columns[term] = (values == level).astype(float)
            terms.append({"term": term, "covariate": name, "level": level, "reference": ref})
    unknown = sorted(set(reference) - set(covariates))
    if unknown:
        raise ValueError(f"reference names columns that are not covariates: {unknown}")
    return pd.DataFrame(columns, index=frame.index), terms, references


def _event_values(series: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        shown = ", ".join(repr(v) for v in pd.unique(series[bad])[:5])
        raise ValueError(f"event column {name!r} must hold 0/1 or booleans (1 = event); {int(bad.sum())} "
                         f"value(s) are not: {shown}")
    return values


def cox(data: pd.DataFrame, *, duration: str, event: str, covariates: Sequence[str],
        strata: str | Sequence[str] | None = None, alpha: float = 0.05,
        reference: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Adjusted hazard ratios from a Cox proportional hazards model (Efron ties), one row per term.

    Parameters
    ----------
    data:
        One row per subject.
    duration:
        Column with the follow-up time (non-negative, finite).
    event:
        Column with the event indicator (1/True = event, 0/False = censored).
    covariates:
        Columns entering the linear predictor (see the module docstring for categorical expansion).
    strata:
        Columns defining strata with their own baseline hazard (R ``strata()``); several columns stratify
        by their combination.
    alpha:
        1 - confidence level of the intervals.
    reference:
        Reference level per categorical covariate, e.g. ``{"stage": "Localized"}``.

    Returns
    -------
    Columns ``term``, ``covariate``, ``level`` and ``reference`` (None for numeric terms), ``coef``
    (log hazard ratio), ``std_err``, ``hazard_ratio``, ``lower``, ``upper``, ``z``, ``p_value``; the fit
    summary (``n``, ``events``, ``n_dropped``, ``concordance``, ``log_likelihood``, ``references``) in
    ``attrs``.
    """
    from lifelines import CoxPHFitter  # imported here: lifelines is heavy and only needed to fit

    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    covariate_list = _columns(covariates, "covariates")
    strata_list = _columns(strata, "strata")
    if not covariate_list:
        raise ValueError("covariates is empty; name at least one column")
    used = [duration, event, *covariate_list, *strata_list]
    missing = [c for c in dict.fromkeys(used) if c not in data.columns]
    if missing:
        raise ValueError(f"data has no column(s) {missing}; it has {list(data.columns)}")
    if len(set(used)) != len(used):
        raise ValueError(f"a column is used twice among duration, event, covariates and strata: {used}")

    complete = data[used].notna().all(axis=1)
    frame = data.loc[complete, used]
    n_dropped = int((~complete).sum())
    if frame.empty:
        raise ValueError("no rows left after leaving out rows with missing values")

    time = pd.to_numeric(frame[duration], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(time) | (time < 0)
    if bad.any():
        shown = ", ".join(repr(v) for v in pd.unique(frame[duration][bad])[:5])
        raise ValueError(f"duration column {duration!r} must hold finite, non-negative numbers; "
                         f"{int(bad.sum())} value(s) are not: {shown}")
    status = _event_values(frame[event], event)
    if status.sum() == 0:
        raise ValueError(f"event column {event!r} has no events in the analysed rows; hazard ratios are "
                         "not estimable")

    design, terms, references = _design(frame, covariate_list, dict(reference or {}))
    constant = [t["term"] for t in terms if np.ptp(design[t["term"]].to_numpy()) == 0]
    if constant:
        raise ValueError(f"covariate term(s) {constant} do not vary in the analysed rows")

    fit_frame = design.copy()
    fit_frame.columns = [f"x{i}" for i in range(design.shape[1])]
    fit_frame["__duration__"] = time
    fit_frame["__event__"] = status
    strata_columns: list[str] = []
    for i, name in enumerate(strata_list):
        # strata are grouping labels: factorize so any dtype (text, category, numbers) works
        fit_frame[f"__stratum{i}__"] = pd.factorize(frame[name], sort=True)[0]
        strata_columns.append(f"__stratum{i}__")

    fitter = CoxPHFitter(alpha=alpha)
    fitter.fit(fit_frame, duration_col="__duration__", event_col="__event__", strata=strata_columns or None,
               fit_options=dict(_FIT_OPTIONS))

    params = fitter.params_.to_numpy(dtype=float)
    se = fitter.standard_errors_.to_numpy(dtype=float)
    z_crit = float(sps.norm.ppf(1.0 - alpha / 2.0))
    z = params / se
    result = pd.DataFrame(terms)
    result["coef"] = params
    result["std_err"] = se
    result["hazard_ratio"] = np.exp(params)
    result["lower"] = np.exp(params - z_crit * se)
    result["upper"] = np.exp(params + z_crit * se)
    result["z"] = z
    result["p_value"] = 2.0 * sps.norm.sf(np.abs(z))
    result = result[list(TERM_COLUMNS)]

    pct = f"{100 * (1 - alpha):g}"
    annotate(result, method=_METHOD.format(pct=pct), alpha=alpha,
             parameters={"duration": duration, "event": event, "covariates": covariate_list,
                         "strata": strata_list, "ties": "efron", "reference": references})
    result.attrs.update({"n": int(len(frame)), "events": int(status.sum()), "n_dropped": n_dropped,
                         "concordance": float(fitter.concordance_index_),
                         "log_likelihood": float(fitter.log_likelihood_), "references": references})
    return result
