"""The administrator's main flows in a real browser (Playwright driving Debian's chromium): a registrar's burst of
record views raises a breach alert; the administrator contains the account from the alert, builds the breach
report and downloads its CSV, searches the audit trail for the views and verifies its chain, forces another
user's password change (that user then gets only the change-password page until it is done), and opens the
funding and data-quality pages. Skipped when chromium is not installed (CI installs it: ``.ci/run``)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dashboard.session import COOKIE
from tests.test_browser import ARTIFACTS, CHROMIUM, _local_only, registry_server

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
VIEWS = 3                         # the record-views threshold for this store: one view of each registry patient
CONTAIN_REASON = "burst of record views outside any work item"
FORCE_REASON = "password seen on a shared screen"
NEW_PASSWORD = "a-researcher-chose-this-one"


@pytest.fixture(scope="module")
def administration_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`registry serve` over the two hospitals' store with the demo accounts, once the registrar has opened
    every patient's record with the record-views threshold lowered to that many views (an alert is open), and
    holds a dashboard session of its own."""
    from registry.accounts import ensure_demo_accounts
    from registry.breach import OFF_HOURS, RECORD_VIEWS, alerts, set_rule
    from registry.operational_store import open_operational_store
    from registry.principal import Principal
    from registry.record_view import patient_record
    from registry.sessions import start_session
    from registry.store import read_connection
    from tests.registry_reports import two_hospitals_store

    db = two_hospitals_store(tmp_path_factory.mktemp("administration-browser"))
    ops = open_operational_store(db)
    ensure_demo_accounts(ops)
    administrator, registrar = Principal("administrator", "administrator"), Principal("registrar", "registrar")
    set_rule(administrator, ops, RECORD_VIEWS, views=VIEWS)
    set_rule(administrator, ops, OFF_HOURS, enabled=False)   # the alert is the burst's, whatever the hour
    with read_connection(db) as con:
        patients = [int(r[0]) for r in con.execute("SELECT patient_id FROM registry_patient ORDER BY 1").fetchall()]
    assert len(patients) == VIEWS
    for patient in patients:
        patient_record(registrar, db, ops, patient_id=patient)
    [alert] = alerts(administrator, ops, status="open")
    assert (alert.rule, alert.user, alert.event_count) == (RECORD_VIEWS, "registrar", VIEWS)
    token = start_session(ops, registrar, source="dashboard")
    with registry_server(db) as url:
        yield url, db, patients, token


def _sign_in(page: Any, server: str, user: str, password: str) -> None:
    page.goto(server, wait_until="networkidle")
    page.get_by_role("textbox", name="User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _form(page: Any, text: str) -> Any:
    """The form that holds `text` (a button or a field label)."""
    return page.locator("[data-testid='stForm']").filter(has_text=text)


def test_administrator_contains_reports_audits_forces_a_password_change_and_reads_the_program_pages(
        administration_server: tuple[str, Path, list[int], str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from registry.accounts import get_user
    from registry.breach import alerts
    from registry.operational_store import open_operational_store
    from registry.principal import Principal
    from registry.sessions import session_row, stored_session_id

    server, db, patients, registrar_token = administration_server
    ops = open_operational_store(db)
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1200})
        _local_only(page, outside)
        _sign_in(page, server, "administrator", "demo-administrator")

        # The alert, contained in one action.
        page.get_by_role("link", name="Breach alerts").click()
        page.get_by_role("heading", name="Open alerts").wait_for(timeout=60_000)
        expect(page.get_by_role("combobox", name="Alert")).to_have_value("1: record-views, registrar",
                                                                         timeout=60_000)
        contain = _form(page, "Why contain registrar")
        contain.get_by_role("textbox", name="Why contain registrar").fill(CONTAIN_REASON)
        contain.get_by_role("button", name="Contain registrar: disable and end sessions").click()
        page.get_by_text("registrar is disabled and signed out everywhere").wait_for(timeout=60_000)
        page.get_by_text("No open alert.").wait_for(timeout=60_000)
        page.get_by_role("heading", name="Acknowledged and contained").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "15-breach-contained.png"), full_page=True)
        registrar = get_user(ops, "registrar")
        assert registrar is not None and registrar.disabled
        assert [(a.status, a.note) for a in alerts(Principal("administrator", "administrator"), ops)] == [
            ("contained", CONTAIN_REASON)]
        with ops.connect() as con:
            session = session_row(con, str(stored_session_id(ops, registrar_token)))
        assert session is not None and session["revoked_reason"] == "account-disabled"

        # The breach report of the registrar from the start of today (UTC, when the views happened), as CSV.
        report = _form(page, "Build the report")
        report.get_by_role("textbox", name="User").fill("registrar")
        today = datetime.now(UTC).date()
        for part, value in (("year", f"{today.year}"), ("month", f"{today.month:02d}"), ("day", f"{today.day:02d}")):
            report.get_by_role("spinbutton", name=f"{part}, From (UTC, start of day)").fill(value)
        report.get_by_role("button", name="Build the report").click()
        page.get_by_text(f"{VIEWS} audit events, {VIEWS} rows, {VIEWS} registry patients").wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download the report (CSV)").click()
        rows = pd.read_csv(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert list(rows["action"]) == ["record-view"] * VIEWS
        assert sorted(rows["patient_id"]) == patients

        # The audit trail: the registrar's record views, and the chain intact.
        page.get_by_role("link", name="Audit trail").click()
        page.get_by_role("heading", name="Audit trail").wait_for(timeout=60_000)
        page.get_by_role("textbox", name="User").fill("registrar")
        page.get_by_role("textbox", name="User").press("Enter")
        page.get_by_role("combobox", name="Action").click()
        page.keyboard.type("record-view")
        page.keyboard.press("Enter")
        page.get_by_text(f"{VIEWS} events.").wait_for(timeout=60_000)
        page.get_by_role("button", name="Verify the chain").click()
        page.get_by_text("The audit trail is intact").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "16-audit-trail.png"), full_page=True)

        # Users: the researcher must change the password before anything else.
        page.get_by_role("link", name="Users").click()
        page.get_by_role("heading", name="Change an account").wait_for(timeout=60_000)
        page.get_by_role("combobox", name="Account").click()
        page.keyboard.type("researcher")
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Sign-in history of researcher").wait_for(timeout=60_000)
        force = _form(page, "Force a password change")
        force.get_by_role("textbox", name="Reason").fill(FORCE_REASON)
        force.get_by_role("button", name="Force a password change").click()
        page.get_by_text("researcher must change the password before going on").wait_for(timeout=60_000)
        researcher = get_user(ops, "researcher")
        assert researcher is not None and researcher.must_change_password

        other = browser.new_context(viewport={"width": 1400, "height": 1000})
        user_page = other.new_page()
        _local_only(user_page, outside)
        _sign_in(user_page, server, "researcher", "demo-researcher")
        user_page.get_by_role("heading", name="Change your password").wait_for(timeout=60_000)
        assert user_page.get_by_role("link", name="Overview").count() == 0
        # the page's script keeps the session in a cookie; a reload before it ran would be signed out
        user_page.wait_for_function(f"document.cookie.includes('{COOKIE}=')", timeout=60_000)
        user_page.goto(f"{server}/overview", wait_until="networkidle")   # a bookmark: still only the form
        user_page.get_by_role("heading", name="Change your password").wait_for(timeout=60_000)
        assert user_page.get_by_text("Page not found").count() == 0
        assert user_page.get_by_role("heading", name="Most frequent site groups").count() == 0
        assert user_page.get_by_role("link", name="Incidence map").count() == 0
        user_page.screenshot(path=str(ARTIFACTS / "17-forced-password-change.png"), full_page=True)
        user_page.get_by_role("textbox", name="Current password").fill("demo-researcher")
        user_page.get_by_role("textbox", name="New password (at least").fill(NEW_PASSWORD)
        user_page.get_by_role("textbox", name="New password again").fill(NEW_PASSWORD)
        user_page.get_by_role("button", name="Change password").click()
        user_page.get_by_role("heading", name="Overview", exact=True).wait_for(timeout=60_000)
        user_page.get_by_role("heading", name="Most frequent site groups").wait_for(timeout=60_000)
        researcher = get_user(ops, "researcher")
        assert researcher is not None and not researcher.must_change_password
        other.close()

        # The program pages render their title and a table.
        for link, title in (("Funding and workload", "Funding and workload"), ("Data quality", "Data quality")):
            page.get_by_role("link", name=link).click()
            page.get_by_role("heading", name=title).wait_for(timeout=60_000)
            page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
            assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(ARTIFACTS / "18-data-quality.png"), full_page=True)
        browser.close()
    assert outside == [], f"requests left localhost: {outside[:5]}"
