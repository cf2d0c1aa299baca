"""The data-quality page over the small certification store (Streamlit AppTest): who gets it, the scorecard and
completeness by site as `registry.certification` computes them, the year and trend controls, downloads, and the
records behind a figure for registrars (linked and audited) but not for administrators."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry.api import VIEW_DATA_QUALITY
from registry.audit import events
from registry.certification import certification, completeness_by_site
from registry.operational_store import open_operational_store
from registry.principal import Principal
from tests.certification_store import certification_store
from tests.dashboard_session import session_token

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGE = DASHBOARD / "views" / "data_quality.py"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return certification_store(tmp_path_factory.mktemp("quality-page"))


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the certification store as $REGISTRY_DB (each test its own audit trail and ledger)."""
    shutil.copytree(built.parent, tmp_path / "store")
    db = tmp_path / "store" / built.name
    monkeypatch.setenv("REGISTRY_DB", str(db))
    return db


def page(role: str, year: int | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    if year is not None:
        at.query_params["year"] = str(year)
    return at.run()


def frame(at: AppTest, position: int) -> pd.DataFrame:
    return at.dataframe[position].value


def test_the_page_is_in_the_program_section_for_its_action() -> None:
    rows = {stem: (title, section, action) for stem, title, section, action in PAGE_LIST}
    assert rows["data_quality"] == ("Data quality", "Program", VIEW_DATA_QUALITY)


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_registrars_and_administrators_get_the_page_in_navigation(db: Path, role: str) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    at.run()
    if role == "researcher":
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page("views/data_quality.py")
    else:
        at.switch_page("views/data_quality.py").run()
        assert not at.exception and at.title[0].value == "Data quality"


def test_researchers_opening_the_page_file_are_refused(db: Path) -> None:
    at = page("researcher")
    assert not at.exception
    assert "registry specialists and administrators only" in at.error[0].value
    assert not at.dataframe


def test_the_registrar_scorecard_is_the_certification(db: Path) -> None:
    at = page("registrar", 2019)
    assert not at.exception
    assert at.selectbox(key="quality_year").value == 2019
    card = frame(at, 0)
    want = certification(Principal("registrar1", "registrar", frozenset()), db, [2019]).table
    assert list(card["label"]) == list(want["label"])
    assert list(card["count"].astype(float)) == list(want["count"].astype(float))
    dco = card.set_index("label").loc["Death certificate only"]
    assert dco["shown"] == "8.3%" and dco["naaccr_gold_badge"] == "❌ fail" and dco["npcr_advanced_badge"] == ""
    assert card.set_index("label").loc["Missing age", "naaccr_gold_badge"] == "❌ fail"
    sites = frame(at, 1)
    assert list(sites["count"].astype(int)) == list(completeness_by_site(
        Principal("registrar1", "registrar", frozenset()), db, 2019).table["count"])
    labels = [b.label for b in at.get("download_button")]
    assert {"Download the scorecard (CSV)", "Download completeness by site (CSV)",
            "Download every year (CSV)"} <= set(labels)


def test_the_year_and_trend_controls(db: Path) -> None:
    at = page("registrar")
    assert at.selectbox(key="quality_year").value == 2020            # the latest year by default
    at.selectbox(key="quality_year").set_value(2018).run()
    assert at.query_params["year"] == "2018" and "Scorecard 2018" in at.subheader[0].value
    at.selectbox(key="quality_trend").set_value("dco").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert list(spec["data"][0]["x"]) == [2018, 2019, 2020]
    assert spec["data"][0]["y"][0] == pytest.approx(50.0)             # 1 DCO of 2 tumors in 2018


def test_registrars_open_the_records_behind_a_figure(db: Path) -> None:
    at = page("registrar", 2019)
    at.selectbox(key="quality_records").set_value("passing_edits").run()
    next(b for b in at.button if b.label == "Show the records").click().run()
    assert not at.exception
    rows = frame(at, 2)
    assert len(rows) == 1 and str(rows.iloc[0]["detail"]).startswith("sex-site")
    links = " ".join(m.value for m in at.markdown)
    assert f"record?patient={int(rows.iloc[0]['registry_patient_id'])}" in links and "worklist?item=" in links
    assert "Download the records (CSV)" in [b.label for b in at.get("download_button")]
    viewed = events(open_operational_store(db), user="registrar1", action="record-view")
    assert viewed[0].detail["purpose"] == "data-quality" and viewed[0].detail["criterion"] == "passing_edits"
    at.selectbox(key="quality_trend").set_value("dco").run()          # another control: shown, not fetched again
    assert len(frame(at, 2)) == 1
    assert len(events(open_operational_store(db), user="registrar1", action="record-view")) == len(viewed)
    at.selectbox(key="quality_records").set_value("dco").run()        # another figure: nothing until asked
    assert len(at.dataframe) == 2


def test_administrators_see_figures_withheld_and_no_records(db: Path) -> None:
    at = page("administrator", 2019)
    assert not at.exception
    card = frame(at, 0).set_index("label")
    assert card.loc["Death certificate only", "shown"] == "–"
    assert "withheld" in " ".join(c.value for c in at.caption)
    assert "Show the records" not in [b.label for b in at.button]
    assert not events(open_operational_store(db), action="record-view")
