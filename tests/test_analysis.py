"""Registry-level statistics on the shared sample store agree with the estimators run by hand."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from registry.analysis import incidence_rates, incidence_trend, recurrence, recurrence_events, survival
from registry.cohort import TumorFilter, _survival_data
from registry.principal import Principal
from registry.ratetables import DAYS_PER_YEAR
from registry.stats import StatisticalWarning, cumulative_incidence, kaplan_meier, provenance

REGISTRAR = Principal("reg", "registrar", frozenset())


@pytest.fixture(scope="module")
def db(sample_registry: dict[str, object]) -> Path:
    return Path(str(sample_registry["db"]))


@pytest.fixture(autouse=True)
def _quiet() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        yield


def test_county_rates_leave_out_unknown_counties(db: Path) -> None:
    chosen = TumorFilter(sexes=("2",), first_year=2016, last_year=2020)
    rates = incidence_rates(REGISTRAR, db, chosen, by=("county_fips",))
    assert rates["county_fips"].str.startswith("20").all()
    assert rates.attrs["excluded_cases"] >= 0
    assert provenance(rates)["data_vintage"] is not None and provenance(rates)["standard"] == "us2000_19"
    state = incidence_rates(REGISTRAR, db, chosen)
    assert state["count"].iloc[0] >= rates["count"].sum()


def test_trend_is_a_weighted_apc(db: Path) -> None:
    yearly, apc = incidence_trend(REGISTRAR, db, TumorFilter(site_recodes=("30",), sexes=("1", "2")))
    assert list(yearly["diagnosis_year"]) == list(range(2014, 2024))
    assert apc["apc"].iloc[0] < 0   # lung incidence falls about 2% a year in the sample


def test_survival_matches_kaplan_meier_by_hand(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("39",), stage_groups=("regional",))
    result = survival(REGISTRAR, db, chosen, times_years=[1, 5])
    data = _survival_data(db, chosen)
    expected = kaplan_meier(data["time_days"] / DAYS_PER_YEAR, data["dead"], times=[1, 5])
    np.testing.assert_allclose(result["survival"], expected["survival"], rtol=1e-12)
    net = survival(REGISTRAR, db, chosen, method="pohar-perme", times_years=[5])
    assert net["estimate"].iloc[0] > result["survival"].iloc[1]   # net survival exceeds observed
    with pytest.raises(ValueError, match="method"):
        survival(REGISTRAR, db, chosen, method="hakulinen")


def test_recurrence_competes_with_death(db: Path) -> None:
    chosen = TumorFilter(site_recodes=("20",), stage_groups=("localized", "regional"))
    result = recurrence(REGISTRAR, db, chosen, times_years=[5])
    data = _survival_data(db, chosen)
    time, event = recurrence_events(data)
    assert {0, 1, 2} <= set(event)
    expected = cumulative_incidence(time, event, event_of_interest=1, times=[5])
    np.testing.assert_allclose(result["estimate"], expected["estimate"], rtol=1e-12)
    assert 0 < result["estimate"].iloc[0] < 0.5
