"""The shipped reference tables: counties, county population, life table and the generator's site tables."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

from registry.geography import STATE_FIPS, counties, state_abbr, state_fips

SEER19 = ["00", "01-04", "05-09", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
          "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+"]


def _sample_file(name: str) -> pd.DataFrame:
    with resources.as_file(resources.files("sample_data") / "data" / name) as path:
        return pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return _sample_file("county_population.parquet")


def test_counties_are_the_3142_of_the_50_states_and_dc():
    table = counties()
    assert len(table) == 3142 and table["fips"].is_unique
    assert table["fips"].str.fullmatch(r"\d{5}").all()
    assert (table["fips"].str[:2] == table["state_fips"]).all()
    assert table["state_fips"].nunique() == 51
    assert (table["state_abbr"].map(STATE_FIPS) == table["state_fips"]).all()
    douglas = table.set_index("fips").loc["20045"]
    assert douglas["county_name"] == "Douglas County" and douglas["state_abbr"] == "KS"
    assert douglas["state_name"] == "Kansas"
    assert 38.8 < douglas["centroid_lat"] < 39.0 and -95.4 < douglas["centroid_lon"] < -95.1
    assert table.set_index("fips").loc["35013", "county_name"] == "Doña Ana County"
    assert table["centroid_lat"].between(18, 72).all() and table["centroid_lon"].between(-180, -66).all()
    assert (table["land_area_km2"] > 0).all()


def test_state_lookups():
    assert state_fips("ks") == "20" and state_abbr("20") == "KS" and state_abbr(6) == "CA"
    with pytest.raises(KeyError):
        state_fips("XX")


def test_population_is_complete_for_every_county_year(population):
    assert population.dtypes.to_dict() == {"fips": np.dtype("O"), "year": np.dtype("int16"),
                                           "sex": np.dtype("int8"), "age_group": np.dtype("O"),
                                           "population": np.dtype("int32")}
    assert set(population["fips"]) == set(counties()["fips"])
    assert sorted(population["year"].unique()) == list(range(2010, 2024))
    assert set(population["sex"]) == {1, 2} and set(population["age_group"]) == set(SEER19)
    assert len(population) == 3142 * 14 * 19 * 2
    assert not population.duplicated(["fips", "year", "sex", "age_group"]).any()
    assert (population["population"] >= 0).all()


def test_population_totals_match_the_census_estimates(population):
    by_state_year = population.groupby([population["fips"].str[:2], "year"])["population"].sum()
    assert by_state_year[("20", 2019)] == 2_913_314
    by_year = population.groupby("year")["population"].sum()
    assert by_year[2019] == 328_239_523 and by_year[2023] == 334_914_895


def test_life_table_is_consistent():
    with resources.as_file(resources.files("registry") / "data" / "us_life_table.csv") as path:
        table = pd.read_csv(path)
    assert list(table.columns) == ["year", "sex", "age", "qx", "daily_hazard"]
    assert len(table) == 75 * 2 * 110 and not table.duplicated(["year", "sex", "age"]).any()
    assert table["year"].min() == 1940 and table["year"].max() == 2014 and set(table["sex"]) == {1, 2}
    assert table["age"].min() == 0 and table["age"].max() == 109
    assert table["qx"].between(0, 1, inclusive="neither").all()
    expected = -np.log1p(-table["qx"]) / 365.25
    assert np.allclose(table["daily_hazard"], expected, rtol=1e-8, atol=0)
    # Mortality rises with age past childhood, and women live longer.
    y2000 = table[table["year"] == 2000].set_index(["sex", "age"])["qx"]
    assert y2000[(1, 80)] > y2000[(1, 50)] > y2000[(1, 20)] and y2000[(2, 70)] < y2000[(1, 70)]


def test_site_tables_cover_20_sites():
    incidence = _sample_file("site_incidence.csv")
    facts = _sample_file("site_facts.csv")
    assert facts["site_key"].is_unique and len(facts) == 20
    assert set(incidence["site_key"]) == set(facts["site_key"])
    assert set(incidence["sex"]) == {1, 2} and set(incidence["age_group"].astype(str)) == set(SEER19)
    assert incidence.groupby(["site_key", "sex"]).size().eq(19).all()
    suppressed = incidence[incidence["suppressed"]]
    assert (suppressed["rate_per_100k"] == 0).all() and (suppressed["cases"] == 0).all()
    shown = incidence[~incidence["suppressed"]]
    assert np.allclose(shown["cases"] / shown["population"] * 1e5, shown["rate_per_100k"], atol=0.006)
    breast = facts.set_index("site_key").loc["breast"]
    assert pd.isna(breast["aair_male"]) and breast["aair_female"] > 100
    stages = facts.filter(like="stage_").sum(axis=1)
    assert stages[stages > 0].between(98.5, 100.5).all()
