"""Survival on small stores: every method compared by every comparison (each group's curve carries the same
columns, also a group with no patients) and the survival page for every role, including the ICSS
age-standardised option and a net survival above 1."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.load import ingest_file
from registry import analysis
from registry.cohort import COMPARISONS, TumorFilter
from registry.principal import Principal
from registry.stats import StatisticalWarning
from tests.dashboard_session import session_token

PAGE = Path(__file__).resolve().parents[1] / "dashboard" / "views" / "survival.py"
ROLES = ("registrar", "researcher", "administrator")
METHODS = ("kaplan-meier", "pohar-perme", "ederer2")
YEARS = TumorFilter(first_year=2015, last_year=2022)


def small_registry() -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """60 lung and colon patients: localized, regional and distant stage (no in situ, so that group is
    empty), both sexes, ages 30-89, diagnosed 2015-2022, some treated by surgery or radiation."""
    patients = []
    for i in range(60):
        year, age = 2015 + i % 8, 30 + (i * 7) % 60
        dead = i % 3 == 0
        patient = {"patientIdNumber": f"{i + 1:08d}", "sex": "1" if i % 2 else "2", "race1": ("01", "02", "04")[i % 3],
                   "dateOfBirth": f"{year - age}0{1 + i % 9}1{i % 9}", "vitalStatus": "0" if dead else "1",
                   "dateOfLastContact": f"{min(year + 1 + i % 5, 2024)}0{1 + i % 9}20"}
        tumor = {"tumorRecordNumber": "01", "primarySite": "C341" if i % 2 else "C187", "histologicTypeIcdO3": "8140",
                 "behaviorCodeIcdO3": "3", "dateOfDiagnosis": f"{year}0{1 + i % 9}15", "addrAtDxState": "KS",
                 "countyAtDx": "045", "summaryStage2018": ("1", "2", "7")[i % 3], "typeOfReportingSource": "1",
                 "rxSummSurgPrimSite": "30" if i % 4 == 0 else "00", "rxSummRadiation": "1" if i % 5 == 0 else "0"}
        patients.append((patient, [tumor]))
    return patients


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import naaccr_xml

    root = tmp_path_factory.mktemp("small")
    path = root / "small.xml"
    path.write_text(naaccr_xml(small_registry()), encoding="utf-8")
    db = root / "registry.duckdb"
    assert ingest_file(path, db_path=db).status == "loaded"
    return db


@pytest.fixture(autouse=True)
def _quiet() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        yield


@pytest.mark.parametrize("by", list(COMPARISONS))
@pytest.mark.parametrize("method", METHODS)
def test_every_group_has_the_same_columns(small_store: Path, by: str, method: str) -> None:
    """A group without patients (in situ stage, a treatment nobody had) has the other groups' columns,
    so the stacked table has one estimate column."""
    for role in ROLES:
        for times in ([1, 3, 5], None):
            released = analysis.survival(Principal(f"{role}1", role, frozenset()), small_store, YEARS, method=method,
                                         times_years=times, by=by)
            curves = released.table
            assert curves.columns.is_unique
            estimates = {"survival", "estimate"} & set(curves.columns)
            assert estimates == ({"survival"} if method == "kaplan-meier" else {"estimate"}), curves.columns
            assert set(curves["group"]) >= {g.group for g in released.groups if g.patients}


@pytest.mark.parametrize(("role", "method"), [("registrar", "pohar-perme"), ("registrar", "ederer2"),
                                            ("researcher", "pohar-perme"), ("administrator", "ederer2")])
def test_survival_page_renders_every_comparison(small_store: Path, monkeypatch: pytest.MonkeyPatch, role: str,
                                                method: str) -> None:
    monkeypatch.setenv("REGISTRY_DB", str(small_store))
    for by in COMPARISONS:
        at = AppTest.from_file(str(PAGE), default_timeout=60)
        at.session_state["session_token"] = session_token(role)
        at.query_params["method"] = method
        at.query_params["compare"] = by
        at.query_params["from"] = "2015"
        at.query_params["to"] = "2022"
        at.run()
        assert not at.exception, (by, [e.value for e in at.exception])


@pytest.mark.parametrize("role", ROLES)
def test_survival_page_offers_the_age_standardised_estimate(small_store: Path, monkeypatch: pytest.MonkeyPatch,
                                                           role: str) -> None:
    """The ICSS option shows the standardised estimates analysis gives, names the standard and its weights,
    and explains a point it cannot compute; compared by age band it says why not."""
    monkeypatch.setenv("REGISTRY_DB", str(small_store))
    who = Principal(f"{role}1", role, frozenset())
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["session_token"] = session_token(role)
    at.query_params.update({"method": "pohar-perme-icss", "from": "2015", "to": "2022"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    expected = analysis.survival(who, small_store, TumorFilter(sexes=("1", "2"), first_year=2015, last_year=2022),
                                 method="pohar-perme", times_years=[1, 3, 5, 10], age_standard="icss1").table
    shown = next(frame.value for frame in at.dataframe if "time" in frame.value.columns)
    np.testing.assert_allclose(pd.to_numeric(shown["estimate"], errors="coerce"), expected["estimate"], equal_nan=True)
    text = " ".join(str(m.value) for m in at.markdown)
    assert "International Cancer Survival Standard 1" in text and "45-54 0.12" in text
    if not expected["estimate"].isna().all() and expected["estimate"].isna().any():
        assert any("not computable" in str(w.value) for w in at.warning)
    by_age = AppTest.from_file(str(PAGE), default_timeout=60)
    by_age.session_state["session_token"] = session_token(role)
    by_age.query_params.update({"method": "pohar-perme-icss", "compare": "age_band"})
    by_age.run()
    assert not by_age.exception and "not compared by age band" in by_age.info[0].value


def centenarians_alive_ten_years_on() -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """40 patients aged 40 (half die within 6 years) and 6 aged 100 still alive 10 years later: their
    Pohar-Perme weights (1/S*, in the thousands) carry the 10-year estimate above 1."""
    patients = []
    for i in range(46):
        old, dead = i >= 40, i < 20
        patient = {"patientIdNumber": f"{i + 1:08d}", "sex": "2", "race1": "01",
                   "dateOfBirth": "19130610" if old else "19730610", "vitalStatus": "0" if dead else "1",
                   "dateOfLastContact": f"20{15 + i % 6}0301" if dead else "20240630"}
        tumor = {"tumorRecordNumber": "01", "primarySite": "C187", "histologicTypeIcdO3": "8140",
                 "behaviorCodeIcdO3": "3", "dateOfDiagnosis": "20140115", "addrAtDxState": "KS", "countyAtDx": "045",
                 "summaryStage2018": "2", "typeOfReportingSource": "1", "ageAtDiagnosis": "100" if old else "040"}
        patients.append((patient, [tumor]))
    return patients


@pytest.mark.parametrize("role", ["registrar", "researcher"])
def test_survival_page_explains_a_net_survival_above_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        role: str) -> None:
    from tests.conftest import naaccr_xml

    path = tmp_path / "old.xml"
    path.write_text(naaccr_xml(centenarians_alive_ten_years_on()), encoding="utf-8")
    db = tmp_path / "registry.duckdb"
    assert ingest_file(path, db_path=db).status == "loaded"
    monkeypatch.setenv("REGISTRY_DB", str(db))
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["session_token"] = session_token(role)
    at.query_params.update({"method": "pohar-perme", "from": "2014", "to": "2014"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = next(frame.value for frame in at.dataframe if "time" in frame.value.columns)
    ten = shown[shown["time"] == 10].iloc[0]
    if role == "researcher":   # only 3 deaths after 5 years: the released curve withholds the later points
        assert pd.isna(pd.to_numeric(ten["estimate"], errors="coerce"))
        return
    assert ten["estimate"] > 1 and ten["effective_n"] < 20
    notes = [str(w.value) for w in at.warning]
    assert any(note.startswith("Net survival above 1 at") and f"10 years: {ten['estimate']:.3f}" in note
               for note in notes)
    assert any(note.startswith("Unstable") and "10 years: worth 6 equally weighted patients" in note for note in notes)
