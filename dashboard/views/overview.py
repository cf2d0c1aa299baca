"""Overview: cases by diagnosis year and sex, the most frequent site groups by sex, and headline
age-adjusted rates with their intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.common import SEXES, download_csv, how_computed, require_principal, vintage
from dashboard.tables import WITHHELD, show_table, when
from registry.analysis import incidence_rates
from registry.cohort import TumorFilter, case_totals
from registry.principal import Principal
from registry.site_recode import SITE_GROUPS

TOP_SITES = 15


@st.cache_data(show_spinner="Counting...")
def _overview(_principal: Principal, user: str, db: str, data_vintage: str | None) -> tuple[
        pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | str]:
    """Counts by year and sex, by site group (and sex), and the rate by sex or why there is none (cached per
    user and vintage)."""
    everyone = TumorFilter(sexes=("1", "2"))
    yearly = case_totals(_principal, Path(db), everyone, by=("diagnosis_year", "sex"))
    site_totals = case_totals(_principal, Path(db), everyone, by=("site_recode",))
    site_sex = case_totals(_principal, Path(db), everyone, by=("site_recode", "sex"))
    try:
        rates: pd.DataFrame | str = incidence_rates(_principal, Path(db), everyone, by=("sex",))
    except ValueError as exc:   # e.g. no population loaded: the counts still stand
        rates = str(exc)
    return yearly, site_totals, site_sex, rates


def top_sites(site_totals: pd.DataFrame, site_sex: pd.DataFrame) -> pd.DataFrame:
    """The most frequent site groups with their male and female counts side by side (a withheld cell is
    NaN, a sex without cases 0; the site totals are released on their own, as the margins the
    suppression protects)."""
    names = dict(zip(SITE_GROUPS["code"], SITE_GROUPS["name"], strict=True))
    counts = site_sex.pivot(index="site_recode", columns="sex", values="count")
    listed = site_sex.assign(listed=True).pivot(index="site_recode", columns="sex", values="listed")
    wide = counts.mask(listed.isna(), 0.0)   # a sex not listed has no cases; a listed one without a count is withheld
    wide = wide.reindex(columns=["1", "2"]).rename(columns={"1": "male", "2": "female"}).reset_index()
    out = site_totals[["site_recode", "count"]].rename(columns={"count": "total"}).merge(wide, on="site_recode",
                                                                                         how="left")
    out.insert(1, "site_group", out["site_recode"].map(names))
    out = out[["site_recode", "site_group", "male", "female", "total"]]
    out = out.sort_values("total", ascending=False, na_position="last").head(TOP_SITES).reset_index(drop=True)
    out.attrs.update(site_sex.attrs)
    return out


principal, db = require_principal()
st.title("Overview")
st.caption(f"Data as of {when(vintage(str(db))) if vintage(str(db)) else 'no load yet'}. Invasive tumors (behavior 3); each loaded source "
           "record counts until linkage consolidates reports of the same tumor.")
yearly, site_totals, site_sex, rates = _overview(principal, principal.user, str(db), vintage(str(db)))
if yearly.empty:
    st.info("Nothing loaded yet: load NAACCR files with `registry ingest`.")
    st.stop()

left, right = st.columns([3, 2])
with left:
    st.subheader("Cases by diagnosis year")
    chart = yearly.assign(Sex=yearly["sex"].map(SEXES).fillna("Unknown"),
                          diagnosis_year=yearly["diagnosis_year"].map(lambda y: "unknown" if pd.isna(y) else str(int(y))))
    st.bar_chart(chart, x="diagnosis_year", y="count", color="Sex", x_label="diagnosis year", y_label="tumors")
    how_computed(yearly)
    download_csv(yearly, "cases-by-year-and-sex.csv")
with right:
    st.subheader("Age-adjusted incidence by sex")
    if isinstance(rates, str):
        st.info(f"No rates: {rates}.")
        rates = pd.DataFrame()
    for row in rates.to_dict("records"):
        label = SEXES.get(str(row["sex"]), str(row["sex"]))
        if bool(row.get("suppressed", False)):
            st.metric(label, "suppressed")
        else:
            st.metric(label, f"{row['rate']:.1f} per 100,000",
                      help=f"{int(row['count']):,} cases, all diagnosis years")
            st.caption(f"95% interval {row['lower']:.1f} to {row['upper']:.1f}")
    if not rates.empty:
        how_computed(rates)

st.subheader("Most frequent site groups")
top = top_sites(site_totals, site_sex)
show_table(top, labels={"male": "Male", "female": "Female", "total": "Total"},
           withheld=pd.Series(True, index=top.index))   # every empty cell of this table is a withheld one
if top[["male", "female", "total"]].isna().any().any():
    st.caption(f'Cells reading "{WITHHELD}" are withheld (fewer than 16 tumors, or withheld so that another '
               "cannot be derived).")
how_computed(top, "Totals are released on their own; a withheld male or female cell does not withhold the total.")
download_csv(top, "top-sites.csv")
