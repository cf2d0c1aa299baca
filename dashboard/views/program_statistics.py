"""Funding and workload: cases by facility and year, cancers by site group and their trend, recurrences,
first-course treatment, payer, residency, timeliness of reporting and the registrars' workload, each table
downloadable; and the printable annual report for funding bodies, built from the same functions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import common
from dashboard.charts import SUPPRESSED_LABEL
from dashboard.tables import show_table
from registry.api import (
    DEFAULT_THRESHOLD,
    READ_UNSUPPRESSED,
    VIEW_PROGRAM_STATISTICS,
    Principal,
    RegistryError,
    Release,
    allowed,
    annual_report,
    cases_by_facility,
    payer_mix,
    recurrences_by_site,
    registrar_workload,
    residency,
    site_groups_by_year,
    store_info,
    timeliness,
    treatment_mix,
)

Years = tuple[int, int]
TOP = 15   # site groups in the charts
LABELS = {"count": "Count", "counted": "Counted", "reporting_facility": "Reporting facility", "site_recode": "Site recode",
          "site_group": "Site group", "recurrence": "First recurrence", "treatment": "First-course treatment",
          "treatment_group": "Treatment code", "modality": "Modality code", "payer": "Payer code", "payer_label": "Primary payer at diagnosis",
          "residency": "Residency", "percent": "Percent", "apc": "APC %", "p_value": "p", "n_years": "Years fitted",
          "median_days": "Median days", "within_6_months": "Within 6 months", "within_12_months": "Within 12 months",
          "share_6_months": "% within 6 months", "share_12_months": "% within 12 months", "activity": "Activity",
          "person": "Person", "month": "Month"}
FORMATS = {"percent": "{:.1f}", "apc": "{:.2f}", "lower": "{:.2f}", "upper": "{:.2f}", "p_value": "{:.3g}",
           "median_days": "{:.0f}", "share_6_months": "{:.1f}", "share_12_months": "{:.1f}", "diagnosis_year": "{:.0f}"}


@common.page_cache("Counting...")
def figures(principal: Principal, db: Path, years: Years) -> dict[str, Release]:
    """Every figure of the chosen diagnosis years, released for the caller."""
    yearly, trend = site_groups_by_year(principal, db, years)
    return {"facility": cases_by_facility(principal, db, years), "sites": yearly, "trend": trend,
            "recurrence": recurrences_by_site(principal, db, years), "treatment": treatment_mix(principal, db, years),
            "modalities": treatment_mix(principal, db, years, by="modality"),
            "payer": payer_mix(principal, db, years), "residency": residency(principal, db, years),
            "timeliness": timeliness(principal, db, years)}


@common.page_cache("Counting...")
def workload(principal: Principal, db: Path, months: tuple[str, str]) -> Release:
    """The registrars' workload in the chosen months."""
    return registrar_workload(principal, db, months)


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows not withheld (charts leave withheld cells out; tables say "suppressed")."""
    return frame[~frame["suppressed"].astype(bool)] if "suppressed" in frame.columns else frame


def bars(frame: pd.DataFrame, x: str, y: str, color: str | None, title: str, y_label: str) -> go.Figure:
    """A bar chart of the shown rows, one trace per ``color`` value."""
    figure = go.Figure()
    visible = shown(frame)
    groups = visible.groupby(color, sort=False) if color else [("", visible)]
    for name, part in groups:
        figure.add_bar(x=part[x].astype(str), y=part[y], name=str(name))
    figure.update_layout(title=title, barmode="group", yaxis={"title": {"text": y_label}},
                         showlegend=bool(color), margin={"t": 50})
    return figure


def section(release: Release, name: str, *, columns: list[str] | None = None, note: str = "") -> None:
    """A released table, its note and its CSV download."""
    table = release.table
    chosen = [c for c in (columns or list(table.columns)) if c in table.columns]
    show_table(table, columns=chosen, labels=LABELS, formats=FORMATS)
    if "suppressed" in table.columns and table["suppressed"].astype(bool).any():
        st.caption(f"Cells reading *suppressed* are withheld ({SUPPRESSED_LABEL}); a percentage is withheld "
                   "with its count. Charts leave them out.")
    common.how_computed(release, extra=note)
    common.download_csv(release, f"{name}.csv", table=table[chosen])


def months_until(now: datetime, count: int) -> list[str]:
    """The ``count`` months up to ``now``'s, oldest first (YYYY-MM)."""
    months = []
    year, month = now.year, now.month
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


principal, db = common.require_principal()
st.title("Funding and workload")
if not allowed(principal, VIEW_PROGRAM_STATISTICS):
    st.error("Funding and workload figures are shown to registry specialists and administrators only.")
    st.stop()
facts = store_info(principal, db)
if facts.first_diagnosis_year is None or facts.last_diagnosis_year is None:
    st.info("Nothing loaded yet: load NAACCR files with `registry ingest`.")
    st.stop()
first_year, last_year = int(facts.first_diagnosis_year), int(facts.last_diagnosis_year)
with st.sidebar:
    st.subheader("Figures")
    chosen = st.slider("Diagnosis years", first_year, last_year, (max(first_year, last_year - 9), last_year),
                       key="program_years") if first_year < last_year else (first_year, last_year)
    month_options = months_until(datetime.now(UTC), 36)
    work_months = st.select_slider("Workload months", month_options, value=(month_options[-12], month_options[-1]),
                                   key="program_months")
years: Years = (int(chosen[0]), int(chosen[1]))
try:
    released = figures(principal, db, years)
    work = workload(principal, db, (str(work_months[0]), str(work_months[1])))
except RegistryError as exc:
    st.warning(str(exc))
    st.stop()
st.caption(f"Diagnosed {years[0]}-{years[1]}; every tumor the registry holds (any behavior: the caseload)."
           + ("" if allowed(principal, READ_UNSUPPRESSED) else
              f" Counts of 1-{DEFAULT_THRESHOLD - 1}, and cells that would let one compute them, are withheld."))
counts = released["facility"].counts
left, right = st.columns(2)
left.metric("Reports received", common.count_text(counts.get("reports")))
right.metric("Registry tumors", common.count_text(counts.get("registry_tumors")))

tabs = st.tabs(["Facilities", "Site groups", "Recurrences", "Treatment", "Payer", "Residency", "Timeliness",
                "Workload", "Annual report"])
with tabs[0]:
    facility = released["facility"].table
    st.plotly_chart(bars(facility[facility["counted"] == "reports received"], "diagnosis_year", "count",
                         "reporting_facility", "Reports received by diagnosis year and reporting facility", "reports"),
                    width="stretch")
    section(released["facility"], "cases-by-facility-and-year",
            note="Reports received: source tumor reports, by the facility that sent them. Registry tumors: each "
                 "cancer once, by the reporting facility its reports were consolidated to.")
with tabs[1]:
    sites = released["sites"].table
    largest = shown(sites).groupby("site_group")["count"].sum().nlargest(TOP).index
    st.plotly_chart(bars(sites[sites["site_group"].isin(largest)], "diagnosis_year", "count",
                         "site_group", f"Registry tumors by year, the {TOP} most frequent site groups", "tumors"),
                    width="stretch")
    section(released["sites"], "site-groups-by-year")
    st.subheader("Trend: annual percent change of the yearly counts")
    section(released["trend"], "site-group-trends",
            columns=["site_recode", "site_group", "apc", "lower", "upper", "p_value", "n_years", "suppressed"])
with tabs[2]:
    recurred = released["recurrence"].table
    st.plotly_chart(bars(recurred[recurred["recurrence"] != "no recurrence known"], "site_group", "count",
                         "recurrence", "First recurrences by site group", "tumors"), width="stretch")
    section(released["recurrence"], "recurrences-by-site")
with tabs[3]:
    st.plotly_chart(bars(released["treatment"].table, "site_group", "percent", "treatment",
                         "First-course treatment by site group", "percent of the site group"), width="stretch")
    section(released["treatment"], "treatment-mix")
    st.subheader("Tumors given each modality")
    section(released["modalities"], "treatment-modalities",
            note="A tumor counts under each modality any of its reports says was given.")
with tabs[4]:
    st.plotly_chart(bars(released["payer"].table, "diagnosis_year", "count", "payer_label",
                         "Primary payer at diagnosis by year", "tumors"), width="stretch")
    section(released["payer"], "payer-mix")
with tabs[5]:
    st.info(str(released["residency"].provenance.method))
    st.plotly_chart(bars(released["residency"].table, "diagnosis_year", "count", "residency",
                         "Registry tumors by residency", "tumors"), width="stretch")
    section(released["residency"], "residency")
with tabs[6]:
    timely = released["timeliness"]
    if timely.table.empty:
        st.info("No report carries both a diagnosis date and the date the registry received it.")
    else:
        long = timely.table.melt(id_vars=["reporting_facility", "suppressed"] if "suppressed" in timely.table.columns
                                 else ["reporting_facility"], value_vars=["share_6_months", "share_12_months"],
                                 var_name="limit", value_name="share")
        long["limit"] = long["limit"].map({"share_6_months": "within 6 months", "share_12_months": "within 12 months"})
        st.plotly_chart(bars(long, "reporting_facility", "share", "limit",
                             "Reports received within 6 and 12 months of diagnosis", "percent"), width="stretch")
    lacking = timely.count("without_received_date")
    st.caption(f"Reports of these years lacking a diagnosis or received date: {common.count_text(lacking)}.")
    section(timely, "timeliness")
with tabs[7]:
    st.plotly_chart(bars(work.table, "month", "count", "activity", "Workload by month (all people)", "count"),
                    width="stretch")
    section(work, "registrar-workload", note="Records loaded: tumor records of the files a person loaded. Work items "
                                             "resolved: resolved or closed as valid by a person (the worklist's own "
                                             "automatic resolutions are left out).")
with tabs[8]:
    report_year = st.selectbox("Report year", list(range(last_year, first_year - 1, -1)), key="report_year")
    st.caption("A PDF for funding bodies: summary, charts and tables of one diagnosis year, released as this page "
               "shows them to you. Preparing it is recorded in the audit trail as an export.")
    if st.button("Prepare the annual report", key="prepare_report"):
        try:
            st.session_state["annual_report"] = (int(report_year), annual_report(principal, db, int(report_year)))
        except RegistryError as exc:
            st.warning(str(exc))
    prepared = st.session_state.get("annual_report")
    if prepared is not None:
        common.download_file(f"Download the annual report {prepared[0]} (PDF)", prepared[1],
                             file_name=f"annual-report-{prepared[0]}.pdf", mime="application/pdf",
                             document="annual-report", rows=None, key="annual_report_pdf")
