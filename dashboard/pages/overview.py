"""Overview: cases by diagnosis year, the most frequent site groups, and headline age-adjusted rates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.common import download_csv, how_computed, require_principal, vintage
from registry.analysis import incidence_rates
from registry.cohort import TumorFilter, case_totals
from registry.principal import Principal
from registry.site_recode import SITE_GROUPS


@st.cache_data(show_spinner="Counting...")
def _overview(_principal: Principal, user: str, db: str, data_vintage: str | None) -> tuple[
        pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Yearly counts, counts by site group and the rate by sex (cached per user and data vintage)."""
    everyone = TumorFilter(sexes=("1", "2"))
    yearly = case_totals(_principal, Path(db), everyone, by=("diagnosis_year",))
    sites = case_totals(_principal, Path(db), everyone, by=("site_recode",))
    rates = incidence_rates(_principal, Path(db), everyone, by=("sex",))
    return yearly, sites, rates


principal, db = require_principal()
st.title("Overview")
st.caption(f"Data as of {vintage(str(db)) or 'no load yet'}. Invasive tumors (behavior 3); each loaded source "
           "record counts until linkage consolidates reports of the same tumor.")
try:
    yearly, sites, rates = _overview(principal, principal.user, str(db), vintage(str(db)))
except ValueError as exc:
    st.warning(f"Nothing to show yet: {exc}")
    st.stop()

by_year = yearly
left, right = st.columns(2)
with left:
    st.subheader("Cases by diagnosis year")
    st.bar_chart(by_year, x="diagnosis_year", y="count")
with right:
    st.subheader("Age-adjusted incidence by sex")
    for row in rates.to_dict("records"):
        label = {"1": "Male", "2": "Female"}.get(str(row["sex"]), str(row["sex"]))
        if bool(row.get("suppressed", False)):
            st.metric(label, "suppressed")
        else:
            st.metric(label, f"{row['rate']:.1f} per 100,000",
                      help=f"95% interval {row['lower']:.1f}-{row['upper']:.1f}; {int(row['count']):,} cases")
    how_computed(rates)

st.subheader("Most frequent site groups")
names = dict(zip(SITE_GROUPS["code"], SITE_GROUPS["name"], strict=True))
top = sites.copy()
top.insert(1, "site_group", top["site_recode"].map(names))
top = top.sort_values("count", ascending=False).head(15)
st.dataframe(top, hide_index=True)
download_csv(top, "top-sites.csv")
