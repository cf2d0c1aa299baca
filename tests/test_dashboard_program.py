"""The Funding and workload page over the small program store (Streamlit AppTest): offered to registrars and
administrators, refused to researchers; the administrator's tables suppressed; every control; every table
downloadable; the annual report prepared, audited and offered."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry import program_statistics as ps
from registry.api import VIEW_PROGRAM_STATISTICS
from registry.audit import events
from registry.operational_store import open_operational_store
from registry.principal import Principal
from tests.dashboard_session import session_token
from tests.program_store import CORRECTED, DECIDED, RESOLVED, ProgramStore
from tests.test_dashboard_analysis_pages import numbers_back

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGE = DASHBOARD / "views" / "program_statistics.py"
TABLES = 10   # facilities, site groups, trend, recurrences, treatment (combinations, modalities), payer, residency,
#               timeliness, workload


@pytest.fixture
def store(program_store: ProgramStore) -> ProgramStore:
    return program_store


@pytest.fixture
def db(store: ProgramStore, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGISTRY_DB", str(store.db))
    return store.db


def page(role: str) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_table(at: AppTest, column: str) -> pd.DataFrame:
    """The one table of the page with column ``column``, numbers as numbers."""
    frames = [frame.value for frame in at.dataframe if column in frame.value.columns]
    assert len(frames) == 1, [list(f.value.columns) for f in at.dataframe]
    return numbers_back(frames[0].reset_index(drop=True))


def test_the_page_is_in_the_program_section() -> None:
    assert ("program_statistics", "Funding and workload", "Program", VIEW_PROGRAM_STATISTICS) in PAGE_LIST


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_navigation_offers_the_page_to_registrars_and_administrators(db: Path, role: str) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    at.run()
    if role == "researcher":
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page("views/program_statistics.py")
    else:
        at.switch_page("views/program_statistics.py").run()
        assert not at.exception and at.title[0].value == "Funding and workload"


def test_researchers_opening_the_page_file_are_refused(db: Path) -> None:
    at = page("researcher")
    assert "registry specialists and administrators only" in at.error[0].value
    assert not at.dataframe


def test_registrar_sees_every_figure_in_full(db: Path, store: ProgramStore) -> None:
    at = page("registrar")
    assert at.title[0].value == "Funding and workload"
    assert [m.value for m in at.metric] == [f"{len(store.reports):,}", "100"]
    assert len(at.dataframe) == TABLES
    assert len(at.get("download_button")) == TABLES   # every table downloadable
    payer = shown_table(at, "payer_label")
    expected = ps.payer_mix(Principal("registrar1", "registrar"), db, (2018, 2022)).table
    assert payer["count"].tolist() == expected["count"].tolist()
    timely = shown_table(at, "median_days")
    assert timely["share_6_months"].notna().all()


def test_administrator_sees_suppressed_figures(db: Path) -> None:
    at = page("administrator")
    assert len(at.dataframe) == TABLES
    facility = shown_table(at, "counted")
    counts = facility["count"]
    assert counts.isna().any() and not counts.between(1, 15).any()
    assert any("withheld" in caption.value for caption in at.caption)


def test_controls_change_the_figures(db: Path, store: ProgramStore) -> None:
    at = page("registrar")
    at.slider(key="program_years").set_value((2022, 2022)).run()
    assert not at.exception
    in_year = store.reports[store.reports["dateOfDiagnosis"].str[:4] == "2022"]
    assert at.metric[0].value == f"{len(in_year):,}"
    assert set(shown_table(at, "counted")["diagnosis_year"]) == {2022}
    at.select_slider(key="program_months").set_value((store.month, store.month)).run()
    work = shown_table(at, "activity")
    assert set(work["month"]) == {store.month} and work["count"].sum() == len(store.reports) + DECIDED + RESOLVED + CORRECTED


def test_the_annual_report_is_prepared_audited_and_offered(db: Path) -> None:
    at = page("administrator")
    at.selectbox(key="report_year").set_value(2021).run()
    assert not at.get("download_button") or "annual report" not in " ".join(
        b.label for b in at.get("download_button"))
    at.button(key="prepare_report").click().run()
    assert not at.exception
    assert "Download the annual report 2021 (PDF)" in [b.label for b in at.get("download_button")]
    audit = events(open_operational_store(db), user="administrator1", action="export", limit=1)[0]
    assert audit.detail["document"] == "annual-report" and audit.detail["year"] == 2021


def test_a_new_store_says_what_to_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.store_writes import ensure_store

    db = tmp_path / "new.duckdb"
    ensure_store(db)
    monkeypatch.setenv("REGISTRY_DB", str(db))
    at = page("administrator")
    assert "registry ingest" in at.info[0].value and not at.dataframe
