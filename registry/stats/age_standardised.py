"""Age-standardised net survival with the International Cancer Survival Standard (ICSS) weights.

Net survival of all ages together depends on the patients' age mix, and Pohar Perme's weights ``1/S*``
let a few old patients carry it late in follow-up. Registries (CONCORD, EUROCARE, SEER's age-standardised
survival) therefore report net survival age-standardised: estimated in each of five age bands at
diagnosis (15-44, 45-54, 55-64, 65-74, 75+) and combined with the ICSS weights of Corazziari, Quinn &
Capocaccia (2004, Eur J Cancer 40:2307-16, table 1; ``registry/data/icss_weights.csv``):

    S_std(t) = sum_b w_b S_b(t),    Var S_std(t) = sum_b w_b^2 Var S_b(t)

with ``S_b`` and its standard error from :func:`registry.stats.relative_survival.relative_survival`
(``summary(rs.surv(...), times=)``'s ``surv`` and ``std.err`` in R relsurv). The interval is
``S_std +/- z SE`` (plain). Patients under 15 are outside the standard and left out. Where a band has
nobody at risk at t (no patient of that band followed that long, or none at all) the standardised
estimate is not computable: ``estimate`` is NaN there and ``at_risk`` (the fewest at risk in any band) 0.

Which standard (Corazziari et al. table 2, as listed by SEER, https://seer.cancer.gov/stdpopulations/
survival.html): ICSS 1 for cancers whose incidence rises with age (most sites, all sites together,
prostate); ICSS 2 for broadly constant incidence by age (nasopharynx, soft tissue, melanoma of the skin,
cervix uteri, brain, thyroid, bone); ICSS 3 for cancers mainly of young adults (testis, Hodgkin lymphoma,
acute lymphoblastic leukaemia). :func:`icss_standard_for_sites` applies this to SEER site recodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from registry.ratetables import DAYS_PER_YEAR, RateTableArrays
from registry.stats.relative_survival import _as_arrays, relative_survival
from registry.stats.result import annotate
from registry.stats.survival import _evaluate_at, _z, requested_times

ICSS_STANDARDS = ("icss1", "icss2", "icss3")
YOUNGEST_AGE = 15   # the ICSS covers adults: patients under 15 are left out
# SEER site recode (2023) -> ICSS standard, for the sites that do not take ICSS 1 (Corazziari et al. table 2).
ICSS_SITE_STANDARD: dict[str, str] = {
    "09": "icss2",   # nasopharynx
    "34": "icss2",   # bones and joints
    "36": "icss2",   # soft tissue
    "37": "icss2",   # melanoma of the skin
    "42": "icss2",   # cervix uteri
    "60": "icss2",   # brain
    "63": "icss2",   # thyroid
    "50": "icss3",   # testis
    "69": "icss3",   # Hodgkin lymphoma
    "67": "icss3",   # precursor lymphoid neoplasms (acute lymphoblastic leukaemia)
}


@cache
def icss_weights(standard: str = "icss1") -> pd.DataFrame:
    """The five age bands of one ICSS standard: ``age_band``, ``age_lo``, ``age_hi`` (None: open), ``weight``."""
    if standard not in ICSS_STANDARDS:
        raise ValueError(f"standard: unknown {standard!r}; use {', '.join(ICSS_STANDARDS)}")
    with resources.files("registry").joinpath("data/icss_weights.csv").open(encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"age_band": str})
    chosen = table[table["standard"] == standard].drop(columns="standard").reset_index(drop=True)
    chosen["age_hi"] = chosen["age_hi"].astype(object).where(chosen["age_hi"].notna(), None)
    return chosen


def icss_standard_for_sites(site_recodes: Sequence[str]) -> str:
    """The ICSS standard for a selection of SEER site recodes: the sites' own standard when they share
    one, else ICSS 1 (the standard for all sites together)."""
    standards = {ICSS_SITE_STANDARD.get(code, "icss1") for code in site_recodes}
    return standards.pop() if len(standards) == 1 else "icss1"


def _band_curve(data: pd.DataFrame, rt: RateTableArrays, method: str, integration: str) -> dict[str, np.ndarray]:
    """One band's full net survival curve as the step table ``_evaluate_at`` reads."""
    curve = relative_survival(data.reset_index(drop=True), rt, method=method, integration=integration, min_at_risk=0)
    return {name: curve[name].to_numpy(dtype=float)
            for name in ("time", "estimate", "std_err_cumhaz", "at_risk", "events", "censored")}


def age_standardised_survival(data: pd.DataFrame, ratetable: pd.DataFrame | str | Path | RateTableArrays, *,
                              standard: str = "icss1", method: str = "pohar-perme",
                              times: Sequence[float] | np.ndarray | None = None, alpha: float = 0.05,
                              integration: str = "exact") -> pd.DataFrame:
    """ICSS age-standardised net survival (Pohar Perme or Ederer II in each band; see the module docstring).

    ``data`` as :func:`registry.stats.relative_survival.relative_survival` takes it; ``times`` in days
    (``None``: every distinct follow-up time of any band). Returns ``time`` (days), ``estimate``,
    ``std_err``, ``lower``, ``upper``, ``at_risk`` (the fewest at risk in any band: 0 where the estimate
    is not computable) and ``at_risk_total``; ``attrs["parameters"]`` has the standard, its weights, the
    patients per band and those left out (under 15).
    """
    weights = icss_weights(standard)
    rt = _as_arrays(ratetable)
    years = np.floor(pd.to_numeric(data["age_days"], errors="coerce").to_numpy(dtype=float) / DAYS_PER_YEAR)
    followed = pd.to_numeric(data["time_days"], errors="coerce").to_numpy(dtype=float) > 0
    bands: list[tuple[str, float, pd.DataFrame]] = []
    for label, low, high, weight in weights[["age_band", "age_lo", "age_hi", "weight"]].itertuples(index=False):
        inside = (years >= low) & (years <= (np.inf if high is None else high))
        bands.append((str(label), float(weight), data[inside & followed]))
    curves = [_band_curve(rows, rt, method, integration) if len(rows) else None for _, _, rows in bands]
    if times is None:
        grid = np.unique(np.concatenate([c["time"] for c in curves if c is not None] or [np.zeros(0)]))
    else:
        grid = requested_times(times)
    estimate = np.zeros(len(grid))
    variance = np.zeros(len(grid))
    fewest = np.full(len(grid), np.inf)
    total = np.zeros(len(grid))
    for (_, weight, _), curve in zip(bands, curves, strict=True):
        if curve is None:
            fewest[:] = 0
            continue
        at = _evaluate_at(curve, grid, estimate="estimate")
        se = at["estimate"] * at["std_err_cumhaz"]
        estimate += weight * at["estimate"]
        variance += weight ** 2 * se ** 2
        fewest = np.minimum(fewest, at["at_risk"])
        total += at["at_risk"]
    computable = fewest > 0
    estimate = np.where(computable, estimate, np.nan)
    std_err = np.where(computable, np.sqrt(variance), np.nan)
    z = _z(alpha)
    frame = pd.DataFrame({"time": grid, "estimate": estimate, "std_err": std_err, "lower": estimate - z * std_err,
                          "upper": estimate + z * std_err, "at_risk": fewest.astype(np.int64),
                          "at_risk_total": total.astype(np.int64)})
    young = int((years < YOUNGEST_AGE).sum())
    name = "Pohar Perme net survival" if method == "pohar-perme" else "Ederer II relative survival"
    return annotate(frame, method=f"{name}, age-standardised with the International Cancer Survival Standard "
                                  f"{standard[-1]} (Corazziari, Quinn & Capocaccia 2004), plain interval",
                    alpha=alpha, standard=standard,
                    parameters={"method": method, "standard": standard, "estimator": method,
                                "estimate_column": "estimate", "time_unit": "days", "integration": integration,
                                "weights": dict(zip(weights["age_band"], weights["weight"].astype(float), strict=True)),
                                "patients_by_band": {label: len(rows) for label, _, rows in bands},
                                "left_out_under_15": young, "full_curve": times is None})
