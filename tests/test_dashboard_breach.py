"""The breach alerts page (Streamlit AppTest) for every role: administrators read alerts with their evidence,
acknowledge one, contain an account in one action, set the rules' thresholds and build the breach report;
registrars and researchers are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST
from registry import breach
from registry.access import VIEW_AUDIT_TRAIL
from registry.audit import events, record_event
from registry.errors import SessionEnded
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.record_view import patient_record
from registry.sessions import resume_session
from registry.store import read_connection
from tests.dashboard_session import session_token
from tests.registry_reports import two_hospitals_store

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGE = DASHBOARD / "views" / "breach_alerts.py"
ADMIN = Principal("administrator1", "administrator")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hospitals_store(tmp_path_factory.mktemp("breach-page"))


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the store per test; $REGISTRY_DB."""
    shutil.copytree(built.parent, tmp_path / "store")
    path = tmp_path / "store" / built.name
    monkeypatch.setenv("REGISTRY_DB", str(path))
    return path


def page(role: str = "administrator") -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    return at.run()


def button(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label.startswith(label)).click().run()


def refused_five_times(db: Path, user: str) -> breach.Alert:
    ops = open_operational_store(db)
    for _ in range(5):
        record_event(ops, user, "access-refused", action="record-view")
    [alert] = breach.alerts(ADMIN, ops, status="open", user=user)
    return alert


def test_the_page_is_in_the_administration_section() -> None:
    rows = {stem: (title, section, action) for stem, title, section, action in PAGE_LIST}
    assert rows["breach_alerts"] == ("Breach alerts", "Administration", VIEW_AUDIT_TRAIL)


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_navigation_offers_the_page_to_administrators_only(db: Path, role: str) -> None:
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120)
    at.session_state["session_token"] = session_token(role)
    at.run()
    if role == "administrator":
        at.switch_page("views/breach_alerts.py").run()
        assert not at.exception and at.title[0].value == "Breach alerts"
    else:
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page("views/breach_alerts.py")


@pytest.mark.parametrize("role", ["registrar", "researcher"])
def test_other_roles_opening_the_page_file_are_refused(db: Path, role: str) -> None:
    refused_five_times(db, "someone")
    at = page(role)
    assert not at.exception and "read by administrators" in at.error[0].value
    assert not at.dataframe and [b.label for b in at.button] == ["Sign out"] and not at.get("download_button")


def test_an_alert_is_shown_with_its_evidence_and_acknowledged(db: Path) -> None:
    at = page()
    assert not at.exception and "No open alert" in at.info[0].value
    alert = refused_five_times(db, "someone")
    at.run()
    shown = at.dataframe[0].value
    assert list(shown["alert_id"]) == [alert.alert_id] and list(shown["rule"]) == [breach.REFUSALS]
    assert '"threshold": 5' in at.code[0].value
    at.text_input(key=f"ack-note-{alert.alert_id}").input("a page misconfigured for a day")
    at = button(at, "Acknowledge")
    assert not at.exception and f"Alert {alert.alert_id} acknowledged" in at.success[0].value
    assert "No open alert" in at.info[0].value
    assert list(at.dataframe[0].value["status"]) == ["acknowledged"]
    [done] = events(open_operational_store(db), action="breach-alert-acknowledged")
    assert done.detail["note"] == "a page misconfigured for a day"


def test_containment_needs_a_reason_and_ends_the_users_session(db: Path) -> None:
    token = session_token("registrar")
    alert = refused_five_times(db, "registrar1")
    at = page()
    at = button(at, "Contain registrar1")
    assert "needs a reason" in at.error[0].value
    at.text_area(key=f"contain-reason-{alert.alert_id}").input("probing records it may not read")
    at = button(at, "Contain registrar1")
    assert not at.exception and "registrar1 is disabled and signed out everywhere" in at.success[0].value
    with pytest.raises(SessionEnded):
        resume_session(open_operational_store(db), token)
    assert list(at.dataframe[0].value["status"]) == ["contained"]


def test_an_administrator_sets_a_threshold_and_a_bad_one_is_named(db: Path) -> None:
    at = page()
    at.number_input(key="rule-refusals-refusals").set_value(3)
    at = button(at, "Save refusals")
    assert not at.exception and "refusals 3" in at.success[0].value
    assert breach.rules(open_operational_store(db))[breach.REFUSALS]["refusals"] == 3
    at.text_input(key="rule-off-hours-time_zone").input("Mars/Olympus")
    at = button(at, "Save off-hours")
    assert "not a time zone" in at.error[0].value


def test_the_breach_report_lists_the_records_a_user_opened_and_downloads(db: Path) -> None:
    session_token("registrar")
    with read_connection(db) as con:
        patient = int(con.execute("SELECT min(patient_id) FROM registry_patient").fetchall()[0][0])
    patient_record(Principal("registrar1", "registrar"), db, open_operational_store(db), patient_id=patient)
    at = page()
    at.text_input(key="report_user").input("registrar1")
    at = button(at, "Build the report")
    assert not at.exception
    rows = at.dataframe[-1].value
    assert list(rows["patient_id"]) == [patient] and list(rows["how"]) == ["record-view (record)"]
    assert list(rows["name_last"]) == ["WHITFIELD"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download the report (CSV)", "Download the report (PDF)"]
    assert events(open_operational_store(db), action="breach-report")[0].detail["target"] == "registrar1"
