"""How many tumors of which site arise where and when: the incidence model of the synthetic registry.

Expected count for a county x year x sex x age group x site:

    population x age-specific rate (USCS 2019) x geographic relative risk x trend factor

* **Age-specific rates** are the national CDC U.S. Cancer Statistics 2019 rates (``site_incidence.csv``),
  so a state's age-adjusted rates reproduce the national reference figures; male breast cancer is added
  at 1% of the female rate, and breast ductal carcinoma in situ at 22% of the invasive rate (in situ
  breast tumors are reportable but not part of the invasive reference rates).
* **Geographic relative risk** per site is a smooth random surface over the county centroids (three
  plane waves of 300-900 km wavelength with random directions), scaled to a site-specific spread
  (``GEOGRAPHIC_SPREAD``: the standard deviation of the log relative risk across counties) and
  normalised so the population-weighted mean risk in the state is 1. Maps therefore show regional
  patterns without moving the state rate.
* **Trend factor**: a constant annual percent change per site around 2019 (``ANNUAL_PERCENT_CHANGE``,
  approximate recent US trends) and a 10% deficit of diagnoses in 2020 (the COVID-19 pandemic year).
* Counts are Poisson draws. When a target tumor count is given, the population itself is scaled by
  ``population_scale`` (and written scaled into the population file), so rates stay realistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from registry.geography import counties
from sample_data.reference import AGE_GROUPS, oldest_age_shares, site_incidence, state_population

# Approximate annual percent change of incidence by site, recent US trends (SEER/USCS reports, rounded).
ANNUAL_PERCENT_CHANGE: dict[str, float] = {
    "breast": 0.5, "prostate": 2.0, "lung_bronchus": -2.0, "colon_rectum": -1.0, "melanoma_skin": 0.5,
    "urinary_bladder": -1.3, "nhl": -0.8, "kidney_renal_pelvis": 1.0, "corpus_uterus": 0.8,
    "leukemia": -0.3, "pancreas": 0.8, "thyroid": -2.0, "liver_ihbd": 1.0, "oral_cavity_pharynx": 0.5,
    "stomach": -0.5, "ovary": -1.5, "brain_ons": -0.5, "myeloma": 0.7, "esophagus": -0.5, "cervix": -0.5,
}
# Standard deviation of log relative risk across a state's counties (smoking- and sun-related sites vary most).
GEOGRAPHIC_SPREAD: dict[str, float] = {"lung_bronchus": 0.20, "melanoma_skin": 0.15, "oral_cavity_pharynx": 0.15,
                                       "thyroid": 0.12, "cervix": 0.12, "liver_ihbd": 0.12, "esophagus": 0.12}
DEFAULT_SPREAD = 0.08
REFERENCE_YEAR = 2019
PANDEMIC_YEAR_FACTOR = {2020: 0.90}
MALE_BREAST_SHARE = 0.01
BREAST_IN_SITU_RATIO = 0.22
SITE_KEYS: tuple[str, ...] = tuple(ANNUAL_PERCENT_CHANGE)


def trend_factor(site_key: str, year: int | np.ndarray) -> np.ndarray:
    """Incidence in a year relative to 2019 for a site (annual percent change and the 2020 deficit)."""
    years = np.asarray(year)
    factor = (1 + ANNUAL_PERCENT_CHANGE[site_key] / 100) ** (years - REFERENCE_YEAR)
    for pandemic_year, deficit in PANDEMIC_YEAR_FACTOR.items():
        factor = np.where(years == pandemic_year, factor * deficit, factor)
    return factor


def _rates() -> pd.DataFrame:
    """Rates per person-year by site x sex x age group, with male breast and breast in situ added."""
    rates = site_incidence()[["site_key", "sex", "age_group", "rate_per_100k"]].copy()
    rates["rate"] = rates.pop("rate_per_100k").fillna(0.0) / 100_000
    rates["in_situ_extra"] = False
    female_breast = rates[(rates["site_key"] == "breast") & (rates["sex"] == 2)]
    male_breast = female_breast.assign(sex=1, rate=female_breast["rate"] * MALE_BREAST_SHARE)
    rates = rates[~((rates["site_key"] == "breast") & (rates["sex"] == 1))]
    dcis = female_breast.assign(rate=female_breast["rate"] * BREAST_IN_SITU_RATIO, in_situ_extra=True)
    return pd.concat([rates, male_breast, dcis], ignore_index=True)


def geographic_risk(state_abbr: str, population: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Relative risk by site x county: smooth over space, population-weighted mean 1 (see module doc)."""
    table = counties()
    table = table[table["state_abbr"] == state_abbr].set_index("fips")
    lat0 = np.deg2rad(table["centroid_lat"].mean())
    x = (table["centroid_lon"] - table["centroid_lon"].mean()).to_numpy() * 111.32 * np.cos(lat0)
    y = (table["centroid_lat"] - table["centroid_lat"].mean()).to_numpy() * 110.57
    weight = population.groupby("fips")["population"].sum().reindex(table.index).fillna(0).to_numpy()
    rows = []
    for index, site in enumerate(SITE_KEYS):
        rng = np.random.default_rng([seed, 7, index])
        field = np.zeros(len(table))
        for _ in range(3):
            angle = rng.uniform(0, 2 * np.pi)
            wavelength = rng.uniform(300, 900)
            phase = rng.uniform(0, 2 * np.pi)
            field += rng.normal() * np.cos(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / wavelength + phase)
        spread = field.std()
        field = field / spread if spread > 0 else field
        risk = np.exp(GEOGRAPHIC_SPREAD.get(site, DEFAULT_SPREAD) * field)
        risk /= np.average(risk, weights=weight) if weight.sum() > 0 else risk.mean()
        rows.append(pd.DataFrame({"site_key": site, "fips": table.index, "relative_risk": risk}))
    return pd.concat(rows, ignore_index=True)


@dataclass(frozen=True)
class IncidenceModel:
    """Population cells (scaled) and the expected count of every cell x site."""

    population: pd.DataFrame       # fips, year, sex, age_group, population (scaled)
    expected: pd.DataFrame         # fips, year, sex, age_group, site_key, in_situ_extra, expected
    population_scale: float
    relative_risk: pd.DataFrame    # site_key, fips, relative_risk


def _expected(population: pd.DataFrame, risk: pd.DataFrame) -> pd.DataFrame:
    cells = population.merge(_rates(), on=["sex", "age_group"])
    cells = cells.merge(risk, on=["site_key", "fips"])
    trend = np.ones(len(cells))
    for site in SITE_KEYS:
        mask = (cells["site_key"] == site).to_numpy()
        trend[mask] = trend_factor(site, cells.loc[mask, "year"].to_numpy())
    cells["expected"] = cells["population"] * cells["rate"] * cells["relative_risk"] * trend
    return cells[["fips", "year", "sex", "age_group", "site_key", "in_situ_extra", "expected"]]


def build_model(state_abbr: str, years: range, *, tumors: int | None, seed: int) -> IncidenceModel:
    """Population and expected counts for a state and years, scaled to about ``tumors`` when given."""
    population = state_population(state_abbr, years)[["fips", "year", "sex", "age_group", "population"]]
    risk = geographic_risk(state_abbr, population, seed)
    scale = 1.0
    if tumors is not None:
        total = _expected(population, risk)["expected"].sum()
        scale = tumors / total
        population = population.assign(population=np.rint(population["population"] * scale).astype(np.int64))
    return IncidenceModel(population=population.reset_index(drop=True), expected=_expected(population, risk),
                          population_scale=scale, relative_risk=risk)


def draw_oldest_ages(sex: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Single years of age within the SEER group 85+, drawn from the US life table's stationary population
    of the same sex (``reference.oldest_age_shares``): steeply fewer people at each older age.

    One uniform number per tumor, by inversion of each sex's cumulative shares."""
    uniform = rng.random(len(sex))
    ages = np.empty(len(sex), dtype=np.int64)
    for code, table in oldest_age_shares().groupby("sex"):
        chosen = sex == code
        cumulative = np.cumsum(table["share"].to_numpy())
        index = np.searchsorted(cumulative / cumulative[-1], uniform[chosen], side="right")
        ages[chosen] = table["age"].to_numpy()[np.minimum(index, len(table) - 1)]
    return ages


def draw_tumors(model: IncidenceModel, rng: np.random.Generator) -> pd.DataFrame:
    """One row per tumor: county, sex, age, diagnosis date, site; Poisson counts per cell."""
    expected = model.expected
    counts = rng.poisson(expected["expected"].to_numpy())
    tumors = expected.loc[expected.index.repeat(counts), ["fips", "year", "sex", "age_group", "site_key",
                                                          "in_situ_extra"]].reset_index(drop=True)
    bounds = {code: (lo, hi) for code, lo, hi in AGE_GROUPS}
    lo = tumors["age_group"].map(lambda code: bounds[code][0]).to_numpy()
    hi = tumors["age_group"].map(lambda code: bounds[code][1]).to_numpy()
    age = lo + np.floor(rng.random(len(tumors)) * (hi - lo + 1)).astype(np.int64)
    oldest = tumors["age_group"].to_numpy() == "85+"
    age[oldest] = draw_oldest_ages(tumors["sex"].to_numpy()[oldest], rng)
    tumors["age"] = age
    year_start = pd.to_datetime(tumors["year"].astype(str) + "-01-01")
    days_in_year = np.where(pd.DatetimeIndex(year_start).is_leap_year, 366, 365)
    tumors["diagnosis_date"] = year_start + pd.to_timedelta(np.floor(rng.random(len(tumors)) * days_in_year),
                                                            unit="D")
    return tumors
