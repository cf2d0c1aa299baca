"""Registry-level statistics on the shared sample store agree with the estimators run by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.analysis import (
    incidence_rates,
    incidence_trend,
    recurrence,
    recurrence_rates,
    survival,
)
from registry.cohort import NO_RECURRENCE, TumorFilter, _survival_data
from registry.principal import Principal
from registry.ratetables import DAYS_PER_YEAR
from registry.stats import (
    cumulative_incidence,
    kaplan_meier,
    recurrence_free_survival,
    recurrence_rate,
)

REGISTRAR = Principal("reg", "registrar", frozenset())
RESEARCHER = Principal("res", "researcher", frozenset())


def recurrence_events(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per tumor, recomputed in pandas from the survival extract: time (years) and event (1 first
    recurrence, 2 death without recurrence, 0 censored); the store aggregates this in SQL."""
    recurred = ~data["recurrence_type_1st"].isin(NO_RECURRENCE) & data["recurrence_date_1st"].notna()
    diagnosis = pd.to_datetime(data["diagnosis_date"])
    recurrence_days = (pd.to_datetime(data["recurrence_date_1st"]) - diagnosis).dt.days
    time_days = np.where(recurred, recurrence_days, data["time_days"])
    event = np.where(recurred, 1, np.where(data["dead"] == 1, 2, 0))
    return np.maximum(time_days, 0) / DAYS_PER_YEAR, event


pytestmark = pytest.mark.usefixtures("quiet_statistics")


@pytest.fixture(scope="module")
def db(sample_db: Path) -> Path:
    return sample_db


def test_county_rates_leave_out_unknown_counties(db: Path) -> None:
    chosen = TumorFilter(sexes=("2",), first_year=2016, last_year=2020)
    released = incidence_rates(REGISTRAR, db, chosen, by=("county_fips",))
    rates = released.table
    assert rates["county_fips"].str.startswith("20").all()
    assert (released.count("excluded_cases") or 0) >= 0 and not rates.attrs
    assert released.provenance.data_vintage is not None and released.provenance.standard == "us2000_19"
    state = incidence_rates(REGISTRAR, db, chosen).table
    assert state["count"].iloc[0] >= rates["count"].sum()


def test_trend_is_a_weighted_apc(db: Path) -> None:
    yearly, apc = incidence_trend(REGISTRAR, db, TumorFilter(site_recodes=("30",), sexes=("1", "2")))
    assert list(yearly.table["diagnosis_year"]) == list(range(2014, 2024))
    assert apc.table["apc"].iloc[0] < 0   # lung incidence falls about 2% a year in the sample


def test_survival_matches_kaplan_meier_by_hand(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("39",), stage_groups=("regional",))
    result = survival(REGISTRAR, db, chosen, times_years=[1, 5]).table
    data = _survival_data(db, chosen)
    expected = kaplan_meier(data["time_days"] / DAYS_PER_YEAR, data["dead"], times=[1, 5])
    np.testing.assert_allclose(result["survival"], expected["survival"], rtol=1e-12)
    net = survival(REGISTRAR, db, chosen, method="pohar-perme", times_years=[5]).table
    assert net["estimate"].iloc[0] > result["survival"].iloc[1]   # net survival exceeds observed
    with pytest.raises(ValueError, match="method"):
        survival(REGISTRAR, db, chosen, method="hakulinen")


def test_recurrence_competes_with_death(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("20",), stage_groups=("localized", "regional"))
    result = recurrence(REGISTRAR, db, chosen, times_years=[5]).table
    data = _survival_data(db, chosen)
    time, event = recurrence_events(data)
    assert {0, 1, 2} <= set(event)
    expected = cumulative_incidence(time, event, event_of_interest=1, times=[5])
    np.testing.assert_allclose(result["estimate"], expected["estimate"], rtol=1e-12)
    assert 0 < result["estimate"].iloc[0] < 0.5


def test_survival_by_stage_is_one_curve_per_stage(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("30",), sexes=("1", "2"))
    released = survival(REGISTRAR, db, chosen, times_years=[1, 3], by="stage_group")
    assert released.comparison == "stage_group"
    sizes = {g.group: g.patients for g in released.groups}
    assert sum(sizes.values()) == released.count("patients") == len(_survival_data(db, chosen))
    compared = released.table
    for stage in ("localized", "regional", "distant"):
        alone = survival(REGISTRAR, db, replace(chosen, stage_groups=(stage,)), times_years=[1, 3])
        part = compared[compared["group"] == stage.capitalize()]
        np.testing.assert_allclose(part["survival"], alone.table["survival"], rtol=1e-12)
        assert sizes[stage.capitalize()] == alone.count("patients")
    distant, localized = (compared[compared["group"] == g]["survival"].iloc[0] for g in ("Distant", "Localized"))
    assert distant < localized


def test_a_small_comparison_group_is_withheld_with_a_complement(db: Path) -> None:
    """Breast cancer by sex in a few counties: the handful of men is withheld, and so is the other group,
    since the overall total would otherwise give the men's number away."""
    chosen = TumorFilter(site_recodes=("39",), sexes=("1", "2"), counties=("20045", "20091", "20173"))
    registrar = survival(REGISTRAR, db, chosen, times_years=[1], by="sex")
    men = next(g for g in registrar.groups if g.group == "Male").patients
    assert men is not None and 1 <= men <= 15
    released = survival(RESEARCHER, db, chosen, times_years=[1], by="sex")
    groups = {g.group: g for g in released.groups}
    assert groups["Male"].suppressed and groups["Male"].patients is None
    assert groups["Female"].suppressed
    table = released.table
    assert table["suppressed"].all() and table["survival"].isna().all() and table["at_risk"].isna().all()
    assert "n" not in released.provenance.settings and "events" not in released.provenance.settings


def test_recurrence_free_survival_and_rates_match_the_estimators(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("20",), stage_groups=("localized", "regional"))
    data = _survival_data(db, chosen)
    time, event = recurrence_events(data)
    rfs = recurrence(REGISTRAR, db, chosen, times_years=[1, 3, 5], endpoint="recurrence_free").table
    expected = recurrence_free_survival(time, event, times=[1, 3, 5])
    np.testing.assert_allclose(rfs["estimate"], expected["estimate"], rtol=1e-12)
    rates = recurrence_rates(REGISTRAR, db, chosen).table
    by_hand = recurrence_rate(time, event, event_of_interest=1)
    np.testing.assert_allclose(rates[["events", "person_years", "rate", "lower", "upper"]].to_numpy(dtype=float),
                               by_hand[["events", "person_years", "rate", "lower", "upper"]].to_numpy(dtype=float),
                               rtol=1e-12)
    by_stage = recurrence_rates(REGISTRAR, db, chosen, by="stage_group").table
    assert list(by_stage["group"]) == ["Localized", "Regional"]
    assert by_stage["events"].sum() == rates["events"].iloc[0]
    with pytest.raises(ValueError, match="endpoint"):
        recurrence(REGISTRAR, db, chosen, endpoint="overall")


def test_recurrence_rates_withhold_small_groups_for_researchers(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("39",), sexes=("1", "2"), counties=("20045", "20091", "20173"))
    rates = recurrence_rates(RESEARCHER, db, chosen, by="sex").table
    assert rates["suppressed"].all() and rates["subjects"].isna().all() and rates["events"].isna().all()
    assert rates["person_years"].isna().all()


def test_net_survival_by_sex_equals_one_filter_per_sex(db: Path) -> None:
    """One query split on the stratum gives the curves of one filtered query per group."""
    chosen = TumorFilter(site_recodes=("30",), sexes=("1", "2"))
    compared = survival(REGISTRAR, db, chosen, method="pohar-perme", times_years=[1, 5], by="sex").table
    for code, label in (("1", "Male"), ("2", "Female")):
        alone = survival(REGISTRAR, db, replace(chosen, sexes=(code,)), method="pohar-perme",
                         times_years=[1, 5]).table
        np.testing.assert_allclose(compared.loc[compared["group"] == label, "estimate"], alone["estimate"], rtol=1e-12)


def test_trend_by_race_uses_the_race_denominators(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("30",), sexes=("1", "2"))
    yearly_release, apc_release = incidence_trend(REGISTRAR, db, chosen, by="race")
    yearly, apc = yearly_release.table, apc_release.table
    assert set(yearly["race"]) <= {"1", "2", "3", "4"} and {"1", "2"} <= set(yearly["race"])
    assert list(apc["race"]) == list(yearly["race"].drop_duplicates())
    white = incidence_rates(REGISTRAR, db, replace(chosen, races=("1",)), by=("diagnosis_year",)).table
    np.testing.assert_allclose(yearly.loc[yearly["race"] == "1", "rate"], white["rate"], rtol=1e-12)
    assert (yearly_release.count("excluded_cases") or 0) > 0   # other and unknown race have no denominator


def test_age_standardised_net_survival_from_the_store(db: Path) -> None:
    """ICSS age-standardised Pohar-Perme of a site is the estimator on the store's extract; its points are
    released on the fewest at risk in any age band."""
    from registry.ratetables import us_life_table
    from registry.stats import age_standardised_survival

    chosen = TumorFilter(site_recodes=("20",), sexes=("1", "2"))
    released = survival(REGISTRAR, db, chosen, method="pohar-perme", times_years=[1, 3, 5], age_standard="icss1")
    result = released.table
    expected = age_standardised_survival(_survival_data(db, chosen), us_life_table(), standard="icss1",
                                         times=np.array([1, 3, 5]) * DAYS_PER_YEAR)
    np.testing.assert_allclose(result["estimate"], expected["estimate"], rtol=1e-12)
    assert (result["at_risk"] < result["at_risk_total"]).all()
    assert released.provenance.standard == "icss1"
    with pytest.raises(ValueError, match="age_standard"):
        survival(REGISTRAR, db, chosen, age_standard="icss1")
    with pytest.raises(ValueError, match="age_standard"):
        survival(REGISTRAR, db, chosen, method="pohar-perme", by="age_band", age_standard="icss1")


def test_pohar_perme_says_how_many_patients_it_is_worth(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("30",), sexes=("1", "2"))
    result = survival(RESEARCHER, db, chosen, method="pohar-perme", times_years=[1, 5]).table
    shown = result[~result["suppressed"].astype(bool)] if "suppressed" in result else result
    assert len(shown) and ((shown["effective_n"] > 0) & (shown["effective_n"] <= shown["at_risk"])).all()
    assert shown["max_weight_share"].between(0, 1).all()


def test_survival_reports_the_tumors_left_out_as_age_errors(db: Path) -> None:
    """The sample's transposed birth dates make ages over 105 or ages that disagree with the coded age:
    survival leaves them out and says how many (withheld from a researcher when 1-15)."""
    from registry.cohort import _age_error_count

    everyone = TumorFilter()
    count = _age_error_count(db, everyone)
    assert count > 0
    assert survival(REGISTRAR, db, everyone, times_years=[1]).count("age_errors") == count
    released = survival(RESEARCHER, db, everyone, times_years=[1]).count("age_errors")
    assert released == (None if count < 16 else count)
