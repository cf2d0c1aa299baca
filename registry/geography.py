"""US geography: state abbreviations <-> FIPS codes and the county table (names, centroids, land area).

State codes: U.S. Census Bureau, ANSI/FIPS state codes (FIPS PUB 5-2 successor, INCITS 38). Counties:
``registry/data/us_counties.csv``, the 3,142 counties of the 50 states and DC in the Census Vintage 2019
county set (built by ``scripts/build_sample_reference.py``; sources in ``registry/data/README.md``).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

STATE_FIPS: dict[str, str] = {
    "AL": "01", "AK": "02", "AZ": "04", "AR": "05", "CA": "06", "CO": "08", "CT": "09", "DE": "10",
    "DC": "11", "FL": "12", "GA": "13", "HI": "15", "ID": "16", "IL": "17", "IN": "18", "IA": "19",
    "KS": "20", "KY": "21", "LA": "22", "ME": "23", "MD": "24", "MA": "25", "MI": "26", "MN": "27",
    "MS": "28", "MO": "29", "MT": "30", "NE": "31", "NV": "32", "NH": "33", "NJ": "34", "NM": "35",
    "NY": "36", "NC": "37", "ND": "38", "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44",
    "SC": "45", "SD": "46", "TN": "47", "TX": "48", "UT": "49", "VT": "50", "VA": "51", "WA": "53",
    "WV": "54", "WI": "55", "WY": "56", "AS": "60", "GU": "66", "MP": "69", "PR": "72", "VI": "78",
}
FIPS_STATE: dict[str, str] = {fips: abbr for abbr, fips in STATE_FIPS.items()}
COUNTY_CODE_COLUMNS = ("fips", "state_fips", "state_abbr")


def state_fips(abbr: str) -> str:
    """The 2-digit FIPS code of a USPS state abbreviation (case-insensitive); KeyError if unknown."""
    return STATE_FIPS[abbr.strip().upper()]


def state_abbr(fips: str | int) -> str:
    """The USPS abbreviation of a state FIPS code ("20", "2" or 20); KeyError if unknown."""
    return FIPS_STATE[str(fips).strip().zfill(2)]


@cache
def counties() -> pd.DataFrame:
    """The county table: fips, state_fips, state_abbr, state_name, county_name, centroid_lon/lat, land_area_km2.

    Cached: callers must not modify the frame they get (copy it first).
    """
    path = resources.files("registry") / "data" / "us_counties.csv"
    with resources.as_file(path) as csv_path:
        return pd.read_csv(csv_path, dtype=dict.fromkeys(COUNTY_CODE_COLUMNS, str), keep_default_na=False,
                           na_values={"centroid_lon": [""], "centroid_lat": [""], "land_area_km2": [""]})
