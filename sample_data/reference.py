"""The generator's reference tables: population, incidence rates, stage and survival figures, life table.

All are the project's own files (sources in ``sample_data/data/README.md`` and ``registry/data/README.md``);
nothing here reads outside the installed package.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from registry.geography import counties

# SEER 19 age groups: code, first and last year of age (85+ is open: single ages from ``oldest_age_shares``).
AGE_GROUPS: tuple[tuple[str, int, int], ...] = (
    ("00", 0, 0), ("01-04", 1, 4), ("05-09", 5, 9), ("10-14", 10, 14), ("15-19", 15, 19), ("20-24", 20, 24),
    ("25-29", 25, 29), ("30-34", 30, 34), ("35-39", 35, 39), ("40-44", 40, 44), ("45-49", 45, 49),
    ("50-54", 50, 54), ("55-59", 55, 59), ("60-64", 60, 64), ("65-69", 65, 69), ("70-74", 70, 74),
    ("75-79", 75, 79), ("80-84", 80, 84), ("85+", 85, 109),
)
AGE_GROUP_CODES = tuple(code for code, _, _ in AGE_GROUPS)


def _data(name: str) -> resources.abc.Traversable:
    return resources.files("sample_data") / "data" / name


@cache
def county_population() -> pd.DataFrame:
    """Population by county (5-digit FIPS) x year x sex (1, 2) x SEER 19 age group, all states."""
    with resources.as_file(_data("county_population.parquet")) as path:
        frame = pd.read_parquet(path)
    frame["age_group"] = frame["age_group"].astype(str)
    return frame


def state_population(state_abbr: str, years: range) -> pd.DataFrame:
    """The population cells of one state's counties for the given years."""
    table = counties()
    fips = table.loc[table["state_abbr"] == state_abbr, "fips"]
    if fips.empty:
        raise ValueError(f"unknown state {state_abbr!r}")
    frame = county_population()
    chosen = frame[frame["fips"].isin(set(fips)) & frame["year"].between(years.start, years.stop - 1)]
    return chosen.reset_index(drop=True)


@cache
def site_incidence() -> pd.DataFrame:
    """Age-specific incidence per 100,000 by site x sex x age group (CDC USCS 2019)."""
    with resources.as_file(_data("site_incidence.csv")) as path:
        return pd.read_csv(path, dtype={"site_key": str, "age_group": str})


@cache
def site_facts() -> pd.DataFrame:
    """One row per site: labels, reference age-adjusted rates, stage mix and 5-year relative survival."""
    with resources.as_file(_data("site_facts.csv")) as path:
        return pd.read_csv(path, dtype={"site_key": str}).set_index("site_key")


@cache
def life_table() -> pd.DataFrame:
    """US life table (year x sex x age: qx and daily hazard), as the statistics engine uses it."""
    with resources.as_file(resources.files("registry") / "data" / "us_life_table.csv") as path:
        return pd.read_csv(path)


OLDEST_AGE = 85   # first age of the open SEER age group 85+


@cache
def oldest_age_shares() -> pd.DataFrame:
    """Share of each single year of age within the 85+ population, by sex (columns sex, age, share).

    The stationary population of the latest US life table (person-years lived at each age,
    ``(l_x + l_(x+1)) / 2`` with ``l_(x+1) = l_x (1 - q_x)``): it falls steeply, as real populations do
    (2014 table: about 60% aged 85-89, 29% 90-94, 9% 95-99, 1.4% 100-104 and 0.1% 105-109). The table's
    last age (109) closes the distribution.
    """
    table = life_table()
    latest = table[(table["year"] == table["year"].max()) & (table["age"] >= OLDEST_AGE)]
    rows = []
    for sex, group in latest.sort_values("age").groupby("sex"):
        survivors = np.concatenate(([1.0], np.cumprod(1 - group["qx"].to_numpy())))
        lived = (survivors[:-1] + survivors[1:]) / 2
        rows.append(pd.DataFrame({"sex": int(sex), "age": group["age"].to_numpy(), "share": lived / lived.sum()}))
    return pd.concat(rows, ignore_index=True)


def qx_lookup() -> tuple[np.ndarray, int, int]:
    """Life table as an array qx[year - first_year, sex - 1, age], plus the first and last year."""
    table = life_table()
    first, last = int(table["year"].min()), int(table["year"].max())
    ages = int(table["age"].max()) + 1
    array = np.ones((last - first + 1, 2, ages))
    array[table["year"].to_numpy() - first, table["sex"].to_numpy() - 1, table["age"].to_numpy()] = table["qx"]
    return array, first, last


def date_text(values: pd.Series, *, separator: str = "") -> np.ndarray:
    """Dates as text, YYYYMMDD (NAACCR) or YYYY-MM-DD with ``separator="-"``; missing dates are blank.

    Much faster than ``Series.dt.strftime`` for the hundreds of thousands of dates a registry has.
    """
    dates = pd.DatetimeIndex(values)
    missing = dates.isna()
    year = np.where(missing, 0, dates.year).astype(np.int64)
    month = np.where(missing, 0, dates.month).astype(np.int64)
    day = np.where(missing, 0, dates.day).astype(np.int64)
    if separator:
        text = np.char.add(np.char.add(np.char.add(np.char.zfill(year.astype(str), 4), separator),
                                       np.char.add(np.char.zfill(month.astype(str), 2), separator)),
                           np.char.zfill(day.astype(str), 2))
    else:
        text = (year * 10_000 + month * 100 + day).astype(str)
    return np.where(missing, "", text).astype(object)
