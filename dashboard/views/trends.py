"""Incidence trends: age-adjusted rate by year of diagnosis and its annual percent change (APC)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import common
from dashboard.charts import SUPPRESSED_LABEL, trend_comparison_figure, trend_figure
from dashboard.common import SEXES
from dashboard.tables import show_table
from registry import api
from registry.api import (
    COMPARISONS,
    RACE_RECODES,
    NotComputable,
    Principal,
    RegistryError,
    Release,
    TumorFilter,
)

TABLE_COLUMNS = ["diagnosis_year", "count", "population", "rate", "lower", "upper", "suppressed"]


GROUP_LABELS = {"sex": {code: label for code, label in SEXES.items() if code}, "race": RACE_RECODES}


@common.page_cache("Computing rates...")
def trend(principal: Principal, db: Path, tumor_filter: TumorFilter, by: str | None) -> tuple[Release, Release]:
    """Released yearly rates and APC (per group with ``by``)."""
    return api.incidence_trend(principal, db, tumor_filter, by=by)


def labelled(frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """The frame with its group codes (sex, race) replaced by a ``group`` label column first."""
    if by is None:
        return frame
    out = frame.drop(columns=[by])
    out.insert(0, "group", frame[by].map(GROUP_LABELS[by]).fillna(frame[by]))
    return out


def show_group_trends(yearly: pd.DataFrame, apc: pd.DataFrame, by: str) -> None:
    """One line per group and a table of the groups' APCs (withheld ones say so)."""
    shown = yearly[~yearly["suppressed"].astype(bool)] if "suppressed" in yearly.columns else yearly
    series = {str(label): part for label, part in shown.groupby("group", sort=False)}
    st.plotly_chart(trend_comparison_figure(series), width="stretch")
    st.subheader("Annual percent change by group")
    columns = [c for c in ("group", "apc", "lower", "upper", "p_value", "n_years", "suppressed") if c in apc.columns]
    show_table(apc, columns=columns, labels={"group": COMPARISONS[by], "apc": "APC %", "p_value": "p",
                                             "n_years": "Years", "suppressed": "Withheld"},
               formats={"apc": "{:.2f}", "lower": "{:.2f}", "upper": "{:.2f}", "p_value": "{:.3g}"})
    if "suppressed" in apc.columns and apc["suppressed"].astype(bool).any():
        st.caption("A group's APC is withheld when any of its years is: with the yearly totals published, a "
                   "small group's counts would otherwise be derivable from the other group's.")


def trend_table(yearly: pd.DataFrame) -> pd.DataFrame:
    """The yearly table as shown: withheld years keep NaN numbers and say so in ``status``."""
    table = yearly[[c for c in ["group", *TABLE_COLUMNS] if c in yearly.columns]].copy()
    if "suppressed" not in table.columns:
        table["suppressed"] = False
    table["status"] = table["suppressed"].map(lambda s: SUPPRESSED_LABEL if s else "")
    return table


principal, db = common.require_principal()
st.title("Incidence trends")
tumor_filter = common.filter_controls()
by = common.comparison_control(["sex", "race"])
try:
    yearly_release, apc_release = trend(principal, db, tumor_filter, by)
    yearly, apc = labelled(yearly_release.table, by), labelled(apc_release.table, by)
except NotComputable as exc:   # e.g. fewer than three years with cases: no trend can be fitted
    st.info(f"No trend can be computed for these filters: {exc}. Widen the years or the site.")
    st.stop()
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()

st.caption(f"{common.describe_filter(tumor_filter, by)}; age-adjusted to the 2000 US standard population, "
           "per 100,000.")
row = apc.iloc[0]
withheld = bool(row.get("suppressed", False)) or not math.isfinite(float(row["apc"]))
if by:
    show_group_trends(yearly, apc, by)
elif withheld:
    st.info("The annual percent change is withheld: it would reveal the rates of suppressed years.")
    st.plotly_chart(trend_figure(yearly), width="stretch")
else:
    st.metric("Annual percent change (APC)", f"{float(row['apc']):.2f}%")
    st.caption(f"95% CI {float(row['lower']):.2f}% to {float(row['upper']):.2f}%; p = {float(row['p_value']):.3g} "
               f"({int(row['n_years'])} years, weighted log-linear fit).")
    st.plotly_chart(trend_figure(yearly, apc), width="stretch")

table = trend_table(yearly)
hidden = sorted(set(table.loc[table["suppressed"], "diagnosis_year"].astype(int).tolist()))
if hidden:
    st.warning(f"Suppressed (fewer than {common.DEFAULT_THRESHOLD} cases, or withheld to protect one): {', '.join(map(str, hidden))}. "
               "These years are withheld, not zero, and are left out of the chart.")
show_table(table, labels={"group": COMPARISONS.get(str(by), "Group"), "status": "Note"},
           formats={"diagnosis_year": "{:.0f}"})
excluded = common.excluded_text(yearly_release)
common.how_computed(yearly_release, extra=(
    f"**Trend:** {apc_release.provenance.method or ''}\n\n"
    + (f"**Excluded:** {excluded} cases without a known age, sex or population." if excluded else "")))
common.download_csv(yearly_release, "incidence_trend.csv", table=table)
