"""Dashboard sessions (Streamlit AppTest): re-checked against the account on every run, kept across a reload
by a cookie, ended by sign-out, a forced password change, deep links and filters that survive sign-in and
page changes, and page caches keyed on the whole principal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.load import ingest_file
from registry import accounts, sessions
from registry.audit import events
from registry.errors import SessionEnded
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal
from tests.conftest import naaccr_xml
from tests.dashboard_session import CHEAP_HASHER, PASSWORD, session_token

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PATIENT = {"patientIdNumber": "00000001", "sex": "2", "dateOfBirth": "19600101"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101", "behaviorCodeIcdO3": "3", "ageAtDiagnosis": "060"}


@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three breast tumors: a registrar sees the count 3, a researcher sees it withheld (ingested once)."""
    folder = tmp_path_factory.mktemp("sessions-store")
    source = folder / "a.xml"
    source.write_text(naaccr_xml([(PATIENT, [{**TUMOR, "laterality": "1"}, {**TUMOR, "laterality": "2"}]),
                                  ({**PATIENT, "patientIdNumber": "2", "dateOfBirth": "19700505"}, [TUMOR])]),
                      encoding="utf-8")
    db = folder / "data" / "registry.duckdb"
    ingest_file(source, db_path=db)
    return db


@pytest.fixture
def store(store_template: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test's own copy of the three-tumor store (its files, modes kept), named by $REGISTRY_DB."""
    shutil.copytree(store_template.parent, db_path.parent)
    monkeypatch.setenv("REGISTRY_DB", str(db_path))
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    return db_path


@pytest.fixture
def ops(store) -> OperationalStore:
    return open_operational_store(store)


def app(token: str | None = None, page: str | None = None, **query: str) -> AppTest:
    """The dashboard as a browser opens it: optionally with this tab already signed in, on a page, with a
    query string."""
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60)
    if token:
        at.session_state["session_token"] = token
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"views/{page}.py")
    return at.run()


def sign_in(at: AppTest, user: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(user)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def overview_counts(at: AppTest) -> pd.Series:
    """The site group totals the overview shows."""
    return pd.to_numeric(at.dataframe[0].value["total"], errors="coerce")   # withheld cells read "suppressed"


def test_a_disabled_account_is_signed_out_at_once_with_a_message(store, ops):
    at = app(session_token("registrar", "ana"))
    assert not at.exception and at.title[0].value == "Overview"
    accounts.disable_user(ops, "ana")
    at.run()
    assert not at.exception
    assert "session_token" not in at.session_state
    assert any("disabled" in w.value for w in at.warning)
    assert not at.dataframe                                       # nothing of the registry is shown
    assert [{k: v for k, v in e.detail.items() if k != "account"} for e in events(ops, action="user-disable")] == [
        {"target": "ana", "sessions_ended": 1}]


def test_a_changed_role_takes_effect_at_once_and_never_sees_the_old_roles_cache(store, ops):
    registrar = app(session_token("registrar", "ana"))
    assert overview_counts(registrar).tolist() == [3]
    accounts.update_user(ops, "ana", role="researcher")
    registrar.run()                                               # the same open tab
    assert registrar.sidebar.caption[0].value.endswith("(researcher)")
    assert overview_counts(registrar).isna().all()               # 3 is withheld for researchers
    other_tab = app(session_token("researcher", "ana"))
    assert overview_counts(other_tab).isna().all()


def test_page_cache_is_keyed_on_the_whole_principal(store):
    from dashboard.common import page_cache

    seen: list[Principal] = []

    @page_cache()
    def who(principal: Principal, db: Path, extra: int) -> str:
        seen.append(principal)
        return f"{principal.role}:{sorted(principal.grants)}:{extra}"

    ana = Principal("ana", "researcher")
    ana_lds = Principal("ana", "researcher", frozenset({"lds"}))
    assert who(ana, store, 1) == "researcher:[]:1"
    assert who(ana_lds, store, 1) == "researcher:['lds']:1"
    assert who(Principal("ana", "registrar"), store, 1) == "registrar:[]:1"
    assert who(ana, store, 1) == "researcher:[]:1" and who(ana, store, 2) == "researcher:[]:2"
    assert len(seen) == 4                                         # the repeat came from the cache


def test_a_reload_stays_signed_in_through_the_cookie_until_sign_out(store, ops, monkeypatch):
    accounts.create_user(ops, "ana", "registrar", password=PASSWORD)
    at = sign_in(app(), "ana")
    assert not at.exception
    token = at.session_state["session_token"]
    assert token not in str(dict(at.query_params))                 # never in the URL
    cookie_script = at.get("html")[0].proto.body
    assert "oncoregistry_session=" + token in cookie_script and "SameSite=Strict" in cookie_script
    at.sidebar.button[0].click().run()                             # Sign out before any reload
    assert "Max-Age=0" in at.get("html")[0].proto.body             # clears the cookie this tab set
    at = sign_in(at, "ana")
    token = at.session_state["session_token"]

    import dashboard.session
    monkeypatch.setattr(dashboard.session, "browser_token", lambda: token)
    reloaded = app()                                               # new tab state, the browser's cookie
    assert not reloaded.exception and reloaded.title[0].value == "Overview"
    assert not reloaded.get("html")                                # the cookie is already right
    reloaded.sidebar.button[0].click().run()                       # Sign out
    assert not reloaded.exception and "session_token" not in reloaded.session_state
    assert reloaded.title[0].value == "Sign in to Oncoregistry"
    signed_out = events(ops, action="sign-out")
    assert len(signed_out) == 2
    assert (signed_out[0].user, signed_out[0].role, signed_out[0].detail) == ("ana", "registrar",
                                                                              {"reason": "signed-out"})
    with pytest.raises(SessionEnded):
        sessions.resume_session(ops, token)
    again = app()                                                  # a stale cookie signs nobody in
    assert again.title[0].value == "Sign in to Oncoregistry" and "session_token" not in again.session_state
    assert "Max-Age=0" in again.get("html")[0].proto.body          # and is cleared


def test_a_forged_cookie_signs_nobody_in(store, ops, monkeypatch):
    import dashboard.session

    token = session_token("registrar", "ana")
    monkeypatch.setattr(dashboard.session, "browser_token", lambda: token[:-1] + ("0" if token[-1] != "0" else "1"))
    at = app()
    assert at.title[0].value == "Sign in to Oncoregistry" and not at.dataframe


def test_a_deep_link_opened_before_sign_in_lands_on_its_page_with_its_filters(store, ops):
    accounts.create_user(ops, "ana", "registrar", password=PASSWORD)
    at = app(page="survival", site="39", sex="2", method="ederer2")
    assert not at.exception
    assert any(t.value == "Sign in to Oncoregistry" for t in at.title)
    assert "Page not found" not in str(at)
    sign_in(at, "ana")
    assert not at.exception
    assert at.title[0].value == "Survival"
    assert at.selectbox(key="f_site").value == "39"
    assert any(c.value.startswith("Sex: female") for c in at.sidebar.caption)   # breast is reported for women
    assert at.radio(key="f_method").value == "ederer2"


def test_filters_follow_the_user_from_page_to_page(store):
    at = app(session_token("registrar", "ana"), page="trends")
    at.selectbox(key="f_site").select("39").run()
    at.slider(key="f_years").set_range(2016, 2021).run()
    assert at.query_params["site"] == "39"
    at.query_params.clear()                                        # a click in the page menu drops the query string
    at.switch_page("views/survival.py").run()
    assert not at.exception and at.title[0].value == "Survival"
    assert at.selectbox(key="f_site").value == "39"
    assert at.slider(key="f_years").value == (2016, 2021)
    assert at.query_params["site"] == "39"                         # and the URL shares them again


def test_a_user_who_must_change_their_password_gets_only_that_page(store, ops):
    accounts.create_user(ops, "ana", "registrar", password=PASSWORD)
    temporary = accounts.reset_password(ops, "ana")
    at = sign_in(app(page="trends", site="39"), "ana", temporary)
    assert not at.exception
    assert "Change your password" in [t.value for t in at.title] and not at.dataframe
    with pytest.raises(ValueError, match="navigation page"):      # no way around it: no other page is routed
        at.switch_page("views/overview.py")
    at.run()
    assert "Change your password" in [t.value for t in at.title] and not at.dataframe
    at.text_input[0].input(temporary)
    at.text_input[1].input("my own long password")
    at.text_input[2].input("my own long password")
    at.button[0].click().run()
    assert not at.exception
    assert not accounts.get_user(ops, "ana").must_change_password
    assert at.title[0].value == "Incidence trends"                 # the page the link asked for
    assert accounts.authenticate(ops, "ana", "my own long password", source="test").user == "ana"
