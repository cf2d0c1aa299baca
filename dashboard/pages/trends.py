"""Incidence trends: age-adjusted rate by year of diagnosis and its annual percent change (APC)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import common
from dashboard.charts import SUPPRESSED_LABEL, trend_figure
from registry import analysis
from registry.cohort import TumorFilter
from registry.errors import StoreError
from registry.principal import Principal

TABLE_COLUMNS = ["diagnosis_year", "count", "population", "rate", "lower", "upper", "suppressed"]


@st.cache_data(show_spinner="Computing rates...", max_entries=64)
def trend(role: str, user: str, db: str, tumor_filter: TumorFilter,
          vintage: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Released yearly rates and APC; cached per role, user, filter and data vintage."""
    del vintage   # only part of the cache key
    return analysis.incidence_trend(Principal(user, role), Path(db), tumor_filter)


def trend_table(yearly: pd.DataFrame) -> pd.DataFrame:
    """The yearly table as shown: withheld years keep NaN numbers and say so in ``status``."""
    table = yearly[[c for c in TABLE_COLUMNS if c in yearly.columns]].copy()
    if "suppressed" not in table.columns:
        table["suppressed"] = False
    table["status"] = table["suppressed"].map(lambda s: SUPPRESSED_LABEL if s else "")
    table.attrs.update(yearly.attrs)
    return table


st.title("Incidence trends")
principal, db = common.require_principal()
tumor_filter = common.filter_controls()
try:
    yearly, apc = trend(principal.role, principal.user, str(db), tumor_filter, common.vintage(str(db)))
except StoreError as exc:
    st.warning(str(exc))
    st.stop()
except ValueError as exc:   # e.g. fewer than three years with cases: no trend can be fitted
    st.info(f"No trend can be computed for these filters: {exc}. Widen the years or the site.")
    st.stop()

st.caption(f"{common.describe_filter(tumor_filter)}; age-adjusted to the 2000 US standard population, per 100,000.")
row = apc.iloc[0]
withheld = bool(row.get("suppressed", False)) or not math.isfinite(float(row["apc"]))
if withheld:
    st.info("The annual percent change is withheld: it would reveal the rates of suppressed years.")
    st.plotly_chart(trend_figure(yearly), width="stretch")
else:
    st.metric("Annual percent change (APC)", f"{float(row['apc']):.2f}%")
    st.caption(f"95% CI {float(row['lower']):.2f}% to {float(row['upper']):.2f}%; p = {float(row['p_value']):.3g} "
               f"({int(row['n_years'])} years, weighted log-linear fit).")
    st.plotly_chart(trend_figure(yearly, apc), width="stretch")

table = trend_table(yearly)
hidden = table.loc[table["suppressed"], "diagnosis_year"].astype(int).tolist()
if hidden:
    st.warning(f"Suppressed (fewer than 16 cases, or complementary): {', '.join(map(str, hidden))}. "
               "These years are withheld, not zero, and are left out of the chart.")
st.dataframe(table, hide_index=True, column_config={
    "diagnosis_year": st.column_config.NumberColumn("Year", format="%d"),
    "count": st.column_config.NumberColumn("Cases", format="%d"),
    "population": st.column_config.NumberColumn("Population", format="%d"),
    "rate": st.column_config.NumberColumn("Rate per 100,000", format="%.1f"),
    "lower": st.column_config.NumberColumn("95% CI lower", format="%.1f"),
    "upper": st.column_config.NumberColumn("95% CI upper", format="%.1f"),
    "suppressed": st.column_config.CheckboxColumn("Suppressed"),
    "status": st.column_config.TextColumn("Note")})
excluded = common.excluded_text(yearly)
common.how_computed(yearly, extra=(
    f"**Trend:** {apc.attrs.get('method', '')}\n\n"
    + (f"**Excluded:** {excluded} cases without a known age, sex or population." if excluded else "")))
common.download_csv(table, "incidence_trend.csv")
