"""A user who must change their password reaches no page before doing so: every page of the dashboard's page
list, opened on its own (by address, before the router ran) or through the router, shows only the
change-password form; an administrator's flag takes effect in an open session at its next page run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.page_list import PAGE_LIST, PAGES
from pipelines.load import ingest_file
from registry import accounts, sessions
from registry.access import allowed
from registry.audit import events, verify_chain
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import ROLES, Principal
from tests.conftest import naaccr_xml
from tests.dashboard_session import CHEAP_HASHER, PASSWORD, session_token

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PATIENT = {"patientIdNumber": "00000001", "sex": "2", "dateOfBirth": "19600101"}
TUMOR = {"primarySite": "C509", "dateOfDiagnosis": "20200101", "behaviorCodeIcdO3": "3", "ageAtDiagnosis": "060"}
NEW_PASSWORD = "a password of my own choosing"
BOSS = Principal("boss", "administrator")
# What the change-password page is made of (and the script keeping the session cookie); anything else in the
# page's main area is the page's content.
FORM_ELEMENTS = {"title", "warning", "text_input", "button", "html"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One small registry for the module (each test signs in under its own user name)."""
    folder = tmp_path_factory.mktemp("password-change")
    source = folder / "a.xml"
    source.write_text(naaccr_xml([(PATIENT, [TUMOR])]), encoding="utf-8")
    db = folder / "registry.duckdb"
    ingest_file(source, db_path=db)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGISTRY_DB", str(db))
        patch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
        yield db


@pytest.fixture
def ops(store) -> OperationalStore:
    return open_operational_store(store)


def _role_for(action: str) -> str:
    """A role the access table lets use the page (the first of registrar, researcher, administrator)."""
    return next(role for role in ROLES if allowed(Principal("someone", role), action))


def _main_elements(node: Any) -> set[str]:
    """The kinds of element in a block and the blocks inside it (forms, columns, expanders)."""
    kinds: set[str] = set()
    for child in getattr(node, "children", {}).values():
        kinds |= _main_elements(child) if getattr(child, "children", None) is not None else {child.type}
    return kinds


def _assert_only_the_change_password_form(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Change your password"]
    assert _main_elements(at.main) <= FORM_ELEMENTS, _main_elements(at.main) - FORM_ELEMENTS
    assert [b.label for b in at.main.button] == ["Change password"]
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert not at.dataframe and not at.metric
    assert all("document.cookie" in html.proto.body for html in at.get("html"))


def _change_password(at: AppTest, current: str = PASSWORD) -> AppTest:
    at.text_input[0].input(current)
    at.text_input[1].input(NEW_PASSWORD)
    at.text_input[2].input(NEW_PASSWORD)
    return at.button[0].click().run()


def test_the_page_list_names_existing_pages():
    assert all((PAGES / f"{stem}.py").is_file() for stem, *_ in PAGE_LIST)


@pytest.mark.parametrize("stem,title,action", [(stem, title, action) for stem, title, _, action in PAGE_LIST],
                         ids=[stem for stem, *_ in PAGE_LIST])
def test_a_flagged_user_opening_any_page_by_address_gets_only_the_form(store, ops, stem, title, action):
    role, user = _role_for(action), f"ana-{stem}"
    token = session_token(role, user)
    accounts.require_password_change(ops, user, reason="suspected disclosure", actor=BOSS)
    at = AppTest.from_file(str(PAGES / f"{stem}.py"), default_timeout=60)
    at.session_state["session_token"] = token
    _assert_only_the_change_password_form(at.run())
    _assert_only_the_change_password_form(at.run())                 # and again: nothing but the form
    at = _change_password(at)
    assert not at.exception, at.exception
    assert not accounts.get_user(ops, user).must_change_password
    if stem == "change_password":
        assert [s.value for s in at.success] == ["Your password was changed; your other sessions were signed out."]
    else:
        assert at.title and "Change your password" not in [t.value for t in at.title], title
    assert sessions.resume_session(ops, token).principal.role == role      # the session it was changed in stays


@pytest.mark.parametrize("stem", [stem for stem, *_ in PAGE_LIST])
def test_a_flagged_user_going_through_the_router_gets_only_the_form(store, ops, stem):
    token = session_token("administrator", f"bob-{stem}")
    accounts.require_password_change(ops, f"bob-{stem}", reason="policy", actor=BOSS)
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60)
    at.session_state["session_token"] = token
    at.switch_page(f"views/{stem}.py")
    _assert_only_the_change_password_form(at.run())


def test_a_flag_set_during_an_open_session_takes_effect_at_the_next_page_run(store, ops):
    token = session_token("registrar", "carla")
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60)
    at.session_state["session_token"] = token
    at.run()
    assert at.title[0].value == "Overview" and at.dataframe
    accounts.require_password_change(ops, "carla", reason="password seen on a screen share", actor=BOSS)
    _assert_only_the_change_password_form(at.run())                 # the same open tab, its next run
    assert at.session_state["session_token"] == token                # not signed out: sent to the form
    at = _change_password(at)
    assert not at.exception and at.title[0].value == "Overview" and at.dataframe
    [flagged] = [e for e in events(ops, action="password-change-required", limit=None)
                 if e.detail["target"] == "carla"]
    assert (flagged.user, flagged.detail["reason"], flagged.detail["account"]["must_change_password"]) == (
        "boss", "password seen on a screen share", True)
    assert events(ops, user="carla", action="password-change")[0].detail["sessions_ended"] == 0
    assert verify_chain(ops).ok


@pytest.fixture
def identity_provider(monkeypatch) -> Iterator[None]:
    """The registry's identity provider signed `lee@example.org` in, with claims mapping to the registrar role."""
    import streamlit

    import dashboard.session

    monkeypatch.setattr(dashboard.session, "identity_provider_configured", lambda: True)
    monkeypatch.setattr(streamlit, "user", type("User", (), {"is_logged_in": True})())
    monkeypatch.setattr(dashboard.session, "_claims_principal",
                        lambda: ("lee@example.org", Principal("lee@example.org", "registrar")))
    yield


def test_the_identity_provider_follows_a_local_account_of_the_same_name(store, ops, identity_provider):
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception and at.title[0].value == "Overview"     # signed in through the provider
    session_token("registrar", "lee@example.org")                    # a local account of that name
    accounts.require_password_change(ops, "lee@example.org", reason="shared password", actor=BOSS)
    at.run()                                                         # the open tab's next run
    assert not at.exception and not at.dataframe
    assert at.title[0].value == "Sign in to Oncoregistry"
    assert any("must first change its password" in w.value for w in at.warning)
    assert any("must first change its password" in e.value for e in at.error)   # and a new sign-in is refused
    ended = events(ops, user="lee@example.org", action="sign-out", limit=1)[0]
    refused = events(ops, user="lee@example.org", action="sign-in-failed", limit=1)[0]
    assert ended.detail["source"] == refused.detail["source"] == "oidc"
    assert "must first change its password" in refused.detail["reason"]
    accounts.set_password(ops, "lee@example.org", "a password of the administrator", actor=BOSS, reason="cleared")
    at.run()
    assert not at.exception and at.title[0].value == "Overview"
