"""Account management by administrators: reasons in the audit trail, a forced password change (enforced for
sign-in from the command and the API too), sign-in history, the last administrator kept; and the
`registry users` commands for them."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry import accounts
from registry.accounts import (
    authenticate,
    create_user,
    disable_user,
    enable_user,
    get_user,
    require_password_change,
    reset_password,
    set_password,
    sign_in_history,
    update_user,
)
from registry.audit import events, verify_chain
from registry.errors import AccountError, AuthenticationError, PasswordChangeRequired
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.sessions import resume_session, start_session
from registry_cli.app import app
from tests.dashboard_session import CHEAP_HASHER

PASSWORD = "correct horse battery"
BOSS = Principal("boss", "administrator")


@pytest.fixture
def ops(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> OperationalStore:
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    return open_operational_store(db_path)


def _detail(ops: OperationalStore, action: str) -> dict[str, object]:
    """The last event of `action` without the account state it carries."""
    return {k: v for k, v in events(ops, action=action, limit=1)[0].detail.items() if k != "account"}


def test_every_change_records_its_reason(ops):
    create_user(ops, "ana", "researcher", password=PASSWORD, actor=BOSS, reason="  new analyst ")
    assert _detail(ops, "user-add")["reason"] == "new analyst"          # trimmed
    update_user(ops, "ana", grants=["lds"], actor=BOSS, reason="data use agreement 7")
    assert _detail(ops, "user-update") == {"target": "ana", "grants": ["lds"], "reason": "data use agreement 7"}
    disable_user(ops, "ana", actor=BOSS, reason="on leave")
    assert _detail(ops, "user-disable")["reason"] == "on leave"
    enable_user(ops, "ana", actor=BOSS, reason="back")
    assert _detail(ops, "user-enable") == {"target": "ana", "reason": "back"}
    reset_password(ops, "ana", actor=BOSS, reason="forgot it")
    assert _detail(ops, "password-reset")["reason"] == "forgot it"
    set_password(ops, "ana", PASSWORD, actor=BOSS, reason="set over the phone")
    assert _detail(ops, "password-set")["reason"] == "set over the phone"
    require_password_change(ops, "ana", actor=BOSS, reason="password seen on a screen")
    assert _detail(ops, "password-change-required") == {"target": "ana", "must_change_password": True,
                                                        "reason": "password seen on a screen"}
    create_user(ops, "bob", "researcher", password=PASSWORD)
    assert "reason" not in _detail(ops, "user-add")                    # none given, none recorded
    assert verify_chain(ops).ok


def test_a_forced_change_keeps_open_sessions_but_sends_them_to_the_form(ops):
    create_user(ops, "ana", "registrar", password=PASSWORD)
    token = start_session(ops, authenticate(ops, "ana", PASSWORD, source="test"), source="test")
    require_password_change(ops, "ana", reason="policy", actor=BOSS)
    assert get_user(ops, "ana").must_change_password
    active = resume_session(ops, token)
    assert active.must_change_password and active.principal.user == "ana"
    [event] = events(ops, action="password-change-required")
    assert (event.user, event.role, event.detail["account"]["must_change_password"]) == ("boss", "administrator",
                                                                                         True)
    assert verify_chain(ops).ok                                         # the chain's account state follows it
    accounts.change_password(ops, "ana", PASSWORD, "my own new password", source="test", keep_session=token)
    assert not resume_session(ops, token).must_change_password
    with pytest.raises(AccountError, match="no user"):
        require_password_change(ops, "nobody", reason="x", actor=BOSS)
    with pytest.raises(AccountError, match="only administrators"):
        require_password_change(ops, "ana", reason="x", actor=Principal("reg", "registrar"))


def test_a_flagged_account_is_refused_outside_the_dashboard_and_the_refusal_locks_nothing(ops):
    create_user(ops, "ana", "registrar", password=PASSWORD)
    require_password_change(ops, "ana", reason="policy", actor=BOSS)
    for _ in range(7):                                                  # more than the lockout's 5 failures
        with pytest.raises(PasswordChangeRequired, match="Change password page"):
            authenticate(ops, "ana", PASSWORD, source="cli")
    [refused, *_] = events(ops, action="sign-in-failed")
    assert (refused.user, refused.detail) == ("ana", {"source": "cli", "reason": "must-change-password"})
    assert not events(ops, action="sign-in")
    with pytest.raises(AuthenticationError) as wrong:                   # a wrong password says nothing more
        authenticate(ops, "ana", "not her password", source="cli")
    assert not isinstance(wrong.value, PasswordChangeRequired)
    assert authenticate(ops, "ana", PASSWORD, source="dashboard", temporary_password_ok=True).user == "ana"
    assert accounts.locked_until(ops, "ana") is None


def test_the_last_enabled_administrator_is_kept(ops):
    create_user(ops, "boss", "administrator", password=PASSWORD)
    for change in (lambda: disable_user(ops, "boss", actor=BOSS, reason="x"),
                   lambda: update_user(ops, "boss", role="registrar", actor=BOSS, reason="x"),
                   lambda: disable_user(ops, "boss", reason="x")):               # the console too
        with pytest.raises(AccountError, match="last enabled administrator"):
            change()
    assert get_user(ops, "boss").role == "administrator" and not get_user(ops, "boss").disabled
    update_user(ops, "boss", grants=["lds"], actor=BOSS, reason="grants only")   # other changes go through
    create_user(ops, "ada", "administrator", password=PASSWORD)
    disable_user(ops, "ada", reason="away")
    with pytest.raises(AccountError, match="last enabled administrator"):       # a disabled one does not count
        disable_user(ops, "boss", actor=BOSS, reason="x")
    enable_user(ops, "ada", reason="back")
    update_user(ops, "boss", role="registrar", actor=BOSS, reason="handed over")
    assert get_user(ops, "boss").role == "registrar"
    with pytest.raises(AccountError, match="'ada' is the last enabled administrator"):
        disable_user(ops, "ada", actor=Principal("ada", "administrator"), reason="x")


def test_sign_in_history_newest_first(ops):
    create_user(ops, "ana", "registrar", password=PASSWORD)
    for password, source in (("wrong password 1", "cli"), (PASSWORD, "dashboard"), ("wrong password 2", "cli")):
        with contextlib.suppress(AuthenticationError):
            authenticate(ops, "ANA", password, source=source)
    reset_password(ops, "ana", actor=BOSS, reason="locked out")
    history = sign_in_history(ops, "ana", actor=BOSS)
    assert [(a.outcome, a.source) for a in history] == [("unlocked", "reset by boss"), ("bad-credentials", "cli"),
                                                        ("ok", "dashboard"), ("bad-credentials", "cli")]
    assert history[0].attempted_at >= history[-1].attempted_at
    assert [a.outcome for a in sign_in_history(ops, "ana", 2)] == ["unlocked", "bad-credentials"]
    assert sign_in_history(ops, "nobody") == []
    with pytest.raises(AccountError, match="only administrators"):
        sign_in_history(ops, "ana", actor=Principal("rex", "researcher"))


# ---- the command ------------------------------------------------------------------------------------------

def run(*args: str, password: str = PASSWORD):
    return CliRunner(env={"COLUMNS": "200", "REGISTRY_PASSWORD": password}).invoke(app, list(args))


def test_cli_reasons_force_change_history_enable_and_set_role(ops, db_path):
    db = str(db_path)
    create_user(ops, "admin", "administrator", password=PASSWORD)
    added = run("users", "add", "ana", "--role", "researcher", "--reason", "new analyst", "--db", db)
    assert added.exit_code == 0, added.output
    assert _detail(ops, "user-add")["reason"] == "new analyst"
    set_role = run("users", "set-role", "ana", "--role", "registrar", "--grant", "lds", "--reason", "team", "--db", db)
    assert set_role.exit_code == 0, set_role.output
    assert "now registrar with lds" in set_role.output
    assert (get_user(ops, "ana").role, get_user(ops, "ana").grants) == ("registrar", {"lds"})
    assert _detail(ops, "user-update")["reason"] == "team"
    assert run("users", "disable", "ana", "--reason", "on leave", "--db", db).exit_code == 0
    assert _detail(ops, "user-disable")["reason"] == "on leave"
    assert run("users", "enable", "ana", "--reason", "back", "--db", db).exit_code == 0
    assert not get_user(ops, "ana").disabled and _detail(ops, "user-enable")["reason"] == "back"
    reset = run("users", "reset-password", "ana", "--reason", "forgot it", "--db", db)
    assert reset.exit_code == 0 and _detail(ops, "password-reset")["reason"] == "forgot it"
    passwd = CliRunner().invoke(app, ["users", "passwd", "ana", "--stdin", "--reason", "by phone", "--db", db],
                                input=f"{PASSWORD}\n")
    assert passwd.exit_code == 0, passwd.output
    assert _detail(ops, "password-set")["reason"] == "by phone"

    listed = run("cohort", "list", "--user", "ana", "--db", db)
    assert listed.exit_code == 0, listed.output
    forced = run("users", "force-change", "ANA", "--reason", "password seen", "--db", db)
    assert forced.exit_code == 0 and "must change the password" in forced.output
    assert get_user(ops, "ana").must_change_password
    assert _detail(ops, "password-change-required")["reason"] == "password seen"
    refused = run("cohort", "list", "--user", "ana", "--db", db)        # the command signs a flagged user in no more
    assert refused.exit_code == 2 and "Change password page" in refused.output
    assert run("users", "force-change", "nobody", "--db", db).exit_code == 2

    history = run("users", "history", "ana", "--db", db)
    assert history.exit_code == 0, history.output
    lines = [line for line in history.output.splitlines() if " cli " in f" {line} "]
    assert len(lines) == 2 and all(" ok " in line for line in lines)   # both with the right password
    assert history.output.index(" ok ") < history.output.index("set by console") < history.output.index(
        "reset by console")                                           # newest first
    last_admin = run("users", "disable", "admin", "--reason", "x", "--db", db)
    assert last_admin.exit_code == 2 and "last enabled administrator" in last_admin.output
    assert verify_chain(ops).ok
