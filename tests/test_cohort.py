"""Cohort filters and store aggregates: what DuckDB returns equals a recount of the raw rows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from registry.analysis import case_counts, population_counts, survival_data
from registry.cohort import TREATMENT_GROUPS, TumorFilter, age_groups_between, comparison_groups, data_vintage
from registry.principal import Principal
from registry.stats.rates import age_adjusted_rates

REGISTRAR = Principal("reg", "registrar", frozenset())


@pytest.fixture(scope="module")
def db(sample_registry: dict[str, object]) -> Path:
    return Path(str(sample_registry["db"]))


def _raw(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("""SELECT t.*, p.sex, p.race1, p.date_of_birth, p.date_of_last_contact, p.vital_status
                              FROM registry_tumor t JOIN registry_patient p USING (patient_id)""").df()


def test_case_counts_equal_a_recount(db: Path) -> None:
    raw = _raw(db)
    chosen = TumorFilter(sexes=("2",), first_year=2016, last_year=2020)
    counts = case_counts(REGISTRAR, db, chosen, by=("diagnosis_year",)).table
    expected = raw[(raw["sex"] == "2") & raw["diagnosis_year"].between(2016, 2020) & (raw["behavior"] == "3")
                   & raw["age_at_diagnosis"].notna()]
    assert counts["count"].sum() == len(expected)
    by_year = counts.groupby("diagnosis_year")["count"].sum()
    assert by_year.to_dict() == expected.groupby("diagnosis_year").size().to_dict()
    assert set(counts["age_group"]) <= {"00", "01-04", *(f"{a:02d}-{a + 4:02d}" for a in range(5, 85, 5)), "85+"}


def test_stage_filter_and_injection_strings_change_nothing(db: Path) -> None:
    localized = case_counts(REGISTRAR, db, TumorFilter(stage_groups=("localized",))).table["count"].sum()
    everything = case_counts(REGISTRAR, db, TumorFilter()).table["count"].sum()
    assert 0 < localized < everything
    hostile = TumorFilter(counties=("20001' OR '1'='1",), site_recodes=("39); DROP TABLE tumor; --",))
    assert case_counts(REGISTRAR, db, hostile).table.empty
    assert case_counts(REGISTRAR, db, TumorFilter()).table["count"].sum() == everything


def test_population_matches_the_loaded_file(db: Path) -> None:
    chosen = TumorFilter(first_year=2019, last_year=2019, sexes=("1",))
    pop = population_counts(REGISTRAR, db, chosen, by=("county_fips",)).table
    with duckdb.connect(str(db), read_only=True) as con:
        total = con.execute("SELECT sum(population) FROM population WHERE year = 2019 AND sex = '1'").fetchall()[0][0]
    assert pop["population"].sum() == total
    with pytest.raises(ValueError, match="race"):
        TumorFilter(races=("01",))   # NAACCR codes are not race groups
    with pytest.raises(ValueError, match="by"):
        population_counts(REGISTRAR, db, TumorFilter(), by=("stage_group",))


def test_state_rate_from_the_store(db: Path) -> None:
    chosen = TumorFilter(first_year=2014, last_year=2023, sexes=("1", "2"))   # sex unknown has no population
    rates = age_adjusted_rates(case_counts(REGISTRAR, db, chosen, by=("sex",)).table, population_counts(REGISTRAR, db, chosen, by=("sex",)).table,
                               by=("sex",))
    assert set(rates["sex"]) == {"1", "2"}
    assert ((rates["rate"] > 250) & (rates["rate"] < 650)).all()   # all 20 sites, per 100,000


def test_survival_data_follows_seer_selection(db: Path) -> None:
    data = survival_data(REGISTRAR, db, TumorFilter(), by=("stage_group",)).table
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


def test_race_filter_uses_the_seer_race_groups(db: Path) -> None:
    raw = _raw(db)
    groups = {"01": "1", "02": "2", "03": "3", "04": "4", "06": "4", "07": "4", "08": "4", "10": "4", "16": "4",
              "96": "4", "97": "4"}
    recode = raw["race1"].map(groups)
    for race in ("1", "2", "4"):
        counts = case_counts(REGISTRAR, db, TumorFilter(races=(race,), behaviors=())).table
        assert counts["count"].sum() == int(((recode == race) & raw["age_at_diagnosis"].notna()).sum()), race
    with duckdb.connect(str(db), read_only=True) as con:
        black = con.execute("SELECT sum(population) FROM population WHERE race = '2' AND year = 2019").fetchall()[0][0]
    pop = population_counts(REGISTRAR, db, TumorFilter(races=("2",), first_year=2019, last_year=2019)).table
    assert pop["population"].sum() == black > 0


def test_race_rates_are_refused_without_race_denominators(tmp_path: Path) -> None:
    from pipelines.population import load_population, write_seer_population
    from registry.store_writes import ensure_store

    store = tmp_path / "store.duckdb"
    ensure_store(store)
    frame = pd.DataFrame({"year": [2019], "fips": ["20001"], "sex": [1], "age_group": ["50-54"], "population": [900]})
    write_seer_population(frame, tmp_path / "ks.txt", state_abbr="KS")
    load_population(tmp_path / "ks.txt", db_path=store)
    assert population_counts(REGISTRAR, store, TumorFilter()).table["population"].sum() == 900
    with pytest.raises(ValueError, match="no race breakdown"):
        population_counts(REGISTRAR, store, TumorFilter(races=("1",)))


def test_age_range_selects_ages_and_matching_age_groups(db: Path) -> None:
    raw = _raw(db)
    chosen = TumorFilter(min_age=45, max_age=64, behaviors=())
    counts = case_counts(REGISTRAR, db, chosen).table
    assert counts["count"].sum() == int(raw["age_at_diagnosis"].between(45, 64).sum())
    assert set(counts["age_group"]) == {"45-49", "50-54", "55-59", "60-64"}
    pop = population_counts(REGISTRAR, db, chosen).table
    assert set(pop["age_group"]) == {"45-49", "50-54", "55-59", "60-64"}
    assert age_groups_between(None, 4) == ("00", "01-04") and age_groups_between(85, None) == ("85+",)
    with pytest.raises(ValueError, match="age-group limits"):
        population_counts(REGISTRAR, db, TumorFilter(min_age=47))
    with pytest.raises(ValueError, match="min_age"):
        TumorFilter(min_age=70, max_age=60)


def test_treatment_groups_partition_the_tumors(db: Path) -> None:
    """Every tumor falls in exactly one treatment group, as recomputed from the long treatment table."""
    with duckdb.connect(str(db), read_only=True) as con:
        treatment = con.execute("SELECT tumor_id, modality, given FROM registry_treatment").df()
    raw = _raw(db)
    systemic = {"chemotherapy", "hormone", "immunotherapy", "transplant_endocrine"}
    given = treatment[treatment["given"].fillna(False).astype(bool)]
    s = set(given.loc[given["modality"] == "surgery", "tumor_id"])
    r = set(given.loc[given["modality"] == "radiation", "tumor_id"])
    y = set(given.loc[given["modality"].isin(systemic), "tumor_id"])
    known = set(treatment.loc[treatment["given"].notna(), "tumor_id"])

    def group(tumor: int) -> str:
        parts = [name for name, members in (("surgery", s), ("radiation", r), ("systemic", y)) if tumor in members]
        if parts == ["surgery"]:
            return "surgery_only"
        if parts == ["radiation"] or parts == ["systemic"]:
            return f"{parts[0]}_only"
        if parts:
            return "_".join(parts)
        return "none" if tumor in known else "unknown"

    expected = raw.loc[raw["age_at_diagnosis"].notna() & (raw["behavior"] == "3"), "tumor_id"].map(group)
    total = 0
    for name in TREATMENT_GROUPS:
        found = case_counts(REGISTRAR, db, TumorFilter(treatment_groups=(name,))).table["count"].sum()
        assert found == int((expected == name).sum()), name
        total += found
    assert total == len(expected)
    with pytest.raises(ValueError, match="treatment"):
        population_counts(REGISTRAR, db, TumorFilter(treatment_groups=("surgery_only",)))


def test_comparison_groups_split_the_filter() -> None:
    base = TumorFilter(site_recodes=("39",), first_year=2012, last_year=2023, min_age=50)
    periods = comparison_groups(base, "period")
    assert [g.label for g in periods] == ["2012-2013", "2014-2018", "2019-2023"]
    assert all(g.stratum is None for g in periods)
    ages = comparison_groups(base, "age_band")
    assert [g.label for g in ages] == ["50-54", "55-64", "65-74", "75+"]
    assert ages[0].tumor_filter.min_age == 50 and ages[0].tumor_filter.max_age == 54
    assert ages[-1].tumor_filter.max_age is None
    stages = comparison_groups(replace(base, stage_groups=("localized", "regional")), "stage_group")
    assert [(g.label, g.stratum, g.tumor_filter.stage_groups) for g in stages] == [
        ("Localized", "localized", ("localized",)), ("Regional", "regional", ("regional",))]
    assert all(g.tumor_filter.site_recodes == ("39",) for g in stages)
    with pytest.raises(ValueError, match="comparison"):
        comparison_groups(base, "county")
