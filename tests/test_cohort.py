"""Cohort filters and store aggregates: what DuckDB returns equals a recount of the raw rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from registry.cohort import TumorFilter, case_counts, data_vintage, population_counts, survival_data
from registry.principal import Principal
from registry.stats.rates import age_adjusted_rates

REGISTRAR = Principal("reg", "registrar", frozenset())


@pytest.fixture(scope="module")
def db(sample_registry: dict[str, object]) -> Path:
    return Path(str(sample_registry["db"]))


def _raw(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("""SELECT t.*, p.sex, p.race1, p.date_of_birth, p.date_of_last_contact, p.vital_status
                              FROM tumor t JOIN patient p USING (patient_id)""").df()


def test_case_counts_equal_a_recount(db: Path) -> None:
    raw = _raw(db)
    chosen = TumorFilter(sexes=("2",), first_year=2016, last_year=2020)
    counts = case_counts(REGISTRAR, db, chosen, by=("diagnosis_year",))
    expected = raw[(raw["sex"] == "2") & raw["diagnosis_year"].between(2016, 2020) & (raw["behavior"] == "3")
                   & raw["age_at_diagnosis"].notna()]
    assert counts["count"].sum() == len(expected)
    by_year = counts.groupby("diagnosis_year")["count"].sum()
    assert by_year.to_dict() == expected.groupby("diagnosis_year").size().to_dict()
    assert set(counts["age_group"]) <= {"00", "01-04", *(f"{a:02d}-{a + 4:02d}" for a in range(5, 85, 5)), "85+"}


def test_stage_filter_and_injection_strings_change_nothing(db: Path) -> None:
    localized = case_counts(REGISTRAR, db, TumorFilter(stage_groups=("localized",)))["count"].sum()
    everything = case_counts(REGISTRAR, db, TumorFilter())["count"].sum()
    assert 0 < localized < everything
    hostile = TumorFilter(counties=("20001' OR '1'='1",), races=("01); DROP TABLE tumor; --",))
    assert case_counts(REGISTRAR, db, hostile).empty
    assert case_counts(REGISTRAR, db, TumorFilter())["count"].sum() == everything


def test_population_matches_the_loaded_file(db: Path) -> None:
    chosen = TumorFilter(first_year=2019, last_year=2019, sexes=("1",))
    pop = population_counts(REGISTRAR, db, chosen, by=("county_fips",))
    with duckdb.connect(str(db), read_only=True) as con:
        total = con.execute("SELECT sum(population) FROM population WHERE year = 2019 AND sex = '1'").fetchall()[0][0]
    assert pop["population"].sum() == total
    with pytest.raises(ValueError, match="race"):
        population_counts(REGISTRAR, db, TumorFilter(races=("01",)))
    with pytest.raises(ValueError, match="by"):
        population_counts(REGISTRAR, db, TumorFilter(), by=("stage_group",))


def test_state_rate_from_the_store(db: Path) -> None:
    chosen = TumorFilter(first_year=2014, last_year=2023, sexes=("1", "2"))   # sex unknown has no population
    rates = age_adjusted_rates(case_counts(REGISTRAR, db, chosen, by=("sex",)), population_counts(REGISTRAR, db, chosen, by=("sex",)),
                               by=("sex",))
    assert set(rates["sex"]) == {"1", "2"}
    assert ((rates["rate"] > 250) & (rates["rate"] < 650)).all()   # all 20 sites, per 100,000


def test_survival_data_follows_seer_selection(db: Path) -> None:
    data = survival_data(REGISTRAR, db, TumorFilter(), by=("stage_group",))
    assert (data["time_days"] >= 0).all() and data["dead"].isin([0, 1]).all()
    assert data["sex"].isin([1, 2]).all() and (data["age_days"] >= 0).all()
    raw = _raw(db)
    dco = raw["type_of_reporting_source"].eq("7") & raw["behavior"].eq("3")
    assert dco.sum() > 0 and not set(raw.loc[dco, "tumor_id"]) & set(data["tumor_id"])
    assert data_vintage(db) is not None


def test_filter_rejects_unknown_values() -> None:
    with pytest.raises(ValueError, match="stage_groups"):
        TumorFilter(stage_groups=("early",))
    with pytest.raises(ValueError, match="first_year"):
        TumorFilter(first_year=2020, last_year=2010)
