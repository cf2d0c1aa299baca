"""The annual report for funding bodies: one diagnosis year's funding and workload figures as a printable PDF.

Built from the same functions as the Funding and workload page (`registry.program_statistics`), so every
number in it is released exactly as the page shows it to the same person (suppressed for administrators).
Charts are drawn with matplotlib (Agg backend, no display) into PNG images in memory and placed by the
registry's printable layout (`registry.printable`, fpdf2); a withheld cell is left out of its chart and
reads "suppressed" in its table. The report is audited as an export (document ``annual-report``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # no display: render to images only (before pyplot is imported)
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from registry.access import VIEW_PROGRAM_STATISTICS, require  # noqa: E402
from registry.audit import record_event  # noqa: E402
from registry.operational_store import open_operational_store  # noqa: E402
from registry.principal import Principal  # noqa: E402
from registry.printable import Document, Section, render  # noqa: E402
from registry.program_statistics import (  # noqa: E402
    cases_by_facility,
    payer_mix,
    recurrences_by_site,
    registrar_workload,
    residency,
    site_groups_by_year,
    timeliness,
    treatment_mix,
)
from registry.release import Release  # noqa: E402
from registry.suppression import DEFAULT_THRESHOLD, SUPPRESSED  # noqa: E402

TREND_YEARS = 10        # the site-group trend covers the report's year and the nine before it
TOP_GROUPS = 12         # site groups shown in the chart and tables
WITHHELD = "suppressed"
HEADINGS = ("Summary", "Cases by reporting facility", "Types and frequency of cancer", "Recurrences by site",
            "First-course treatment", "Primary payer at diagnosis", "Residency", "Timeliness of reporting",
            "Registrar workload")


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows not withheld."""
    return frame[~frame[SUPPRESSED].astype(bool)] if SUPPRESSED in frame.columns else frame


def _text(value: object, digits: int = 0) -> str:
    """A number as the report prints it; a withheld (NaN) one reads "suppressed"."""
    if value is None or pd.isna(value):   # type: ignore[call-overload]
        return WITHHELD
    return f"{float(value):,.{digits}f}"   # type: ignore[arg-type]


def _printed(frame: pd.DataFrame, columns: dict[str, str], digits: dict[str, int] | None = None) -> pd.DataFrame:
    """The table as printed: chosen columns under people's names, numbers formatted, withheld ones said."""
    out = pd.DataFrame()
    for column, label in columns.items():
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and column not in ("diagnosis_year",):
            out[label] = [_text(v, (digits or {}).get(column, 0)) for v in values]
        else:
            out[label] = values.map(lambda v: "" if pd.isna(v) else str(int(v)) if isinstance(v, float) else str(v))
    return out


def _vintage(text: str | None) -> str:
    """The data vintage to the minute, in UTC."""
    if not text:
        return "no load yet"
    stamp = pd.Timestamp(text)
    return (stamp.tz_convert("UTC") if stamp.tzinfo else stamp).strftime("%Y-%m-%d %H:%M UTC")


def _wide(table: pd.DataFrame, index: list[str], columns: str) -> pd.DataFrame:
    """Counts side by side (one row per ``index``, unique in the table): a withheld cell stays NaN (it reads
    "suppressed"), a combination the table does not list is 0."""
    counts = table.pivot(index=index, columns=columns, values="count")
    listed = table.assign(listed=True).pivot(index=index, columns=columns, values="listed")
    return counts.mask(listed.isna(), 0.0).reset_index()


def _chart(draw: object, *, title: str, ylabel: str) -> bytes:
    """A bar chart (``draw(axes)``) as PNG bytes; one without a bar says that every value is withheld."""
    figure, axes = plt.subplots(figsize=(10, 3.4), dpi=110)
    try:
        draw(axes)   # type: ignore[operator]
        heights = [value for bars in axes.containers for value in getattr(bars, "datavalues", ())]
        if not any(pd.notna(value) and value > 0 for value in heights):
            axes.text(0.5, 0.5, f"Nothing to draw: every value is 0 or {WITHHELD} (counts of 1-{DEFAULT_THRESHOLD - 1} "
                      "and their complements)", ha="center", va="center", transform=axes.transAxes)
            axes.set_yticks([])
        axes.set_title(title, fontsize=11)
        axes.set_ylabel(ylabel)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def _bars(labels: Sequence[str], series: dict[str, Sequence[float]]) -> object:
    """A drawing of grouped bars, one group per label and one bar per series."""
    def draw(axes: plt.Axes) -> None:
        width = 0.8 / max(len(series), 1)
        for k, (name, values) in enumerate(series.items()):
            positions = [i + (k - (len(series) - 1) / 2) * width for i in range(len(labels))]
            axes.bar(positions, values, width=width, label=name)
        axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
        if len(series) > 1:
            axes.legend(fontsize=8, frameon=False)
    return draw


def _facility_section(release: Release) -> Section:
    table = release.table
    wide = _wide(table, ["reporting_facility"], "counted")
    for counted in ("reports received", "registry tumors"):
        if counted not in wide.columns:
            wide[counted] = float("nan")
    wide = wide.sort_values("reports received", ascending=False, na_position="last")
    plotted = wide.dropna(subset=["reports received", "registry tumors"], how="all")
    image = _chart(_bars(list(plotted["reporting_facility"].astype(str)),
                         {"reports received": plotted["reports received"].tolist(),
                          "registry tumors": plotted["registry tumors"].tolist()}),
                   title="Reports received and registry tumors by reporting facility", ylabel="count")
    return Section(HEADINGS[1], paragraphs=[
        "Reports received: the source tumor reports each facility sent. Registry tumors: each cancer once, "
        "attributed to the reporting facility its linked reports were consolidated to."],
        image=image, table=_printed(wide, {"reporting_facility": "Reporting facility",
                                           "reports received": "Reports received",
                                           "registry tumors": "Registry tumors"}))


def _top_sites(yearly: Release, year: int) -> list[str]:
    """The site recode groups of the report's tables: the year's most frequent (withheld ones last)."""
    table = yearly.table[yearly.table["diagnosis_year"] == year]
    return list(table.sort_values("count", ascending=False, na_position="last")["site_recode"].head(TOP_GROUPS))


def _site_section(yearly: Release, trend: Release, year: int) -> Section:
    table = yearly.table
    this_year = table[table["diagnosis_year"] == year].sort_values("count", ascending=False, na_position="last")
    top = this_year.head(TOP_GROUPS)
    shown = _shown(top)
    image = _chart(_bars(list(shown["site_group"]), {str(year): shown["count"].tolist()}),
                   title=f"Registry tumors by site group, {year}", ylabel="tumors")
    merged = top.merge(trend.table.drop(columns=[SUPPRESSED]), on=["site_recode", "site_group"], how="left")
    first = year - TREND_YEARS + 1
    return Section(HEADINGS[2], paragraphs=[
        f"The {TOP_GROUPS} most frequent SEER site recode groups of {year}, with the annual percent change (APC) "
        f"of their yearly counts over {first}-{year} and its 95% confidence interval."],
        image=image, table=_printed(merged, {"site_group": "Site group", "count": f"Tumors {year}",
                                             "apc": "APC %", "lower": "95% CI lower", "upper": "95% CI upper"},
                                    {"apc": 1, "lower": 1, "upper": 1}))


def _share_section(heading: str, release: Release, columns: dict[str, str], note: str,
                   chart: tuple[str, str] | None = None) -> Section:
    """A table of counts with their percentages, and optionally a bar chart of one label column's counts."""
    table = release.table.sort_values("count", ascending=False, na_position="last")
    image = None
    if chart is not None:
        label, title = chart
        shown = _shown(table).head(TOP_GROUPS)
        image = _chart(_bars(list(shown[label].astype(str)), {"tumors": shown["count"].tolist()}),
                       title=title, ylabel="tumors")
    return Section(heading, paragraphs=[note], image=image,
                   table=_printed(table, {**columns, "count": "Tumors", "percent": "Percent"}, {"percent": 1}))


def _timeliness_section(release: Release) -> Section:
    table = release.table.sort_values("count", ascending=False, na_position="last")
    shown = _shown(table)
    image = _chart(_bars(list(shown["reporting_facility"].astype(str)),
                         {"within 6 months": shown["share_6_months"].tolist(),
                          "within 12 months": shown["share_12_months"].tolist()}),
                   title="Share of reports received within 6 and 12 months of diagnosis", ylabel="percent")
    lacking = release.count("without_received_date")
    return Section(HEADINGS[7], paragraphs=[
        "Days from the date of diagnosis to the date the registry received the report (NAACCR item 2111). "
        f"Reports lacking either date: {_text(lacking)}."], image=image,
        table=_printed(table, {"reporting_facility": "Reporting facility", "count": "Reports",
                               "median_days": "Median days", "share_6_months": "% within 6 months",
                               "share_12_months": "% within 12 months"},
                       {"share_6_months": 1, "share_12_months": 1}))


def _workload_section(release: Release, months: tuple[str, str]) -> Section:
    table = release.table
    if table.empty:
        return Section(HEADINGS[8], paragraphs=[f"No work recorded from {months[0]} to {months[1]}."])
    wide = _wide(table, ["person", "month"], "activity")
    activities = [a for a in ("records loaded", "link reviews decided", "work items resolved", "corrections made")
                  if a in wide.columns]
    return Section(HEADINGS[8], paragraphs=[f"Per person and month, {months[0]} to {months[1]}: tumor records "
                                            "loaded, linkage reviews decided, work items resolved and registry-level "
                                            "corrections."],
                   table=_printed(wide.sort_values(["month", "person"]),
                                  {"person": "Person", "month": "Month", **{a: a.capitalize() for a in activities}}))


def workload_months(now: datetime) -> tuple[str, str]:
    """The twelve months up to ``now``'s (YYYY-MM): the work a report looks back on (a diagnosis year is
    reported on after it, so its own calendar months are not the registry's latest work)."""
    first = (now.year - 1, now.month + 1) if now.month < 12 else (now.year, 1)
    return f"{first[0]:04d}-{first[1]:02d}", f"{now.year:04d}-{now.month:02d}"


def annual_report(principal: Principal, db_path: Path, year: int, *,
                  months: tuple[str, str] | None = None) -> bytes:
    """The annual report of diagnosis year ``year`` as PDF bytes, with the registrars' workload of ``months``
    (default the twelve months up to now, `workload_months`); registrars and administrators, released as the
    Funding and workload page releases it; audited as an export."""
    require(principal, VIEW_PROGRAM_STATISTICS)
    ops = open_operational_store(db_path)
    months = months or workload_months(ops.now())
    years = (int(year), int(year))
    facilities = cases_by_facility(principal, db_path, years)
    yearly, trend = site_groups_by_year(principal, db_path, (int(year) - TREND_YEARS + 1, int(year)))
    recurrences = recurrences_by_site(principal, db_path, years)
    treatment = treatment_mix(principal, db_path, years)
    payers = payer_mix(principal, db_path, years)
    residents = residency(principal, db_path, years)
    timely = timeliness(principal, db_path, years)
    workload = registrar_workload(principal, db_path, months)
    timely_table = timely.table
    summary = [f"Reports received: {_text(facilities.count('reports'))}.",
               f"Registry tumors: {_text(facilities.count('registry_tumors'))}.",
               f"Reporting facilities: {facilities.table['reporting_facility'].nunique():,}.",
               f"Facilities with reports dated on receipt: {len(timely_table):,}."]
    if any(v is None for v in (facilities.count("reports"), facilities.count("registry_tumors"))) or \
            any(SUPPRESSED in r.table.columns and r.table[SUPPRESSED].astype(bool).any()
                for r in (facilities, yearly, recurrences, treatment, payers, residents, timely, workload)):
        summary.append(f"Counts of 1-{DEFAULT_THRESHOLD - 1}, and cells that would let one compute them, read "
                       "\"suppressed\".")
    sites = _top_sites(yearly, int(year))
    recurred = recurrences.table[(recurrences.table["recurrence"] != "no recurrence known")
                                 & recurrences.table["site_recode"].isin(sites)]
    treated = treatment.table[treatment.table["site_recode"].isin(sites)]
    document = Document(
        title=f"Annual report {year}: cases, care and registry workload",
        lines=[f"Diagnosis year {year}; data as of {_vintage(facilities.provenance.data_vintage)}.",
               f"Prepared for {principal.user} ({principal.role})."],
        sections=[
            Section(HEADINGS[0], paragraphs=summary),
            _facility_section(facilities),
            _site_section(yearly, trend, int(year)),
            _share_section(HEADINGS[3], Release(table=recurred, provenance=recurrences.provenance),
                           {"site_group": "Site group", "recurrence": "First recurrence"},
                           f"Registry tumors with a first recurrence, by kind, in the {TOP_GROUPS} most frequent site "
                           "groups (percent of the site group's tumors)."),
            _share_section(HEADINGS[4], Release(table=treated, provenance=treatment.provenance),
                           {"site_group": "Site group", "treatment": "Treatment"},
                           f"First-course treatment combinations in the {TOP_GROUPS} most frequent site groups (percent "
                           "of the site group's tumors)."),
            _share_section(HEADINGS[5], payers, {"payer_label": "Primary payer at diagnosis"},
                           "Registry tumors by primary payer at diagnosis (percent of the year's tumors).",
                           chart=("payer_label", f"Registry tumors by primary payer at diagnosis, {year}")),
            _share_section(HEADINGS[6], residents, {"residency": "Residency"},
                           f"Registry tumors by residence at diagnosis: {residents.provenance.method}."),
            _timeliness_section(timely),
            _workload_section(workload, months)])
    pdf = render(document)
    record_event(ops, principal, "export", document="annual-report", year=int(year), months=list(months),
                 format="pdf", bytes=len(pdf))
    return pdf
