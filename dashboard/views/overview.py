"""Overview: cases by diagnosis year and sex, the most frequent site groups by sex, and headline
age-adjusted rates with their intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.common import (
    DEFAULT_YEARS,
    SEXES,
    count_text,
    download_csv,
    how_computed,
    page_cache,
    require_principal,
    site_names,
    vintage,
)
from dashboard.tables import WITHHELD, show_table, when
from registry.api import (
    DEFAULT_THRESHOLD,
    NotComputable,
    Principal,
    Release,
    TumorFilter,
    case_totals,
    incidence_rates,
    store_info,
)

TOP_SITES = 15


@page_cache("Counting...")
def _overview(principal: Principal, db: Path) -> tuple[Release, Release, Release, Release | str]:
    """Counts by year and sex, by site group (and sex), and the rate by sex or why there is none. The years
    are the other pages' default years, so the released counts line up with theirs."""
    everyone = TumorFilter(sexes=("1", "2"), first_year=DEFAULT_YEARS[0], last_year=DEFAULT_YEARS[1])
    yearly = case_totals(principal, db, everyone, by=("diagnosis_year", "sex"))
    site_totals = case_totals(principal, db, everyone, by=("reporting_site",))
    site_sex = case_totals(principal, db, everyone, by=("reporting_site", "sex"))
    try:
        rates: Release | str = incidence_rates(principal, db, everyone, by=("sex",))
    except NotComputable as exc:   # e.g. no population loaded: the counts still stand
        rates = str(exc)
    return yearly, site_totals, site_sex, rates


def top_sites(site_totals: pd.DataFrame, site_sex: pd.DataFrame) -> pd.DataFrame:
    """The most frequent reporting sites with their male and female counts side by side (a withheld cell
    is NaN, a sex without cases 0; the site totals are released on their own, as the margins the
    suppression protects)."""
    names = site_names()
    counts = site_sex.pivot(index="reporting_site", columns="sex", values="count")
    listed = site_sex.assign(listed=True).pivot(index="reporting_site", columns="sex", values="listed")
    wide = counts.mask(listed.isna(), 0.0)   # a sex not listed has no cases; a listed one without a count is withheld
    wide = wide.reindex(columns=["1", "2"]).rename(columns={"1": "male", "2": "female"}).reset_index()
    out = site_totals[["reporting_site", "count"]].rename(columns={"count": "total"}).merge(
        wide, on="reporting_site", how="left")
    out.insert(1, "site_group", out["reporting_site"].map(names))
    out = out[["reporting_site", "site_group", "male", "female", "total"]]
    return out.sort_values("total", ascending=False, na_position="last").head(TOP_SITES).reset_index(drop=True)


principal, db = require_principal()
st.title("Overview")
st.caption(f"Data as of {when(vintage(str(db))) if vintage(str(db)) else 'no load yet'}. Invasive tumors (behavior 3) of the registry: "
           "each person and each cancer counted once, their reports linked and consolidated.")
facts = store_info(principal, db)
columns = st.columns(4)
for column, (label, value) in zip(columns, (("Tumor reports", facts.tumor_reports),
                                            ("Registry patients", facts.patients),
                                            ("Registry tumors", facts.tumors),
                                            ("Pending linkage reviews", facts.pending_reviews)), strict=True):
    column.metric(label, count_text(value))
yearly_release, site_totals, site_sex, rates_release = _overview(principal, db)
yearly = yearly_release.table
if yearly.empty:
    st.info("Nothing loaded yet: load NAACCR files with `registry ingest`.")
    st.stop()

left, right = st.columns([3, 2])
with left:
    st.subheader("Cases by diagnosis year")
    chart = yearly.assign(Sex=yearly["sex"].map(SEXES).fillna("Unknown"),
                          diagnosis_year=yearly["diagnosis_year"].map(lambda y: "unknown" if pd.isna(y) else str(int(y))))
    st.bar_chart(chart, x="diagnosis_year", y="count", color="Sex", x_label="diagnosis year", y_label="tumors")
    how_computed(yearly_release)
    download_csv(yearly_release, "cases-by-year-and-sex.csv")
with right:
    st.subheader("Age-adjusted incidence by sex")
    rates = pd.DataFrame() if isinstance(rates_release, str) else rates_release.table
    if isinstance(rates_release, str):
        st.info(f"No rates: {rates_release}.")
    for row in rates.to_dict("records"):
        label = SEXES.get(str(row["sex"]), str(row["sex"]))
        if bool(row.get("suppressed", False)):
            st.metric(label, "suppressed")
        else:
            st.metric(label, f"{row['rate']:.1f} per 100,000",
                      help=f"{int(row['count']):,} cases, all diagnosis years")
            st.caption(f"95% interval {row['lower']:.1f} to {row['upper']:.1f}")
    if not isinstance(rates_release, str) and not rates.empty:
        how_computed(rates_release)

st.subheader("Most frequent site groups")
top = top_sites(site_totals.table, site_sex.table)
show_table(top, labels={"reporting_site": "SEER site recode", "male": "Male", "female": "Female", "total": "Total"},
           withheld=pd.Series(True, index=top.index))   # every empty cell of this table is a withheld one
if top[["male", "female", "total"]].isna().any().any():
    st.caption(f'Cells reading "{WITHHELD}" are withheld (fewer than {DEFAULT_THRESHOLD} tumors, or withheld so that another '
               "cannot be derived).")
how_computed(site_sex, "Totals are released on their own; a withheld male or female cell does not withhold the total.")
download_csv(site_sex, "top-sites.csv", table=top)
