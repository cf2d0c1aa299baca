"""Recurrence: cumulative incidence of first recurrence, with death before recurrence as a competing risk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import common
from registry import analysis
from registry.cohort import TumorFilter
from registry.errors import StoreError
from registry.principal import Principal

TIMES = [1, 3, 5]


@st.cache_data(show_spinner="Computing cumulative incidence...", max_entries=64)
def recurrence(role: str, user: str, db: str, tumor_filter: TumorFilter, times: tuple[int, ...] | None,
               vintage: str | None) -> pd.DataFrame:
    """Released cumulative incidence (at ``times`` or the full curve); cached per role, user, filter, vintage."""
    del vintage   # only part of the cache key
    return analysis.recurrence(Principal(user, role), Path(db), tumor_filter,
                               times_years=list(times) if times else None)




st.title("Recurrence")
principal, db = common.require_principal()
tumor_filter = common.filter_controls(stage=True)
vintage = common.vintage(str(db))
try:
    at_times = recurrence(principal.role, principal.user, str(db), tumor_filter, tuple(TIMES), vintage)
    curve = recurrence(principal.role, principal.user, str(db), tumor_filter, None, vintage)
except StoreError as exc:
    st.warning(str(exc))
    st.stop()

patients = int(at_times.attrs.get("patients") or 0)
stage = tumor_filter.stage_groups[0].replace("_", " ") if tumor_filter.stage_groups else "all stages"
st.caption(f"{common.site_name(tumor_filter.site_recodes)}, {stage}, diagnosed {tumor_filter.first_year}-"
           f"{tumor_filter.last_year}. Recurrence is most meaningful for localized and regional disease: "
           "choose a summary stage in the sidebar.")
if patients == 0:
    st.info("No tumors match these filters.")
    st.stop()

common.show_curve(curve, at_times, title="Cumulative incidence of first recurrence",
                  heading="Cumulative incidence at 1, 3 and 5 years", estimate_label="Cumulative incidence",
                  file_name="recurrence.csv", note=(
                      f"**Patients:** {patients:,}. Event: first recurrence (recurrence type 1st not 00/70/88/99, "
                      "with a date); competing event: death without recurrence; others censored at last contact."))
