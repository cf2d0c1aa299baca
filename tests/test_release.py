"""The one release path: every public data function's result for every role holds no count of 1-15
anywhere (table, index, counts beside it, group sizes, settings, CSV text), curves show no small steps, and
counts released in one view cannot be subtracted from another's, in either order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry import analysis, certification, cohort_counts, program_statistics
from registry.cohort import TumorFilter
from registry.cohort_definition import CohortDefinition
from registry.errors import AccessDenied
from registry.principal import Principal
from registry.release import Release, thin_curve
from registry.stats import kaplan_meier
from tests.release_checks import assert_curve_hides_small_steps, assert_no_small_count

YEARS = {"first_year": 2014, "last_year": 2023}
BREAST = TumorFilter(site_recodes=("39",), sexes=("1", "2"), **YEARS)
FEMALE_BREAST = replace(BREAST, sexes=("2",))
FEW_COUNTIES = replace(BREAST, counties=("20045", "20091", "20173"))
CORPUS = TumorFilter(site_recodes=("43",), sexes=("2",), counties=("20001", "20003", "20005"))
LUNG = TumorFilter(site_recodes=("30",), sexes=("1", "2"), **YEARS)
# Breast cancers of women in three counties, narrowed group by group (nested steps, small differences).
COHORT = CohortDefinition.from_json({"name": "property cohort", "groups": [
    {"name": "Breast", "criteria": [{"kind": "site_recode", "codes": ["39"]}]},
    {"name": "Women", "criteria": [{"kind": "sex", "codes": ["2"]}]},
    {"name": "Counties", "criteria": [{"kind": "county", "codes": ["20045", "20091", "20173"]}]},
    {"name": "Not in situ", "exclude": True, "criteria": [{"kind": "behavior", "codes": ["2"]}]}]})

Call = Callable[[Principal, Path], object]
CALLS: list[tuple[str, Call]] = [
    ("case_counts corpus by county", lambda p, db: analysis.case_counts(p, db, CORPUS, by=("county_fips",))),
    ("case_totals breast by sex", lambda p, db: analysis.case_totals(p, db, BREAST, by=("sex",))),
    ("case_totals by site", lambda p, db: analysis.case_totals(p, db, replace(BREAST, site_recodes=()),
                                                             by=("site_recode",))),
    ("case_totals by site and sex", lambda p, db: analysis.case_totals(p, db, replace(BREAST, site_recodes=()),
                                                                     by=("site_recode", "sex"))),
    ("population", lambda p, db: analysis.population_counts(p, db, CORPUS)),
    ("rates by county", lambda p, db: analysis.incidence_rates(p, db, CORPUS, by=("county_fips",))),
    ("rates breast by sex", lambda p, db: analysis.incidence_rates(p, db, BREAST, by=("sex",))),
    ("rates few counties", lambda p, db: analysis.incidence_rates(p, db, FEW_COUNTIES)),
    ("age-specific", lambda p, db: analysis.age_specific(p, db, FEW_COUNTIES)),
    ("trend female breast", lambda p, db: analysis.incidence_trend(p, db, FEMALE_BREAST)),
    ("trend breast by sex", lambda p, db: analysis.incidence_trend(p, db, BREAST, by="sex")),
    ("survival breast", lambda p, db: analysis.survival(p, db, BREAST)),
    ("survival breast at times", lambda p, db: analysis.survival(p, db, BREAST, times_years=[1, 3, 5, 10])),
    ("survival breast by sex", lambda p, db: analysis.survival(p, db, BREAST, by="sex")),
    ("survival breast by sex at times", lambda p, db: analysis.survival(p, db, BREAST, by="sex",
                                                                        times_years=[1, 3, 5, 10])),
    ("survival few counties by stage", lambda p, db: analysis.survival(p, db, FEW_COUNTIES, by="stage_group")),
    ("net survival lung by sex", lambda p, db: analysis.survival(p, db, LUNG, method="pohar-perme",
                                                                 times_years=[1, 5])),
    ("recurrence breast by sex", lambda p, db: analysis.recurrence(p, db, BREAST, by="sex")),
    ("recurrence-free few counties", lambda p, db: analysis.recurrence(p, db, FEW_COUNTIES,
                                                                       endpoint="recurrence_free")),
    ("recurrence rates by sex", lambda p, db: analysis.recurrence_rates(p, db, BREAST, by="sex")),
    ("recurrence rates few counties", lambda p, db: analysis.recurrence_rates(p, db, FEW_COUNTIES)),
    ("survival extract", lambda p, db: analysis.survival_data(p, db, FEW_COUNTIES)),
    ("cohort attrition", lambda p, db: cohort_counts.cohort_attrition(p, db, COHORT)),
    ("cohort count", lambda p, db: cohort_counts.cohort_count(p, db, COHORT)),
    ("cohort by county", lambda p, db: cohort_counts.cohort_counts_by(p, db, COHORT)),
    ("cohort by facility", lambda p, db: cohort_counts.cohort_counts_by(p, db, COHORT, by="reporting_facility")),
    ("certification", lambda p, db: certification.certification(p, db)),
    ("certification completeness by site", lambda p, db: certification.completeness_by_site(p, db, 2019)),
    ("program cases by facility", lambda p, db: program_statistics.cases_by_facility(p, db, (2019, 2021))),
    ("program site groups", lambda p, db: program_statistics.site_groups_by_year(p, db, (2014, 2023))),
    ("program recurrences", lambda p, db: program_statistics.recurrences_by_site(p, db, (2020, 2020))),
    ("program treatment", lambda p, db: program_statistics.treatment_mix(p, db, (2020, 2021))),
    ("program modalities", lambda p, db: program_statistics.treatment_mix(p, db, (2020, 2021), by="modality")),
    ("program payer", lambda p, db: program_statistics.payer_mix(p, db)),
    ("program residency", lambda p, db: program_statistics.residency(p, db, (2021, 2021))),
    ("program timeliness", lambda p, db: program_statistics.timeliness(p, db, (2020, 2021))),
    ("program workload", lambda p, db: program_statistics.registrar_workload(p, db)),
]


pytestmark = pytest.mark.usefixtures("quiet_statistics")


@pytest.fixture(scope="module")
def db(sample_db: Path) -> Path:
    return sample_db


def releases(result: object) -> list[Release]:
    return list(result) if isinstance(result, tuple) else [result]  # type: ignore[list-item]


@pytest.mark.parametrize("role", ["researcher", "administrator"])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_no_release_holds_a_small_count(db: Path, role: str, order: str) -> None:
    """Every call, in two orders (the ledger sees a different history each time), for both roles."""
    principal = Principal(f"property-{role}-{order}", role, frozenset())
    calls = CALLS if order == "forward" else CALLS[::-1]
    for label, call in calls:
        try:
            result = call(principal, db)
        except AccessDenied:
            assert (role == "administrator" and (label == "survival extract" or label.startswith("cohort"))) or \
                (role == "researcher" and label.startswith(("certification", "program")))
            continue
        for release in releases(result):
            assert_no_small_count(release, f"{role} {label}")


def test_the_registrar_sees_the_small_counts_the_others_do_not(db: Path) -> None:
    """Not vacuous: the same calls give a registrar counts of 1-15 and per-time events."""
    registrar = Principal("property-registrar", "registrar", frozenset())
    by_sex = analysis.survival(registrar, db, FEW_COUNTIES, by="sex")
    assert any(g.patients is not None and 1 <= g.patients <= 15 for g in by_sex.groups)
    assert "events" in by_sex.table.columns and by_sex.provenance.settings.get("n") is not None
    counties = analysis.case_counts(registrar, db, CORPUS, by=("county_fips",)).table
    assert counties["count"].between(1, 15).any()


def _male_breast_small(db: Path) -> TumorFilter:
    """A few counties where male breast cancer is 1-15 (found with the registrar's view)."""
    registrar = Principal("property-registrar", "registrar", frozenset())
    by_county = analysis.case_totals(registrar, db, replace(BREAST, sexes=("1",)), by=("county_fips",)).table
    small = by_county[by_county["count"].between(1, 15)]["county_fips"].dropna().tolist()
    assert small, "the sample has counties with a handful of male breast cancers"
    return replace(BREAST, counties=tuple(sorted(small[:6])))


@pytest.mark.parametrize("order", ["total first", "female first"])
def test_overview_total_minus_trend_years_recovers_nobody(db: Path, order: str) -> None:
    """Breast for both sexes from the overview, the female yearly counts from the trends page: their
    difference would be the men. Whichever comes first, the second does not let it be computed."""
    chosen = _male_breast_small(db)
    principal = Principal(f"property-overview-trend-{order}", "researcher", frozenset())

    def total() -> float | None:
        table = analysis.case_totals(principal, db, chosen, by=("site_recode",)).table
        value = table["count"].iloc[0]
        return None if pd.isna(value) else float(value)

    def female_years() -> float | None:
        yearly, _ = analysis.incidence_trend(principal, db, replace(chosen, sexes=("2",)))
        counts = yearly.table["count"]
        return None if counts.isna().any() else float(counts.sum())

    first, second = (total(), female_years()) if order == "total first" else (female_years(), total())
    both, women = (first, second) if order == "total first" else (second, first)
    assert both is None or women is None or not 1 <= both - women <= 15


@pytest.mark.parametrize("order", ["overall first", "by sex first"])
def test_survival_group_sizes_and_total_cannot_be_subtracted(db: Path, order: str) -> None:
    """Survival for both sexes, then by sex (or the other way round), then recurrence rates for women:
    no released patient count minus another gives the men."""
    chosen = _male_breast_small(db)
    principal = Principal(f"property-survival-sizes-{order}", "researcher", frozenset())
    views = [lambda: analysis.survival(principal, db, chosen), lambda: analysis.survival(principal, db, chosen, by="sex"),
             lambda: analysis.recurrence_rates(principal, db, replace(chosen, sexes=("2",)))]
    if order == "by sex first":
        views = views[::-1]
    released: list[int] = []
    for view in views:
        release = view()
        released += [v for v in release.counts.values() if v is not None]
        released += [g.patients for g in release.groups if g.patients is not None]
        if "subjects" in release.table.columns:
            released += [int(v) for v in release.table["subjects"].dropna()]
    differences = {abs(a - b) for a in released for b in released}
    assert not differences & set(range(1, 16)), sorted(differences)


def test_a_withheld_group_publishes_no_point(db: Path) -> None:
    chosen = _male_breast_small(db)
    released = analysis.survival(Principal("property-withheld", "researcher", frozenset()), db, chosen, by="sex")
    men = released.table[released.table["group"] == "Male"]
    assert next(g for g in released.groups if g.group == "Male").suppressed
    assert men["suppressed"].all() and men["survival"].isna().all() and men["at_risk"].isna().all()
    assert set(men["time"]) <= set(range(1, 30))      # only the whole-year rows of the table, no event times


def test_kaplan_meier_for_researchers_hides_daily_deaths(db: Path) -> None:
    """The full-resolution curve gives every day's deaths as at_risk x (1 - S_i/S_prev); the released one
    shows a point only every 16 or more events (and at whole years), so none is 1-15."""
    registrar = analysis.survival(Principal("property-km-r", "registrar", frozenset()), db, FEMALE_BREAST).table
    with pytest.raises(AssertionError):
        assert_curve_hides_small_steps(registrar, "registrar")     # the raw curve does reveal them
    released = analysis.survival(Principal("property-km", "researcher", frozenset()), db, FEMALE_BREAST)
    assert_curve_hides_small_steps(released.table, "researcher")
    assert not {"events", "censored"} & set(released.table.columns)
    at_five = analysis.survival(Principal("property-km", "researcher", frozenset()), db, FEMALE_BREAST,
                                times_years=[5]).table
    exact = registrar[registrar["time"] <= 5]["survival"].iloc[-1]
    assert at_five["survival"].iloc[0] == pytest.approx(exact)    # whole years keep their exact estimate


def test_cumulative_incidence_steps_hold_no_small_number_of_either_event(db: Path) -> None:
    """Between two shown points of a released cumulative incidence curve, the registrar's own counts of
    recurrences and of competing deaths are each 0 or at least 16."""
    full = analysis.recurrence(Principal("property-cif-r", "registrar", frozenset()), db, FEMALE_BREAST).table
    released = analysis.recurrence(Principal("property-cif", "researcher", frozenset()), db, FEMALE_BREAST).table
    shown = released[~released["suppressed"]]["time"].to_numpy()
    assert len(shown) >= 5
    edges = np.concatenate([[-1.0], shown])
    for kind in ("events", "competing_events"):
        per_gap = [full[(full["time"] > a) & (full["time"] <= b)][kind].sum() for a, b in zip(edges, edges[1:], strict=False)]
        assert not any(1 <= n <= 15 for n in per_gap), (kind, per_gap)


def test_parameters_carry_no_counts_for_non_registrars(db: Path) -> None:
    released = analysis.survival(Principal("property-params", "researcher", frozenset()), db, FEW_COUNTIES, by="sex")
    assert "n" not in released.provenance.settings and "events" not in released.provenance.settings
    assert '"n":' not in released.to_csv() and '"events":' not in released.to_csv()


# ---- thinning, on data made here -------------------------------------------------------------------------

def _curve(deaths_per_day: list[int], censored_per_day: list[int] | None = None) -> pd.DataFrame:
    days = np.arange(1, len(deaths_per_day) + 1)
    censored = censored_per_day or [0] * len(days)
    time = np.concatenate([days, days]) / 365.241
    event = np.concatenate([np.ones(len(days)), np.zeros(len(days))])
    counts = np.concatenate([deaths_per_day, censored])
    keep = counts > 0
    return kaplan_meier(time[keep], event[keep], counts=counts[keep])


def test_thinning_shows_a_point_every_threshold_events() -> None:
    curve = _curve([3] * 200, [1] * 200)
    thinned = thin_curve(curve, estimate="survival", anchors=[])
    assert len(thinned) < len(curve) / 5
    deaths = curve.set_index("time")["events"].cumsum()
    shown = thinned["time"].to_numpy()
    steps = np.diff(np.concatenate([[0], deaths.reindex(shown).to_numpy()]))
    assert (steps >= 16).all()


def test_an_anchor_takes_the_place_of_the_last_point_or_is_withheld() -> None:
    # 20 deaths on day 10, 5 more on day 300: the one-year anchor is 5 deaths after the day-10 point,
    # so the day-10 point gives way and the anchor shows all 25.
    deaths = [0] * 400
    deaths[9], deaths[299] = 20, 5
    curve = _curve(deaths, [0] * 399 + [200])
    thinned = thin_curve(curve, estimate="survival", anchors=[1.0])
    assert list(thinned["time"]) == [1.0] and not thinned["suppressed"].any()
    # Only 5 deaths before the first anchor and nothing to merge with: the anchor is withheld.
    few = [0] * 400
    few[299] = 5
    thinned = thin_curve(_curve(few, [0] * 399 + [200]), estimate="survival", anchors=[1.0])
    assert thinned["suppressed"].all() and thinned["survival"].isna().all()
