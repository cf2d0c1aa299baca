"""The Users page (Streamlit AppTest): refused to registrars and researchers; for administrators every control
(add, role and grants, disable, enable, reset, forced change, sign-in history) changes the store, records an
audit event with its reason, and refuses to go on without one."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from registry import accounts
from registry.audit import AuditEvent, events, verify_chain
from registry.errors import AuthenticationError
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from tests.dashboard_session import CHEAP_HASHER, PASSWORD, session_token

PAGE = Path(__file__).resolve().parents[1] / "dashboard" / "views" / "users.py"


@pytest.fixture
def ops(db_path, monkeypatch) -> OperationalStore:
    """An operational store beside an analytic store never loaded (the page needs only accounts)."""
    monkeypatch.setenv("REGISTRY_DB", str(db_path))
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    return open_operational_store(db_path)


def page(role: str = "administrator", user: str = "boss") -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["session_token"] = session_token(role, user)
    return at.run()


def last(ops: OperationalStore, action: str) -> AuditEvent:
    return events(ops, action=action, limit=1)[0]


def choose(at: AppTest, user: str) -> AppTest:
    return at.selectbox(key="users_chosen").select(user).run()


@pytest.fixture
def at(ops) -> AppTest:
    """The page of the administrator `boss`, with the researcher `ana` to manage."""
    accounts.create_user(ops, "ana", "researcher", password=PASSWORD, display_name="Ana A.")
    shown = page()
    assert not shown.exception, shown.exception
    return choose(shown, "ana")


@pytest.mark.parametrize("role", ["registrar", "researcher"])
def test_registrars_and_researchers_are_refused(ops, role):
    at = page(role, f"{role}-user")
    assert not at.exception
    assert [e.value for e in at.error] == ["User accounts are managed by administrators."]
    assert not at.dataframe and not at.text_input and not at.selectbox


def test_administrators_see_every_account(at, ops):
    accounts.disable_user(ops, "ana", reason="left")
    at.run()
    table = at.dataframe[0].value.set_index("user")
    assert list(table.index) == ["ana", "boss"]
    assert table.loc["ana", "state"] == "disabled" and table.loc["boss", "role"] == "administrator"
    assert table.loc["ana", "display_name"] == "Ana A." and table.loc["ana", "last_sign_in"] == "never"
    assert not table.isin([PASSWORD]).any().any()


def test_add_shows_the_generated_password_once(at, ops):
    at.text_input(key="add_user").input("bob")
    at.selectbox(key="add_role").select("researcher")
    at.multiselect(key="add_grants").select("lds")
    at.text_input(key="add_reason").input("new analyst, ticket 12")
    at.button(key="add_submit").click().run()
    assert not at.exception and not at.error
    bob = accounts.get_user(ops, "bob")
    assert bob is not None and bob.role == "researcher" and bob.grants == {"lds"} and bob.must_change_password
    [secret] = [c.value for c in at.code]
    assert accounts.authenticate(ops, "bob", secret, source="test", temporary_password_ok=True).user == "bob"
    added = last(ops, "user-add")
    assert (added.user, added.detail["target"], added.detail["reason"]) == ("boss", "bob", "new analyst, ticket 12")
    assert secret not in str(added.detail)
    at.run()
    assert not at.code                                              # shown once only


def test_every_change_needs_a_reason(at, ops):
    at.text_input(key="add_user").input("bob")
    at.button(key="add_submit").click().run()
    assert any("give a reason" in e.value for e in at.error)
    assert accounts.get_user(ops, "bob") is None
    for submit in ("role_submit-ana", "state_submit-ana", "reset_submit-ana", "force_submit-ana"):
        at.button(key=submit).click().run()
        assert any("give a reason" in e.value for e in at.error), submit
    ana = accounts.get_user(ops, "ana")
    assert ana is not None and not ana.disabled and not ana.must_change_password and ana.role == "researcher"
    assert not events(ops, action="user-update") and not events(ops, action="password-reset")


def test_role_and_grants(at, ops):
    at.selectbox(key="role_role-ana").select("registrar")
    at.multiselect(key="role_grants-ana").select("lds")
    at.text_input(key="role_reason-ana").input("moved to the registry team")
    at.button(key="role_submit-ana").click().run()
    assert not at.exception and not at.error
    ana = accounts.get_user(ops, "ana")
    assert ana is not None and (ana.role, ana.grants) == ("registrar", {"lds"})
    event = last(ops, "user-update")
    assert (event.user, event.detail["role"], event.detail["grants"], event.detail["reason"]) == (
        "boss", "registrar", ["lds"], "moved to the registry team")
    assert at.dataframe[0].value.set_index("user").loc["ana", "grants"] == "lds"


def test_disable_then_enable(at, ops):
    at.text_input(key="state_reason-ana").input("on leave")
    at.button(key="state_submit-ana").click().run()
    assert not at.error and accounts.get_user(ops, "ana").disabled
    assert last(ops, "user-disable").detail["reason"] == "on leave"
    with pytest.raises(AuthenticationError):
        accounts.authenticate(ops, "ana", PASSWORD, source="test")
    assert at.button(key="state_submit-ana").label == "Enable"
    at.text_input(key="state_reason-ana").input("back from leave")
    at.button(key="state_submit-ana").click().run()
    assert not at.error and not accounts.get_user(ops, "ana").disabled
    assert last(ops, "user-enable").detail["reason"] == "back from leave"
    assert accounts.authenticate(ops, "ana", PASSWORD, source="test").user == "ana"


def test_reset_shows_the_new_temporary_password_once(at, ops):
    at.text_input(key="reset_reason-ana").input("forgot it")
    at.button(key="reset_submit-ana").click().run()
    assert not at.error
    [secret] = [c.value for c in at.code]
    assert accounts.get_user(ops, "ana").must_change_password
    with pytest.raises(AuthenticationError):
        accounts.authenticate(ops, "ana", PASSWORD, source="test")
    assert accounts.authenticate(ops, "ana", secret, source="test", temporary_password_ok=True).user == "ana"
    reset = last(ops, "password-reset")
    assert (reset.user, reset.detail["target"], reset.detail["reason"]) == ("boss", "ana", "forgot it")
    at.run()
    assert not at.code


def test_force_a_password_change(at, ops):
    ana_token = session_token("researcher", "ana")
    at.text_input(key="force_reason-ana").input("password seen in an e-mail")
    at.button(key="force_submit-ana").click().run()
    assert not at.error and accounts.get_user(ops, "ana").must_change_password
    assert at.dataframe[0].value.set_index("user").loc["ana", "must_change_password"] == "yes"
    event = last(ops, "password-change-required")
    assert (event.user, event.detail["reason"], event.detail["account"]["must_change_password"]) == (
        "boss", "password seen in an e-mail", True)
    from registry.sessions import resume_session
    assert resume_session(ops, ana_token).must_change_password       # her open session is sent to the form
    assert verify_chain(ops).ok


def test_sign_in_history(at, ops):
    for password in ("wrong password!!", PASSWORD):
        with contextlib.suppress(AuthenticationError):
            accounts.authenticate(ops, "ana", password, source="dashboard")
    at.run()
    history = at.dataframe[1].value
    assert list(history.columns) == ["attempted_at", "outcome", "source", "locked_until"]
    assert history["outcome"].tolist() == ["ok", "bad-credentials"] and set(history["source"]) == {"dashboard"}
    assert at.dataframe[0].value.set_index("user").loc["ana", "last_sign_in"] != "never"


def test_the_last_administrator_cannot_disable_or_de_role_themselves(ops):
    at = choose(page(), "boss")
    at.text_input(key="state_reason-boss").input("leaving")
    at.button(key="state_submit-boss").click().run()
    assert any("last enabled administrator" in e.value for e in at.error)
    at.selectbox(key="role_role-boss").select("registrar")
    at.text_input(key="role_reason-boss").input("leaving")
    at.button(key="role_submit-boss").click().run()
    assert any("last enabled administrator" in e.value for e in at.error)
    boss = accounts.get_user(ops, "boss")
    assert boss is not None and boss.role == "administrator" and not boss.disabled


@pytest.mark.parametrize("role", ["registrar", "researcher", "administrator"])
def test_navigation_offers_the_page_to_administrators_only(ops, role):
    at = AppTest.from_file(str(PAGE.parents[1] / "app.py"), default_timeout=60)
    at.session_state["session_token"] = session_token(role, f"nav-{role}")
    at.run()
    if role != "administrator":
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page("views/users.py")
        return
    at.switch_page("views/users.py").run()
    assert not at.exception and at.title[0].value == "Users" and at.dataframe
