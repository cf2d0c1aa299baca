"""What every analysis page shares: the signed-in principal, filters kept in the URL, cached results,
the "how this was computed" note and a CSV download that carries the method and provenance."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.session import (
    PAGE_KEY,
    account_controls,
    change_password_page,
    current_session,
    operational_store,
    routed,
    sign_in_page,
)
from dashboard.tables import show_table, when
from registry.api import (
    COMPARISONS,
    DEFAULT_THRESHOLD,
    MALE_BREAST,
    RACE_RECODES,
    SITE_GROUPS,
    STAGE_GROUPS,
    OperationalStore,
    Principal,
    Release,
    TumorFilter,
    data_vintage,
    default_db_path,
    record_download,
    reporting_site,
)

SEXES = {"": "Both sexes", "1": "Male", "2": "Female"}
DEFAULT_YEARS = (2014, 2023)   # diagnosis years every page starts from
FILTERS_KEY = "filters"   # the last filter values, so they follow the user from page to page
PRINCIPAL_KEY = "page_principal"   # who this run of the page is for, set by require_principal (downloads audit it)
P = ParamSpec("P")
R = TypeVar("R")


def require_principal() -> tuple[Principal, Path]:
    """The signed-in user and the store. When nobody is signed in, or the user must first change their
    password, the page shows that form instead and stops (and goes on, with its filters, once done)."""
    active = current_session()
    st.session_state.pop(PRINCIPAL_KEY, None)
    if not routed():
        account_controls(active)
    if active is None:
        st.error("Please sign in to see this page.")
        sign_in_page()
        st.stop()
    if active.must_change_password:
        change_password_page(active)
        st.stop()
    st.session_state[PRINCIPAL_KEY] = active.principal
    return active.principal, default_db_path()


@st.cache_data(ttl=30, show_spinner=False)
def vintage(db_path: str) -> str | None:
    """The store's data vintage (cache key for results; refreshed every 30 s)."""
    return data_vintage(Path(db_path))


def data_changed() -> None:
    """This session changed the registry's data (a correction): its results are computed again at once rather
    than when the vintage is next read (other sessions follow within 30 s)."""
    vintage.clear()


@st.cache_data(show_spinner=False, max_entries=256)
def _released(name: str, who: tuple[str, str, tuple[str, ...]], db: str, data_vintage: str | None,
              args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...], _compute: Callable[..., Any],
              _principal: Principal) -> Any:
    """One cache for every page: keyed on the computation, the whole principal, the store and its vintage."""
    del who, data_vintage   # only part of the cache key (who is _principal, spelled out to be hashable)
    return _compute(_principal, Path(db), *args, **dict(kwargs))


def page_cache(spinner: str = "Computing...") -> Callable[
        [Callable[Concatenate[Principal, Path, P], R]], Callable[Concatenate[Principal, Path, P], R]]:
    """Cache what a page computes from ``registry`` for one principal and store: the decorated function
    takes the Principal and the store path first. Results are keyed on the whole principal (user, role and
    grants), so a changed role or grant never sees results released to the old one, and on the data
    vintage, so a new ingest recomputes everything."""
    def decorate(compute: Callable[Concatenate[Principal, Path, P], R]) -> Callable[Concatenate[Principal, Path, P], R]:
        name = f"{compute.__code__.co_filename}:{compute.__qualname__}"

        @functools.wraps(compute)
        def cached(principal: Principal, db: Path, *args: P.args, **kwargs: P.kwargs) -> R:
            who = (principal.user, principal.role, tuple(sorted(principal.grants)))
            with st.spinner(spinner):
                return _released(name, who, str(db), vintage(str(db)), args, tuple(sorted(kwargs.items())),
                                 _compute=compute, _principal=principal)
        return cached
    return decorate


def _param(name: str, default: str) -> str:
    """A filter's value: from the URL, else as last chosen on another page, else the default."""
    value = st.query_params.get(name, st.session_state.get(FILTERS_KEY, {}).get(name, default))
    return str(value)


def keep_params(values: dict[str, str]) -> None:
    """Put filter values in the URL (to share a view) and in the session (to keep them across pages)."""
    st.query_params.update(values)
    st.session_state.setdefault(FILTERS_KEY, {}).update(values)


def filter_controls(*, years: tuple[int, int] = DEFAULT_YEARS, site: bool = True, sex: bool = True,
                    race: bool = True, stage: bool = False) -> TumorFilter:
    """Sidebar filters for site group, sex, race, diagnosis years and stage; their values live in the URL."""
    codes = [c for c in SITE_GROUPS["code"] if c != "99"]
    names = site_names()
    with st.sidebar:
        st.subheader("Filters")
        site_code = _param("site", "")
        if site:
            options = ["", *codes, MALE_BREAST]
            site_code = st.selectbox("Site group", options, index=options.index(site_code) if site_code in options
                                     else 0, format_func=lambda c: names.get(c, "All sites"), key="f_site")
        site_recodes, site_sexes = reporting_site(site_code)
        sex_code = _param("sex", "")
        if sex and site_sexes:   # a sex-specific site is reported for its sex (SEER convention)
            st.caption(f"Sex: {SEXES[site_sexes[0]].lower()} (sex-specific sites are reported for their sex; "
                       "male breast is a site of its own)")
        elif sex:
            keys = list(SEXES)
            sex_code = st.selectbox("Sex", keys, index=keys.index(sex_code) if sex_code in keys else 0,
                                    format_func=SEXES.__getitem__, key="f_sex")
        race_code = _param("race", "")
        if race:
            keys = ["", *RACE_RECODES]
            race_code = st.selectbox("Race", keys, index=keys.index(race_code) if race_code in keys else 0,
                                     format_func=lambda r: RACE_RECODES.get(r, "All races"), key="f_race",
                                     help="SEER race groups from NAACCR Race 1; rates by race need a population "
                                          "file with a race breakdown.")
        first = int(_param("from", str(years[0])))
        last = int(_param("to", str(years[1])))
        first, last = st.slider("Diagnosis years", years[0], years[1],
                                (max(years[0], min(first, years[1])), min(years[1], max(last, years[0]))),
                                key="f_years")
        stage_code = _param("stage", "")
        if stage:
            options = ["", *STAGE_GROUPS]
            stage_code = st.selectbox("Summary stage", options,
                                      index=options.index(stage_code) if stage_code in options else 0,
                                      format_func=lambda s: s.replace("_", " ") if s else "All stages", key="f_stage")
    keep_params({"site": site_code, "sex": sex_code, "race": race_code, "from": str(first), "to": str(last),
                 "stage": stage_code})
    sexes = site_sexes or ((sex_code,) if sex_code else ("1", "2"))
    return TumorFilter(site_recodes=site_recodes, sexes=sexes, races=(race_code,) if race_code else (),
                       first_year=first, last_year=last, stage_groups=(stage_code,) if stage_code else ())


def match_probability(weight: float) -> float:
    """The probability that two records are one person, from their match weight (log2 of the odds)."""
    return 1 / (1 + 2 ** -weight)


def count_text(count: int | None) -> str:
    """A released count for text: "1,234", or "fewer than 16" (the policy's threshold) when the policy withheld it (``None``)."""
    return f"fewer than {DEFAULT_THRESHOLD}" if count is None else f"{int(count):,}"


def excluded_text(rates: Release) -> str:
    """"1,234" cases left out of rates, "Fewer than 16" when the count is withheld, "" when none."""
    if "excluded_cases" not in rates.counts:
        return ""
    excluded = rates.count("excluded_cases")
    return count_text(excluded).capitalize() if excluded is None or excluded else ""


def how_computed(release: Release, extra: str = "") -> None:
    """The method, standard, confidence level and data vintage behind a chart, in a collapsed note."""
    facts = release.provenance
    with st.expander("How this was computed"):
        st.markdown(f"**Method:** {facts.method}")
        if facts.standard:
            st.markdown(f"**Standard population:** {facts.standard}")
        if facts.alpha is not None:
            st.markdown(f"**Confidence level:** {100 * (1 - float(facts.alpha)):.0f}%")
        st.markdown(f"**Data vintage:** {when(facts.data_vintage) if facts.data_vintage else 'unknown'}")
        if extra:
            st.markdown(extra)


def current_page() -> str:
    """The page being run: as the router chose it (app.py), else the page file run on its own (as tests do)."""
    page = st.session_state.get(PAGE_KEY)
    if page:
        return str(page)
    ctx = get_script_run_ctx()
    return Path(ctx.main_script_path).stem if ctx is not None else "dashboard"


def download_file(label: str, data: str | bytes, *, file_name: str, mime: str, document: str, rows: int | None,
                  key: str | None = None) -> None:
    """The dashboard's one download button: every file it hands out goes through here, so every download is
    in the audit trail (`download`: page, document, file name, format, rows; `registry.audit.record_download`).

    The event is written by the button's ``on_click`` callback, which Streamlit runs once, at the start of the
    rerun a click triggers, and never on other runs of the page: one event per download, none per render.
    ``rows`` is how many rows or records the file holds (None when it is not a table, e.g. a PDF letter)."""
    principal = st.session_state.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):   # no page offers a file before require_principal let it run
        raise RuntimeError("download_file before require_principal: the download could not be audited")
    file_format = Path(file_name).suffix.lstrip(".").lower() or mime
    st.download_button(label, data, file_name=file_name, mime=mime, key=key, on_click=_downloaded,
                       args=(operational_store(), principal),
                       kwargs={"page": current_page(), "document": document, "file": file_name,
                               "format": file_format, "rows": rows})


def csv_rows(data: str | bytes) -> int:
    """How many rows a CSV file holds: its records after the header, `#` comment lines not counted."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    return max(sum(1 for _ in csv.reader(lines)) - 1, 0)


def _downloaded(ops: OperationalStore, principal: Principal, **detail: Any) -> None:
    """The download button's click: record the download (`registry.audit.record_download`)."""
    record_download(ops, principal, **detail)


def download_csv(release: Release, name: str, label: str = "Download the data (CSV)",
                 table: pd.DataFrame | None = None) -> None:
    """A CSV of the numbers behind a chart (``table``: the shown form of the release's table), preceded by
    comment lines with the method, provenance and released counts; its download is audited (`download_file`)
    as the document named by the file's name without its extension."""
    download_file(label, release.to_csv(table), file_name=name, mime="text/csv",
                  document=Path(name).stem, rows=len(release.table if table is None else table))


def describe_filter(tumor_filter: TumorFilter, by: str | None = None) -> str:
    """"Breast, female, Black, localized, diagnosed 2014-2023, by sex": what a page's numbers cover."""
    parts = [site_name(tumor_filter.site_recodes)]
    parts.append(SEXES[tumor_filter.sexes[0]].lower() if len(tumor_filter.sexes) == 1 else "both sexes")
    if tumor_filter.races:
        parts.append(", ".join(RACE_RECODES[r] for r in tumor_filter.races))
    if tumor_filter.stage_groups:
        parts.append(", ".join(s.replace("_", " ") for s in tumor_filter.stage_groups))
    parts.append(f"diagnosed {tumor_filter.first_year}-{tumor_filter.last_year}")
    if tumor_filter.first_primary_only:
        parts.append("first primaries only")
    if by:
        parts.append(f"by {COMPARISONS[by].lower()}")
    return ", ".join(parts)


def site_names() -> dict[str, str]:
    """Display names of the reporting sites: the SEER site recode groups, breast as female breast, and
    male breast (``registry.cohort.MALE_BREAST``)."""
    names = dict(zip(SITE_GROUPS["code"], SITE_GROUPS["name"], strict=True))
    return {**names, "39": "Breast (female)", MALE_BREAST: "Breast (male)"}


def site_name(codes: Sequence[str]) -> str:
    """Display name of the filter's site group."""
    names = dict(zip(SITE_GROUPS["code"], SITE_GROUPS["name"], strict=True))
    return ", ".join(names.get(c, c) for c in codes) if codes else "All sites"


CURVE_COLUMNS = ["group", "time", "estimate", "lower", "upper", "at_risk", "effective_n", "max_weight_share",
                 "suppressed"]


def choice_control(label: str, options: dict[str, str], param: str) -> str:
    """A sidebar radio over ``options`` (code -> label) whose choice is kept in the URL as ``param``."""
    keys = list(options)
    chosen = _param(param, keys[0])
    with st.sidebar:
        choice = st.radio(label, keys, index=keys.index(chosen) if chosen in keys else 0,
                          format_func=options.__getitem__, key=f"f_{param}")
    keep_params({param: choice})
    return str(choice)


def comparison_control(options: Sequence[str]) -> str | None:
    """Sidebar choice of what to compare curves by (one of ``registry.cohort.COMPARISONS``), kept in the URL."""
    choices = ["", *options]
    chosen = _param("compare", "")
    with st.sidebar:
        by = st.selectbox("Compare by", choices, index=choices.index(chosen) if chosen in choices else 0,
                          format_func=lambda c: COMPARISONS.get(c, "No comparison"), key="f_compare")
    keep_params({"compare": by})
    return by or None


def curve_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Group, time, estimate, interval, number at risk, Pohar-Perme weight summary (effective patients,
    largest weight) and the suppression flag, under one set of names."""
    out = frame.rename(columns={"survival": "estimate"})
    out = out[[c for c in CURVE_COLUMNS if c in out.columns]].copy()
    if "suppressed" not in out.columns:
        out["suppressed"] = False
    return out


def group_sizes(release: Release) -> str:
    """"Localized 1,234; Regional withheld; ..." from a comparison's released group sizes."""
    parts = []
    for group in release.groups:
        size = "withheld (small group)" if group.suppressed else (
            "none" if not group.patients else f"{group.patients:,}")
        parts.append(f"{group.group} {size}")
    return "; ".join(parts)


def show_curve(curve: Release, at_times: Release, *, title: str, heading: str, estimate_label: str,
               file_name: str, note: str) -> pd.DataFrame:
    """Released curves (withheld points left off, one per group when compared) and their table at chosen
    times, with note and CSV."""
    from dashboard.charts import MAX_BANDS, survival_figure

    full = curve_table(curve.table)
    shown = full[~full["suppressed"].astype(bool)].dropna(subset=["estimate"])
    figure = survival_figure(shown.rename(columns={"group": "label"}), estimate="estimate", title=title)
    figure.update_layout(yaxis={"title": {"text": estimate_label.lower()}})
    if estimate_label == "Cumulative incidence" and not shown.empty:   # rises from 0: fit the axis to the curves
        top = float(pd.to_numeric(shown.get("upper", shown["estimate"]), errors="coerce").max())
        figure.update_yaxes(range=[0, min(1.02, max(0.05, 1.15 * top))])
    st.plotly_chart(figure, width="stretch")
    if "group" in shown.columns and shown["group"].nunique() > MAX_BANDS:
        st.caption(f"With more than {MAX_BANDS} curves the chart leaves out the interval bands; the table has "
                   "the intervals.")
    if full["suppressed"].astype(bool).any():
        st.caption(f"Curves stop where fewer than {DEFAULT_THRESHOLD} patients remain at risk (later points are "
                   "withheld); a group too small to show is withheld whole.")
    if "events" not in curve.table.columns and not full.empty:   # released thinned: see registry.release
        st.caption(f"Curves show a point after every {DEFAULT_THRESHOLD} or more events and at each whole year, "
                   "so that no small number of deaths or recurrences can be read from the steps.")
    table = curve_table(at_times.table)
    st.subheader(heading)
    show_table(table, labels={"group": COMPARISONS.get(str(curve.comparison), "Group"),
                              "time": "Years", "estimate": estimate_label, "at_risk": "At risk",
                              "effective_n": "Effective patients", "max_weight_share": "Largest weight"},
               formats={"time": "{:.0f}", "estimate": "{:.3f}", "lower": "{:.3f}", "upper": "{:.3f}",
                        "effective_n": "{:.0f}", "max_weight_share": "{:.0%}"})
    if "effective_n" in table.columns:
        st.caption("Pohar-Perme weights each patient by 1/expected survival: *effective patients* is how many "
                   "equally weighted patients an estimate is worth, *largest weight* the largest single patient's "
                   "share of the total weight.")
    sizes = group_sizes(at_times)
    how_computed(at_times, extra=note + (f"\n\n**Patients by group:** {sizes}." if sizes else ""))
    download_csv(at_times, file_name, table=table)
    return table
