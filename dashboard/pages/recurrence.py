"""Recurrence: cumulative incidence of first recurrence, with death before recurrence as a competing risk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import common
from dashboard.charts import survival_figure
from registry import analysis
from registry.cohort import TumorFilter
from registry.errors import StoreError
from registry.principal import Principal

TIMES = [1, 3, 5]
TABLE_COLUMNS = ["time", "estimate", "lower", "upper", "at_risk", "suppressed"]


@st.cache_data(show_spinner="Computing cumulative incidence...", max_entries=64)
def recurrence(role: str, user: str, db: str, tumor_filter: TumorFilter, times: tuple[int, ...] | None,
               vintage: str | None) -> pd.DataFrame:
    """Released cumulative incidence (at ``times`` or the full curve); cached per role, user, filter, vintage."""
    del vintage   # only part of the cache key
    return analysis.recurrence(Principal(user, role), Path(db), tumor_filter,
                               times_years=list(times) if times else None)


def estimate_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Time, cumulative incidence, interval, number at risk and the suppression flag."""
    out = frame[[c for c in TABLE_COLUMNS if c in frame.columns]].copy()
    if "suppressed" not in out.columns:
        out["suppressed"] = False
    out.attrs.update(frame.attrs)
    return out


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

curve_table = estimate_table(curve)
shown = curve_table[~curve_table["suppressed"]].dropna(subset=["estimate"])
figure = survival_figure(shown, estimate="estimate", title="Cumulative incidence of first recurrence")
figure.update_layout(yaxis={"title": {"text": "cumulative incidence"}, "range": None, "rangemode": "tozero"})
st.plotly_chart(figure, width="stretch")
if curve_table["suppressed"].any():
    st.caption("The curve stops where fewer than 16 patients remain at risk (later points are withheld).")

table = estimate_table(at_times)
st.subheader("Cumulative incidence at 1, 3 and 5 years")
st.dataframe(table, hide_index=True, column_config={
    "time": st.column_config.NumberColumn("Years", format="%d"),
    "estimate": st.column_config.NumberColumn("Cumulative incidence", format="%.3f"),
    "lower": st.column_config.NumberColumn("95% CI lower", format="%.3f"),
    "upper": st.column_config.NumberColumn("95% CI upper", format="%.3f"),
    "at_risk": st.column_config.NumberColumn("At risk", format="%d"),
    "suppressed": st.column_config.CheckboxColumn("Suppressed")})
common.how_computed(at_times, extra=(
    f"**Patients:** {patients:,}. Event: first recurrence (recurrence type 1st not 00/70/88/99, with a "
    "date); competing event: death without recurrence; others censored at last contact."))
common.download_csv(table, "recurrence.csv")
