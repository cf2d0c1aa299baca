"""Recurrence: cumulative incidence of first recurrence (death before recurrence competing), recurrence-free
survival and recurrence rates, overall or compared by stage, first-course treatment, sex, age or period."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import common
from dashboard.tables import show_table
from registry import api
from registry.api import COMPARISONS, Principal, RegistryError, Release, TumorFilter

TIMES = [1, 3, 5]
ENDPOINTS = {"cumulative_incidence": "Cumulative incidence of recurrence",
             "recurrence_free": "Recurrence-free survival"}
EVENT_NOTE = ("Event: first recurrence (recurrence type 1st not 00/70/88/99, with a date); competing event: death "
              "without recurrence; others censored at last contact.")


@common.page_cache("Computing recurrence...")
def recurrence(principal: Principal, db: Path, tumor_filter: TumorFilter, times: tuple[int, ...] | None,
               endpoint: str, by: str | None) -> Release:
    """Released recurrence curves (at ``times`` or in full)."""
    return api.recurrence(principal, db, tumor_filter, times_years=list(times) if times else None,
                               endpoint=endpoint, by=by)


@common.page_cache("Computing recurrence rates...")
def recurrence_rates(principal: Principal, db: Path, tumor_filter: TumorFilter, by: str | None) -> Release:
    """Released recurrence rates per 100 person-years."""
    return api.recurrence_rates(principal, db, tumor_filter, by=by)


def show_rates(rates: Release) -> None:
    """Recurrences per 100 person-years with exact Poisson intervals, and their CSV."""
    st.subheader("Recurrence rate")
    columns = [c for c in ("group", "events", "person_years", "rate", "lower", "upper", "suppressed")
               if c in rates.table.columns]
    shown = rates.table[columns]
    show_table(shown, labels={"group": COMPARISONS.get(str(rates.comparison), "Group"),
                              "events": "Recurrences", "person_years": "Person-years",
                              "rate": "Per 100 person-years"},
               formats={"rate": "{:.2f}", "lower": "{:.2f}", "upper": "{:.2f}"})
    common.how_computed(rates, extra="Person-years run from diagnosis to the first of recurrence, death or last "
                                     f"contact; rates resting on 1-{common.DEFAULT_THRESHOLD - 1} recurrences are "
                                     "withheld with their "
                                     "complement.")
    common.download_csv(rates, "recurrence_rates.csv", label="Download the rates (CSV)", table=shown)


principal, db = common.require_principal()
st.title("Recurrence")
endpoint = common.choice_control("Endpoint", ENDPOINTS, "endpoint")
tumor_filter = common.filter_controls(stage=True)
by = common.comparison_control(["treatment_group", "stage_group", "sex", "age_band", "period"])
try:
    at_times = recurrence(principal, db, tumor_filter, tuple(TIMES), endpoint, by)
    curve = recurrence(principal, db, tumor_filter, None, endpoint, by)
    rates = recurrence_rates(principal, db, tumor_filter, by)
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()

patients = at_times.count("patients")
patient_count = common.count_text(patients)
st.caption(f"{common.describe_filter(tumor_filter, by)}. Recurrence is most meaningful for localized and regional disease: "
           "choose a summary stage in the sidebar.")
if patients == 0:
    st.info("No tumors match these filters.")
    st.stop()

label = "Cumulative incidence" if endpoint == "cumulative_incidence" else "Recurrence-free survival"
common.show_curve(curve, at_times, title=ENDPOINTS[endpoint],
                  heading=f"{label} at 1, 3 and 5 years", estimate_label=label,
                  file_name=f"recurrence_{endpoint}.csv", note=(
                      f"**Patients:** {patient_count}. {EVENT_NOTE}" if endpoint == "cumulative_incidence" else
                      f"**Patients:** {patient_count}. Event: first recurrence or death from any cause, whichever "
                      "comes first; others censored at last contact."))
show_rates(rates)
