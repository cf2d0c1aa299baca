"""Data quality: a diagnosis year's certification scorecard against NAACCR Gold / Silver and NPCR, completeness by
site, the trend of a criterion over years and, for registry specialists, the records behind a figure (each
linking to the patient record or the work item), every table downloadable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.common import download_csv, keep_params, page_cache, require_principal
from dashboard.tables import show_table
from registry.api import (
    CRITERIA,
    DATA_QUALITY_RECORDS,
    DEFAULT_THRESHOLD,
    READ_UNSUPPRESSED,
    STANDARDS,
    VIEW_DATA_QUALITY,
    NotComputable,
    Principal,
    RegistryError,
    Release,
    allowed,
    certification_trend,
    completeness_by_site,
    quality_records,
)

BADGES = {True: "✅ pass", False: "❌ fail"}
LINKS_SHOWN = 50
SHOWN_KEY = "quality_shown"   # (year, criterion, the records' release) last fetched in this session
SCORE_LABELS = {"label": "Criterion", "shown": "Value", "count": "Count", "denominator": "Of",
                **{s: f"{name} threshold" for s, name in STANDARDS.items()},
                **{f"{s}_badge": name for s, name in STANDARDS.items()}}
SITE_LABELS = {"label": "Site", "count": "Observed", "expected": "Expected", "completeness": "Completeness (%)"}


@page_cache("Certifying...")
def _trend(principal: Principal, db: Path) -> Release:
    return certification_trend(principal, db)


@page_cache("Counting by site...")
def _sites(principal: Principal, db: Path, year: int) -> Release | str:
    try:
        return completeness_by_site(principal, db, year)
    except NotComputable as exc:
        return str(exc)


def shown_value(value: float, unit: str) -> str:
    """"1.9%", "0.8 per 1,000", or "withheld / not computed" when the value is missing."""
    if pd.isna(value):
        return "–"
    return f"{value:.1f}%" if unit == "%" else f"{value:.2f} {unit}"


def scorecard(table: pd.DataFrame) -> pd.DataFrame:
    """One year's rows as people read them: the value with its unit and a pass / fail badge per standard."""
    out = table.copy()
    out["shown"] = [shown_value(v, u) for v, u in zip(out["value"], out["unit"], strict=True)]
    for standard in STANDARDS:
        out[f"{standard}_badge"] = [BADGES.get(p, "–") if t else "" for p, t in
                                    zip(out[f"{standard}_pass"], out[standard], strict=True)]
    return out


def trend_figure(table: pd.DataFrame, criterion: str) -> go.Figure:
    """A criterion's value by diagnosis year, with each standard's threshold as a dotted line."""
    rows = table[table["criterion"] == criterion].sort_values("diagnosis_year")
    figure = go.Figure(go.Scatter(x=[int(y) for y in rows["diagnosis_year"]], y=[float(v) for v in rows["value"]],
                                  mode="lines+markers",
                                  name=CRITERIA[criterion].label))
    for standard, name in STANDARDS.items():
        limit = next((t for t in rows[standard] if t), "")
        if limit:
            figure.add_hline(y=float(limit.split()[-1]), line_dash="dot", annotation_text=f"{name} {limit}",
                             annotation_position="top left", opacity=0.5)
    figure.update_layout(xaxis_title="Diagnosis year", yaxis_title=CRITERIA[criterion].unit, height=380,
                         margin={"t": 30})
    return figure


def record_links(rows: pd.DataFrame) -> str:
    """Markdown links to the record view of each patient (and to the work item, when there is one)."""
    links = []
    for row in rows.head(LINKS_SHOWN).to_dict("records"):
        text = f"[patient {int(row['registry_patient_id'])}](record?patient={int(row['registry_patient_id'])})"
        if pd.notna(row.get("work_item_id")):
            text += f" ([work item {int(row['work_item_id'])}](worklist?item={int(row['work_item_id'])}))"
        links.append(text)
    more = f" (and {len(rows) - LINKS_SHOWN} more in the table)" if len(rows) > LINKS_SHOWN else ""
    return "Open a record: " + " · ".join(links) + more


principal, db = require_principal()
st.title("Data quality")
if not allowed(principal, VIEW_DATA_QUALITY):
    st.error("Data quality is shown to registry specialists and administrators only.")
    st.stop()
try:
    trend = _trend(principal, db)
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
table = trend.table
years = sorted(int(y) for y in table["diagnosis_year"].unique())
asked = st.query_params.get("year", str(years[-1]))
year = int(st.selectbox("Diagnosis year", years, index=years.index(int(asked)) if asked.isdigit() and
                        int(asked) in years else len(years) - 1, key="quality_year"))
keep_params({"year": str(year)})
st.caption("Malignant tumors (and in situ bladder) of the registry's residents diagnosed that year, each counted "
           "once. Thresholds: NAACCR certification criteria (Gold, Silver) and the NPCR data quality standards; "
           "the IARC indicators (microscopic verification, unknown primary site) have none.")
if not allowed(principal, READ_UNSUPPRESSED):
    st.caption(f"Counts of 1-{DEFAULT_THRESHOLD - 1} tumors, and the figures computed from them, are withheld; "
               "registry specialists see every figure.")

st.subheader(f"Scorecard {year}")
card = scorecard(table[table["diagnosis_year"] == year])
show_table(card, columns=["label", "shown", "count", "denominator", *STANDARDS,
                          *(f"{s}_badge" for s in STANDARDS)],
           labels=SCORE_LABELS, formats={"count": "{:,.0f}", "denominator": "{:,.0f}"})
if "not computed" in str(trend.provenance.method):
    st.caption("Passing the edits is not computed: the publication edits have not run (`registry edits run`).")
download_csv(trend, f"data-quality-{year}.csv", "Download the scorecard (CSV)",
             table=table[table["diagnosis_year"] == year])

st.subheader(f"Completeness by site {year}")
sites = _sites(principal, db, year)
if isinstance(sites, str):
    st.info(sites)
else:
    show_table(sites.table, columns=["label", "count", "expected", "completeness"], labels=SITE_LABELS,
               formats={"count": "{:,.0f}", "expected": "{:,.1f}", "completeness": "{:.1f}"})
    st.caption("Expected cases: U.S. Cancer Statistics 2019 age-specific rates times the loaded population of "
               "the year; observed: the tumors of the same sites, sexes and behaviors.")
    download_csv(sites, f"completeness-by-site-{year}.csv", "Download completeness by site (CSV)")

st.subheader("Trend over years")
criteria = list(CRITERIA)
chosen = st.selectbox("Criterion", criteria, format_func=lambda c: CRITERIA[c].label, key="quality_trend")
st.plotly_chart(trend_figure(table, chosen), width="stretch")
download_csv(trend, "data-quality-trend.csv", "Download every year (CSV)")

if allowed(principal, DATA_QUALITY_RECORDS):
    st.subheader("Records behind a figure")
    behind = [c for c in criteria if CRITERIA[c].records]
    criterion = st.selectbox("Figure", behind, format_func=lambda c: f"{CRITERIA[c].label}: {CRITERIA[c].records}",
                             key="quality_records")
    if st.button("Show the records", key="quality_show"):   # fetched (and audited) once per click
        try:
            st.session_state[SHOWN_KEY] = (year, criterion, quality_records(principal, db, year, criterion))
        except RegistryError as exc:
            st.warning(str(exc))
    shown = st.session_state.get(SHOWN_KEY)
    if shown is not None and shown[:2] == (year, criterion):
        records = shown[2]
        rows = records.table
        st.caption(f"{len(rows):,} {CRITERIA[criterion].records} ({year}); viewing them is recorded in the audit trail.")
        show_table(rows)
        if len(rows):
            st.markdown(record_links(rows))
        download_csv(records, f"data-quality-{criterion}-{year}.csv", "Download the records (CSV)")
