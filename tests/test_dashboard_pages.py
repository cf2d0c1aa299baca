"""Overview and incidence map render for every role over the sample store and show registry.analysis numbers."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from registry import analysis
from registry.analysis import case_totals, incidence_rates
from registry.batches import store_info
from registry.cohort import TumorFilter
from registry.principal import Principal
from tests.dashboard_session import session_token

PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "views"
ROLES = ("registrar", "researcher", "administrator")
pytestmark = pytest.mark.filterwarnings("ignore::registry.stats.result.StatisticalWarning")


@pytest.fixture
def db(sample_registry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> Path:
    path = Path(str(sample_registry["db"]))
    monkeypatch.setenv("REGISTRY_DB", str(path))
    return path


def _numbers(column: pd.Series) -> pd.Series:
    """A shown column as numbers: a column with withheld cells is text ("suppressed" reads back as NaN)."""
    return pd.to_numeric(column, errors="coerce") if column.dtype == object else column


def _page(name: str, role: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=120)
    at.session_state["session_token"] = session_token(role, f"pages-{role}")
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("role", ROLES)
def test_overview_renders_for_every_role(db: Path, role: str) -> None:
    at = _page("overview.py", role)
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert [m.label for m in at.metric] == ["Tumor reports", "Registry patients", "Registry tumors",
                                            "Pending linkage reviews", "Male", "Female"]
    principal = Principal(f"pages-{role}", role, frozenset())
    facts = store_info(principal, db)
    assert [m.value for m in at.metric[:3]] == [f"{facts.tumor_reports:,}", f"{facts.patients:,}", f"{facts.tumors:,}"]
    assert facts.tumor_reports > facts.tumors > facts.patients > 0     # reports of one tumor, tumors of one person
    everyone = TumorFilter(sexes=("1", "2"), first_year=2014, last_year=2023)
    rates = incidence_rates(principal, db, everyone, by=("sex",)).table.set_index("sex")
    assert at.metric[5].value == f"{rates.loc['2', 'rate']:.1f} per 100,000"
    top = at.dataframe[0].value
    top = top.assign(**{column: _numbers(top[column]) for column in ("male", "female", "total")})
    totals = case_totals(principal, db, everyone, by=("reporting_site",)).table.set_index("reporting_site")["count"]
    assert list(top["total"]) == sorted(totals.dropna(), reverse=True)[:len(top)]
    by_sex = case_totals(principal, db, everyone, by=("reporting_site", "sex")).table.set_index(
        ["reporting_site", "sex"])["count"]
    for row in top.to_dict("records"):
        for code, column in (("1", "male"), ("2", "female")):
            expected = by_sex.get((row["reporting_site"], code), 0)   # a sex not listed has no cases
            assert (pd.isna(row[column]) and pd.isna(expected)) or row[column] == expected
    if role != "registrar":
        for column in ("male", "female", "total"):
            assert not pd.to_numeric(top[column], errors="coerce").between(1, 15).any()


@pytest.mark.parametrize("role", ROLES)
def test_map_shows_the_statistics_engine_values(db: Path, role: str) -> None:
    at = _page("incidence_map.py", role, site="39", sex="2", **{"from": "2014", "to": "2023"})
    assert not at.exception
    chosen = TumorFilter(site_recodes=("39",), sexes=("2",), first_year=2014, last_year=2023)
    expected = incidence_rates(Principal(f"pages-{role}", role, frozenset()), db, chosen, by=("county_fips",)).table
    expected = expected[expected["county_fips"].notna()].set_index("county_fips")
    shown = at.dataframe[0].value.set_index("county_fips")
    assert set(shown.index) == set(expected.index)
    np.testing.assert_allclose(_numbers(shown["rate"]), expected.loc[shown.index, "rate"].astype(float),
                               rtol=1e-9, equal_nan=True)
    by_age = at.dataframe[1].value
    first_county = at.selectbox(key="f_county").value
    expected_age = analysis.age_specific(Principal(f"pages-{role}", role, frozenset()), db,
                                         replace(chosen, counties=(first_county,))).table
    assert list(by_age["age_group"]) == list(expected_age["age_group"])
    np.testing.assert_allclose(_numbers(by_age["rate"]), expected_age["rate"].astype(float), equal_nan=True)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "http" not in json.dumps(figure["layout"].get("map", {}))
    if role != "registrar":
        counts = _numbers(shown["count"])
        assert not ((counts >= 1) & (counts <= 15)).any()


def test_map_without_sign_in_stops(db: Path) -> None:
    at = AppTest.from_file(str(PAGES / "incidence_map.py"), default_timeout=60).run()
    assert not at.exception
    assert "sign in" in at.error[0].value.lower()


def _column_labels(element: object) -> dict[str, str | None]:
    """Column name -> the label a person reads, from a shown dataframe."""
    config = json.loads(element.proto.columns)   # type: ignore[attr-defined]
    return {name: spec.get("label") for name, spec in config.items() if not name.startswith("_")}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ["overview.py", "incidence_map.py"])
def test_tables_speak_to_people(db: Path, role: str, page: str) -> None:
    """Every table has people's column labels, times are not ISO text, and a withheld cell reads
    "suppressed" (never "None" or blank) with the caption saying so."""
    at = _page(page, role, site="39", sex="2")
    assert not at.exception and at.dataframe
    for element in at.dataframe:
        labels = _column_labels(element)
        assert set(labels) == set(element.value.columns)
        assert all(label and "_" not in label for label in labels.values()), labels
        shown = pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_all().to_pandas()
        texts = set(shown.astype(str).to_numpy().ravel())
        assert not texts & {"None", "nan", "NaN", "<NA>", ""}, texts
        assert not element.value.isna().any().any()   # an empty cell would read "None" in the browser
        if role != "registrar" and page == "incidence_map.py" and element is at.dataframe[0]:
            assert "suppressed" in texts
    texts = [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert not any(re.search(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d", text) for text in texts)
    if page == "overview.py" and role != "registrar":
        assert any('"suppressed" are withheld' in text for text in texts)


def test_a_chart_csv_download_is_audited_once(db: Path) -> None:
    """The numbers behind a chart leave through the audited helper: one `download` event per click, with the
    page, the document, the file, its format and its rows."""
    from registry.audit import events
    from registry.operational_store import open_operational_store

    at = _page("overview.py", "administrator")
    ops = open_operational_store(db)
    before = len(events(ops, user="pages-administrator", action="download", limit=None))
    button = at.download_button[0]
    button.click().run()
    at.run()
    found = events(ops, user="pages-administrator", action="download", limit=None)
    assert len(found) == before + 1
    principal = Principal("pages-administrator", "administrator", frozenset())
    everyone = TumorFilter(sexes=("1", "2"), first_year=2014, last_year=2023)
    yearly = len(case_totals(principal, db, everyone, by=("diagnosis_year", "sex")).table)
    assert found[0].detail == {"page": "overview", "document": "cases-by-year-and-sex",
                               "file": "cases-by-year-and-sex.csv", "format": "csv", "rows": yearly}
