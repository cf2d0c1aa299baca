"""The trends, survival and recurrence pages over the sample registry, for every role (Streamlit AppTest)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from registry import analysis
from registry.cohort import MALE_BREAST, TumorFilter
from registry.principal import Principal
from tests.dashboard_session import session_token

pytestmark = pytest.mark.filterwarnings("ignore::registry.stats.result.StatisticalWarning")
PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "views"
ROLES = ("registrar", "researcher", "administrator")
COUNT_COLUMNS = ("count", "at_risk", "events", "censored", "competing_events")
BOTH = ("1", "2")   # what the pages select when no sex is chosen
ALL_SITES = TumorFilter(sexes=BOTH, first_year=2014, last_year=2023)
BREAST = TumorFilter(site_recodes=("39",), sexes=("2",), first_year=2014, last_year=2023)   # female breast


@pytest.fixture
def db(sample_registry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> Path:
    path = Path(str(sample_registry["db"]))
    monkeypatch.setenv("REGISTRY_DB", str(path))
    return path


def principal(role: str) -> Principal:
    return Principal(f"{role}1", role, frozenset())


def run(page: str, role: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state["session_token"] = session_token(role)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


WORDS = {"suppressed", "–"}   # what a withheld or unavailable number cell reads


def numbers_back(frame: pd.DataFrame) -> pd.DataFrame:
    """A shown table with its number columns as numbers: a column with withheld or unavailable cells is
    sent as text (exact values and words); the words read back as NaN."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            parsed = pd.to_numeric(out[column], errors="coerce")
            if (parsed.notna() | out[column].isin(WORDS)).all():
                out[column] = parsed
    return out


def table(at: AppTest, key: str | None = None) -> pd.DataFrame:
    """The page's one table holding column ``key`` (default: the curve or yearly table), numbers as numbers."""
    keys = (key,) if key else ("time", "diagnosis_year")
    frames = [frame.value for frame in at.dataframe if any(k in frame.value.columns for k in keys)]
    assert len(frames) == 1
    return numbers_back(frames[0].reset_index(drop=True))


def assert_same(shown: pd.DataFrame, expected: pd.DataFrame, key: str, columns: list[str]) -> None:
    merged = shown.merge(expected, on=key, suffixes=("_shown", ""))
    assert len(merged) == len(expected)
    for column in columns:
        np.testing.assert_allclose(pd.to_numeric(merged[f"{column}_shown"], errors="coerce").to_numpy(dtype=float),
                                   pd.to_numeric(merged[column], errors="coerce").to_numpy(dtype=float),
                                   rtol=1e-12, equal_nan=True)


def assert_no_small_counts(at: AppTest) -> None:
    for element in at.dataframe:
        frame = numbers_back(element.value)
        hidden = frame["suppressed"].astype(bool) if "suppressed" in frame else pd.Series(False, index=frame.index)
        for column in COUNT_COLUMNS:
            if column in frame:
                values = pd.to_numeric(frame.loc[~hidden, column], errors="coerce")
                assert not values.between(1, 15).any(), (column, frame)


def test_pages_require_sign_in(db):
    for page in ("trends.py", "survival.py", "recurrence.py"):
        at = AppTest.from_file(str(PAGES / page), default_timeout=60).run()
        assert not at.exception and "sign in" in at.error[0].value


@pytest.mark.parametrize("role", ROLES)
def test_trends_page_shows_the_released_trend(db, role):
    at = run("trends.py", role)
    assert at.title[0].value == "Incidence trends"
    yearly, apc = (release.table for release in analysis.incidence_trend(principal(role), db, ALL_SITES))
    shown = table(at)
    assert_same(shown, yearly, "diagnosis_year", ["count", "rate", "lower", "upper"])
    assert shown["suppressed"].tolist() == (yearly["suppressed"].tolist() if "suppressed" in yearly
                                            else [False] * len(yearly))
    if not apc["suppressed"].iloc[0]:
        assert at.metric[0].value == f"{float(apc['apc'].iloc[0]):.2f}%"
        assert "95% CI" in at.caption[1].value and "p =" in at.caption[1].value
    else:
        assert "withheld" in at.info[0].value
    assert at.expander and at.get("download_button")
    if role != "registrar":
        assert_no_small_counts(at)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method", ["kaplan-meier", "pohar-perme", "ederer2"])
def test_survival_page_shows_the_released_estimates(db, role, method):
    at = run("survival.py", role, method=method)
    assert at.title[0].value == "Survival"
    assert at.radio(key="f_method").value == method
    expected = analysis.survival(principal(role), db, ALL_SITES, method=method, times_years=[1, 3, 5, 10]).table
    expected = expected.rename(columns={"survival": "estimate"})
    shown = table(at)
    assert shown["time"].tolist() == [1, 3, 5, 10]
    assert_same(shown, expected, "time", ["estimate", "lower", "upper", "at_risk"])
    five = float(shown.loc[shown["time"] == 5, "estimate"].iloc[0])
    assert five == pytest.approx(float(expected.loc[expected["time"] == 5, "estimate"].iloc[0]), rel=1e-12)
    if method == "kaplan-meier":
        assert at.metric[0].label == "Median survival"
    if role != "registrar":
        assert_no_small_counts(at)


@pytest.mark.parametrize("role", ["registrar", "researcher"])
def test_survival_median_matches_the_km_curve(db, role):
    from registry.stats import median_survival

    at = run("survival.py", role, stage="distant")
    distant = TumorFilter(sexes=BOTH, first_year=2014, last_year=2023, stage_groups=("distant",))
    median = float(median_survival(analysis.survival(principal("registrar"), db, distant).table)["median"])
    assert np.isfinite(median)   # distant disease reaches its median within follow-up
    assert at.metric[0].value == f"{median:.1f} years"


@pytest.mark.parametrize("role", ROLES)
def test_recurrence_page_shows_the_released_cumulative_incidence(db, role):
    at = run("recurrence.py", role)
    assert at.title[0].value == "Recurrence"
    expected = analysis.recurrence(principal(role), db, ALL_SITES, times_years=[1, 3, 5]).table
    shown = table(at)
    assert shown["time"].tolist() == [1, 3, 5]
    assert_same(shown, expected, "time", ["estimate", "lower", "upper", "at_risk"])
    if role != "registrar":
        assert_no_small_counts(at)


@pytest.mark.parametrize("role", ROLES)
def test_url_sets_the_filters(db, role):
    stage = TumorFilter(site_recodes=("39",), sexes=("2",), first_year=2016, last_year=2020, stage_groups=("localized",))
    at = run("survival.py", role, site="39", stage="localized", **{"from": "2016", "to": "2020"})
    assert at.selectbox(key="f_site").value == "39"
    assert at.selectbox(key="f_stage").value == "localized"
    assert at.slider(key="f_years").value == (2016, 2020)
    expected = analysis.survival(principal(role), db, stage, times_years=[1, 3, 5, 10]).table
    assert_same(table(at), expected.rename(columns={"survival": "estimate"}), "time", ["estimate", "at_risk"])

    at = run("trends.py", role, site="39")
    yearly = analysis.incidence_trend(principal(role), db, BREAST)[0].table
    assert_same(table(at), yearly, "diagnosis_year", ["count", "rate"])
    assert at.query_params["site"] == ["39"] or at.query_params["site"] == "39"

    at = run("recurrence.py", role, site="39", stage="regional")
    regional = TumorFilter(site_recodes=("39",), sexes=("2",), first_year=2014, last_year=2023, stage_groups=("regional",))
    expected = analysis.recurrence(principal(role), db, regional, times_years=[1, 3, 5]).table
    assert_same(table(at), expected, "time", ["estimate", "at_risk"])


def test_a_small_group_is_shown_suppressed_to_researchers(db):
    """Male breast cancer: small yearly counts are withheld from a researcher (as suppressed, not zero)."""
    params = {"site": MALE_BREAST}
    for page in ("trends.py", "survival.py", "recurrence.py"):
        at = run(page, "researcher", **params)
        assert not [s for s in at.selectbox if s.key == "f_sex"]      # the site fixes the sex
        assert any("Sex: male" in c.value for c in at.sidebar.caption)
        assert_no_small_counts(at)
        shown = table(at)
        hidden = shown[shown["suppressed"].astype(bool)]
        value = "rate" if page == "trends.py" else "estimate"
        assert hidden[value].isna().all()
        if page == "trends.py":
            assert len(hidden) > 0 and (hidden["status"] != "").all()
            assert "withheld" in at.info[0].value and not at.metric   # no APC over withheld years
            assert "Suppressed" in at.warning[0].value


def test_a_registrar_sees_the_small_group(db):
    at = run("trends.py", "registrar", site=MALE_BREAST)
    shown = table(at)
    assert not shown["suppressed"].any() and shown["count"].between(1, 15).any()


def test_too_few_years_for_a_trend_is_explained(db):
    at = run("trends.py", "registrar", **{"from": "2022", "to": "2023"})
    assert "No trend" in at.info[0].value


def chart_traces(at: AppTest) -> list[str]:
    """Names of the line traces (not interval bands) of the page's first chart."""
    import json

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [t["name"] for t in spec["data"] if not t.get("fill")]


@pytest.mark.parametrize("role", ROLES)
def test_survival_compared_by_stage_shows_one_curve_per_stage(db, role):
    lung = TumorFilter(site_recodes=("30",), sexes=BOTH, first_year=2014, last_year=2023)
    at = run("survival.py", role, site="30", compare="stage_group")
    assert at.selectbox(key="f_compare").value == "stage_group"
    release = analysis.survival(principal(role), db, lung, times_years=[1, 3, 5, 10], by="stage_group")
    expected = release.table.rename(columns={"survival": "estimate"})
    shown = table(at)
    assert_same(shown, expected, ["group", "time"], ["estimate", "lower", "upper", "at_risk"])
    released = [g.group for g in release.groups if g.patients and not g.suppressed]
    assert {"Localized", "Regional", "Distant"} <= set(released)
    assert chart_traces(at) == [g for g in released if g in set(shown["group"])]
    medians = table(at, "median")
    assert list(medians["group"]) == released
    if role != "registrar":
        assert_no_small_counts(at)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("compare", ["sex", "age_band", "period", "race"])
def test_survival_comparisons_render_for_every_role(db, role, compare):
    at = run("survival.py", role, site="39", compare=compare, method="pohar-perme")
    expected = analysis.survival(principal(role), db, BREAST, method="pohar-perme", times_years=[1, 3, 5, 10],
                                 by=compare).table
    assert_same(table(at), expected, ["group", "time"], ["estimate", "at_risk"])
    if role != "registrar":
        assert_no_small_counts(at)


@pytest.mark.parametrize("role", ROLES)
def test_recurrence_by_treatment_shows_rfs_and_rates(db, role):
    localized = TumorFilter(site_recodes=("39",), sexes=("2",), first_year=2014, last_year=2023,
                            stage_groups=("localized",))
    at = run("recurrence.py", role, site="39", stage="localized", compare="treatment_group",
             endpoint="recurrence_free")
    assert at.radio(key="f_endpoint").value == "recurrence_free"
    expected = analysis.recurrence(principal(role), db, localized, times_years=[1, 3, 5], endpoint="recurrence_free",
                                   by="treatment_group").table
    assert_same(table(at), expected, ["group", "time"], ["estimate", "lower", "upper", "at_risk"])
    rates = analysis.recurrence_rates(principal(role), db, localized, by="treatment_group").table
    assert_same(table(at, "person_years"), rates, "group", ["events", "person_years", "rate", "lower", "upper"])
    assert "Surgery + radiation" in set(table(at)["group"])
    if role != "registrar":
        assert_no_small_counts(at)


def test_race_filter_on_the_trend_page(db):
    black = TumorFilter(sexes=BOTH, races=("2",), first_year=2014, last_year=2023)
    at = run("trends.py", "registrar", race="2")
    assert at.selectbox(key="f_race").value == "2"
    yearly = analysis.incidence_trend(principal("registrar"), db, black)[0].table
    assert_same(table(at), yearly, "diagnosis_year", ["count", "rate"])


def test_captions_say_what_the_numbers_cover(db):
    at = run("survival.py", "researcher", site="39", sex="2", race="2", stage="localized")
    assert at.caption[0].value.startswith("Breast, female, Black, localized, diagnosed 2014-2023")


@pytest.mark.parametrize("role", ROLES)
def test_trends_compared_by_sex(db, role):
    lung = TumorFilter(site_recodes=("30",), sexes=BOTH, first_year=2014, last_year=2023)
    at = run("trends.py", role, site="30", compare="sex")
    yearly, apc = (release.table for release in analysis.incidence_trend(principal(role), db, lung, by="sex"))
    shown = table(at)
    assert set(shown["group"]) == {"Male", "Female"}
    expected = yearly.assign(group=yearly["sex"].map({"1": "Male", "2": "Female"}))
    assert_same(shown, expected, ["group", "diagnosis_year"], ["count", "rate", "lower", "upper"])
    apcs = table(at, "apc")
    assert list(apcs["group"]) == ["Male", "Female"]
    np.testing.assert_allclose(apcs["apc"].astype(float), apc["apc"].astype(float), rtol=1e-12, equal_nan=True)
    assert chart_traces(at) == ["Male", "Female"]
    if role != "registrar":
        assert_no_small_counts(at)


def test_trend_by_sex_protects_the_small_group_against_the_totals(db):
    """Male breast cancer is small every year: by sex, its years are withheld, and the female years with it
    (year totals are published), so neither the counts nor the female trend give the men away. The page
    reports breast for women (male breast is a site of its own), so it never offers this table."""
    both = TumorFilter(site_recodes=("39",), sexes=BOTH, first_year=2014, last_year=2023)
    yearly, apc = analysis.incidence_trend(principal("researcher"), db, both, by="sex")
    assert yearly.table["suppressed"].all() and yearly.table["count"].isna().all()
    assert apc.table["suppressed"].all()
    at = run("trends.py", "researcher", site="39", compare="sex")
    assert set(table(at)["group"]) == {"Female"}


@pytest.mark.parametrize(("page", "params"), [("trends.py", {"site": "43", "compare": "race"}),
                                              ("survival.py", {"site": "39", "compare": "stage_group"}),
                                              ("recurrence.py", {"site": "43", "compare": "stage_group"})])
def test_tables_have_labels_and_say_suppressed(db, page, params):
    """People's column labels on every table; a withheld cell reads "suppressed", never "None" or blank."""
    import pyarrow as pa

    at = run(page, "researcher", **params)
    withheld_somewhere = False
    for element in at.dataframe:
        config = json.loads(element.proto.columns)
        labels = [spec.get("label") for name, spec in config.items() if not name.startswith("_")]
        assert len(labels) == len(element.value.columns) and all(lab and "_" not in lab for lab in labels)
        assert not element.value.isna().any().any()   # an empty cell would read "None" in the browser
        numbers = [c for c in element.value.columns if pd.api.types.is_float_dtype(element.value[c])
                   or element.value[c].isin(WORDS).any()]
        if not numbers:   # a table of text (the medians)
            continue
        shown = pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_all().to_pandas()
        texts = set(shown[numbers].astype(str).to_numpy().ravel())
        assert not texts & {"None", "nan", "NaN", ""}, texts
        withheld_somewhere |= "suppressed" in texts
    assert withheld_somewhere
