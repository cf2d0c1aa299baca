"""Survival after diagnosis: observed (Kaplan-Meier), net (Pohar-Perme) or relative (Ederer II)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import common
from registry import api
from registry.api import (
    COMPARISONS,
    MAX_PLAUSIBLE_AGE,
    Principal,
    RegistryError,
    Release,
    TumorFilter,
    icss_standard_for_sites,
    icss_weights,
    median_survival,
    net_survival_notes,
)

# SEER survival: all tumors of the selection (each person's every primary), or each person's first primary.
TUMOR_CHOICES = {"all": "All tumors", "first": "First primary only"}
METHODS = {"kaplan-meier": "Kaplan-Meier (observed)", "pohar-perme": "Pohar-Perme (net)",
           "pohar-perme-icss": "Pohar-Perme, age-standardised (ICSS)", "ederer2": "Ederer II (relative)"}
STANDARDISED = "pohar-perme-icss"
TIMES = [1, 3, 5, 10]


@common.page_cache("Computing survival...")
def survival(principal: Principal, db: Path, tumor_filter: TumorFilter, method: str,
             times: tuple[int, ...] | None, by: str | None) -> Release:
    """Released survival estimates (at ``times`` or the full curves)."""
    standard = icss_standard_for_sites(tumor_filter.site_recodes) if method == STANDARDISED else None
    return api.survival(principal, db, tumor_filter, method="pohar-perme" if standard else method,
                             times_years=list(times) if times else None, by=by, age_standard=standard)


def show_net_survival_notes(at_times: Release) -> None:
    """Cautions on a net survival table (above 1, few heavily weighted patients, not computable)."""
    for note in net_survival_notes(at_times.table):
        st.warning(note)


def describe_left_out(at_times: Release) -> str:
    """The tumors left out as probable age errors, as the role may see their number."""
    if "age_errors" not in at_times.counts or at_times.count("age_errors") == 0:
        return ""
    count = at_times.count("age_errors")
    shown = "a withheld number of" if count is None else f"{count:,}"
    return (f" **Left out:** {shown} tumors with a probable age error, flagged at ingest: an age over "
            f"{MAX_PLAUSIBLE_AGE} at diagnosis (rule `age-over-105`), or a coded age that disagrees with the birth "
            "and diagnosis dates (`age-date-mismatch`).")


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


def show_medians(release: Release) -> None:
    """Median survival (Kaplan-Meier) overall or per compared group, read from the released curves."""
    curve = release.table
    if "group" not in curve.columns:
        value, interval = describe_median(released_median(curve))
        st.metric("Median survival", value, help=interval or None)
        if interval:
            st.caption(f"Median survival {value}; {interval}.")
        return
    rows = []
    for group in release.groups:
        part = curve[curve["group"] == group.group]
        if group.suppressed or part.empty:
            continue
        value, interval = describe_median(released_median(part))
        rows.append({"group": group.group, "median": value, "interval": interval})
    st.subheader("Median survival")
    st.dataframe(pd.DataFrame(rows, columns=["group", "median", "interval"]), hide_index=True,
                 column_config={"group": COMPARISONS[str(release.comparison)], "median": "Median",
                                "interval": "95% CI"})


principal, db = common.require_principal()
st.title("Survival")
method = common.choice_control("Method", METHODS, "method")
tumor_filter = common.filter_controls(stage=True)
if common.choice_control("Tumors", TUMOR_CHOICES, "tumors") == "first":
    tumor_filter = replace(tumor_filter, first_primary_only=True)
by = common.comparison_control(["stage_group", "sex", "age_band", "period", "race", "treatment_group"])
if method == STANDARDISED and by == "age_band":
    st.info("Age-standardised survival combines the age bands, so it is not compared by age band: choose another "
            "comparison or method.")
    st.stop()
try:
    at_times = survival(principal, db, tumor_filter, method, tuple(TIMES), by)
    curve = survival(principal, db, tumor_filter, method, None, by)
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()

patients = at_times.count("patients")
patient_count = common.count_text(patients)
st.caption(f"{common.describe_filter(tumor_filter, by)}; {METHODS[method]}.")
if patients == 0:
    st.info("No tumors match these filters.")
    st.stop()
if method == "kaplan-meier":
    show_medians(curve)

standard_note = ""
if method == STANDARDISED:
    standard = icss_standard_for_sites(tumor_filter.site_recodes)
    weights = ", ".join(f"{band} {weight:g}" for band, weight in icss_weights(standard)[["age_band", "weight"]].to_numpy())
    standard_note = (f" Age-standardised with the International Cancer Survival Standard {standard[-1]} (Corazziari "
                     f"et al. 2004; weights {weights}); patients under 15 are left out; **At risk** is the fewest "
                     "at risk in any age band.")
common.show_curve(curve, at_times, title=METHODS[method], heading="Estimates at 1, 3, 5 and 10 years",
                  estimate_label="Survival", file_name=f"survival_{method}.csv",
                  note=f"**Patients:** {patient_count}; survival time in years (days / 365.241)."
                       + (" Age bands follow the International Cancer Survival Standard (under 45, 45-54, 55-64, "
                          "65-74, 75+)." if by == "age_band" else "") + standard_note + describe_left_out(at_times))
if method != "kaplan-meier":
    show_net_survival_notes(at_times)
