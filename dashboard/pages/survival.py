"""Survival after diagnosis: observed (Kaplan-Meier), net (Pohar-Perme) or relative (Ederer II)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import common
from registry import analysis
from registry.cohort import COMPARISONS, TumorFilter
from registry.errors import StoreError
from registry.principal import Principal
from registry.stats import median_survival

METHODS = {"kaplan-meier": "Kaplan-Meier (observed)", "pohar-perme": "Pohar-Perme (net)",
           "ederer2": "Ederer II (relative)"}
TIMES = [1, 3, 5, 10]


@common.page_cache("Computing survival...")
def survival(principal: Principal, db: Path, tumor_filter: TumorFilter, method: str,
             times: tuple[int, ...] | None, by: str | None) -> pd.DataFrame:
    """Released survival estimates (at ``times`` or the full curves)."""
    return analysis.survival(principal, db, tumor_filter, method=method,
                             times_years=list(times) if times else None, by=by)


def released_median(curve: pd.DataFrame) -> pd.Series | None:
    """Median survival from the released part of a full KM curve (withheld tail points left out)."""
    shown = curve[~curve["suppressed"].astype(bool)] if "suppressed" in curve.columns else curve
    shown = shown.dropna(subset=["survival", "lower", "upper"])
    if shown.empty:
        return None
    return median_survival(shown)


def describe_median(median: pd.Series | None) -> tuple[str, str]:
    """("2.3 years", "95% CI 1.9 to 2.8 years") or ("not reached", "")."""
    if median is None or not math.isfinite(float(median["median"])):
        return "not reached", ""
    low, high = float(median["lower"]), float(median["upper"])
    interval = (f"95% CI {low:.1f} to {high:.1f} years" if math.isfinite(low) and math.isfinite(high)
                else f"95% CI {low:.1f} years to not reached" if math.isfinite(low) else "")
    return f"{float(median['median']):.1f} years", interval


def show_medians(curve: pd.DataFrame) -> None:
    """Median survival (Kaplan-Meier) overall or per compared group."""
    if "group" not in curve.columns:
        value, interval = describe_median(released_median(curve))
        st.metric("Median survival", value, help=interval or None)
        if interval:
            st.caption(f"Median survival {value}; {interval}.")
        return
    rows = []
    for group in curve.attrs.get("groups") or []:
        part = curve[curve["group"] == group["group"]]
        if group["suppressed"] or part.empty:
            continue
        value, interval = describe_median(released_median(part))
        rows.append({"group": group["group"], "median": value, "interval": interval})
    st.subheader("Median survival")
    st.dataframe(pd.DataFrame(rows, columns=["group", "median", "interval"]), hide_index=True,
                 column_config={"group": COMPARISONS[str(curve.attrs["comparison"])], "median": "Median",
                                "interval": "95% CI"})


st.title("Survival")
principal, db = common.require_principal()
method = common.choice_control("Method", METHODS, "method")
tumor_filter = common.filter_controls(stage=True)
by = common.comparison_control(["stage_group", "sex", "age_band", "period", "race", "treatment_group"])
try:
    at_times = survival(principal, db, tumor_filter, method, tuple(TIMES), by)
    curve = survival(principal, db, tumor_filter, method, None, by)
except StoreError as exc:
    st.warning(str(exc))
    st.stop()

patients = at_times.attrs.get("patients")
patient_count = common.count_text(patients)
st.caption(f"{common.describe_filter(tumor_filter, by)}; {METHODS[method]}.")
if patients == 0:
    st.info("No tumors match these filters.")
    st.stop()
if method == "kaplan-meier":
    show_medians(curve)

common.show_curve(curve, at_times, title=METHODS[method], heading="Estimates at 1, 3, 5 and 10 years",
                  estimate_label="Survival", file_name=f"survival_{method}.csv",
                  note=f"**Patients:** {patient_count}; survival time in years (days / 365.241)."
                       + (" Age bands follow the International Cancer Survival Standard (under 45, 45-54, 55-64, "
                          "65-74, 75+)." if by == "age_band" else ""))
