"""Incidence map: age-adjusted rates by county with intervals, compared with the state, for the filters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

import streamlit as st

from dashboard.charts import county_map_figure, trend_figure
from dashboard.common import (
    describe_filter,
    download_csv,
    excluded_text,
    filter_controls,
    how_computed,
    page_cache,
    require_principal,
)
from dashboard.tables import show_table
from registry.api import (
    DEFAULT_THRESHOLD,
    FIPS_STATE,
    Principal,
    RegistryError,
    Release,
    TumorFilter,
    age_specific,
    counties,
    incidence_rates,
    incidence_trend,
    state_counties_geojson,
)

STANDARDS = {"us2000_19": "US 2000 (19 age groups)", "us2000_18": "US 2000 (18 age groups)",
             "who2000_19": "World (WHO 2000-2025)", "segi1960_19": "World (Segi 1960)",
             "esp2013_19": "European 2013"}


@page_cache("Computing county rates...")
def _county_rates(principal: Principal, db: Path, chosen: TumorFilter, standard: str) -> tuple[Release, Release]:
    """County and state rates for one filter and standard population."""
    county = incidence_rates(principal, db, chosen, by=("county_fips",), standard=standard)
    state = incidence_rates(principal, db, chosen, standard=standard)
    return county, state


def choose_clicked_county(event: object) -> None:
    """A county clicked on the map becomes the chosen county (only when the click is new, so a later
    choice in the county list is not undone by the map's lingering selection)."""
    points = getattr(getattr(event, "selection", None), "points", None) or []
    clicked = next((str(p["location"]) for p in points if p.get("location")), None)
    if clicked and clicked != st.session_state.get("map_clicked"):
        st.session_state["map_clicked"] = clicked
        st.session_state["f_county"] = clicked


principal, db = require_principal()
st.title("Incidence map")
chosen = filter_controls()
with st.sidebar:
    standard = st.selectbox("Standard population", list(STANDARDS), format_func=STANDARDS.__getitem__,
                            key="f_standard")
    classes: Literal["quantile", "equal"] = st.radio("Classes", ["quantile", "equal"], format_func=lambda c: f"{c} intervals".capitalize(),
                       horizontal=True, key="f_classes")
try:
    county_release, state_release = _county_rates(principal, db, chosen, standard)
except RegistryError as exc:
    st.warning(f"No rates for these filters: {exc}")
    st.stop()
county = county_release.table
county = county[county["county_fips"].notna()].copy()
if county.empty:
    st.info("No cases for these filters.")
    st.stop()
state_fips = str(county["county_fips"].iloc[0])[:2]
state_abbr = FIPS_STATE[state_fips]
names = counties().set_index("fips")["county_name"]
county.insert(1, "county_name", county["county_fips"].map(names))
state_row = state_release.table.iloc[0]
state_rate = None if bool(state_row.get("suppressed", False)) else \
    {"rate": float(state_row["rate"]), "lower": float(state_row["lower"]), "upper": float(state_row["upper"])}

st.caption(f"{describe_filter(chosen)}; rates per 100,000, age-adjusted to the {STANDARDS[standard]} standard.")
if state_rate:
    st.metric("State rate per 100,000", f"{state_rate['rate']:.1f}",
              help=f"95% interval {state_rate['lower']:.1f}-{state_rate['upper']:.1f}")
figure = county_map_figure(county, state_counties_geojson(state_abbr), classes=classes, state_rate=state_rate)
event = st.plotly_chart(figure, config={"displayModeBar": False}, on_select="rerun", selection_mode="points",
                        key="county_map")
choose_clicked_county(event)
excluded = excluded_text(county_release)
if excluded:
    st.caption(f"{excluded} cases without a known county or age are not in the county rates.")

columns = ["county_name", "county_fips", "count", "population", "rate", "lower", "upper"]
if "suppressed" in county.columns:
    columns.append("suppressed")
table = county[columns].sort_values("county_name")
show_table(table)
download_csv(county_release, "county-rates.csv")
how_computed(county_release, f"Counties with 1-{DEFAULT_THRESHOLD - 1} cases are withheld for researchers and administrators and drawn "
                     "as *suppressed*, distinct from counties with no cases; so are counties withheld to protect "
                     f"them, and counties whose count differs by 1-{DEFAULT_THRESHOLD - 1} from one you saw under a filter differing "
                     "in one respect (e.g. both sexes, then women). A county is *above* or *below* the state "
                     "when its interval does not overlap the state's.")

st.subheader("One county")
options = table["county_fips"].tolist()
if st.session_state.get("f_county") not in options:
    wanted = str(st.query_params.get("county", ""))
    st.session_state["f_county"] = wanted if wanted in options else options[0]
choice = st.selectbox("County (or click one on the map)", options, format_func=lambda f: str(names.get(f, f)),
                      key="f_county")
st.query_params["county"] = choice
if choice:
    one = replace(chosen, counties=(choice,))
    by_age_release = age_specific(principal, db, one)
    by_age = by_age_release.table
    st.markdown("**Age-specific rates per 100,000** (exact Poisson 95% intervals)")
    age_columns = [c for c in ("age_group", "count", "population", "rate", "lower", "upper", "suppressed")
                   if c in by_age.columns]
    show_table(by_age, columns=age_columns)
    how_computed(by_age_release)
    download_csv(by_age_release, f"county-{choice}-age-specific.csv",
                 label="Download the county's age-specific rates (CSV)")
    try:
        yearly, apc = incidence_trend(principal, db, one, standard=standard)
    except RegistryError as exc:
        st.info(f"No trend for this county: {exc}")
    else:
        st.plotly_chart(trend_figure(yearly.table, apc.table), config={"displayModeBar": False})
        how_computed(yearly, f"**Trend:** {apc.provenance.method or ''}")
        download_csv(yearly, f"county-{choice}-trend.csv", label="Download the county's yearly rates (CSV)")
