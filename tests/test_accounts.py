"""Accounts: argon2id hashes, sign-in with lockout, one audit event per sign-in, user management, the
operational store's location and the `registry users` commands."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from registry import accounts
from registry.accounts import (
    DEFAULT_LOCKOUT,
    DEMO_ACCOUNTS,
    LockoutPolicy,
    authenticate,
    change_password,
    create_user,
    disable_user,
    enable_user,
    ensure_demo_accounts,
    ensure_initial_administrator,
    get_user,
    list_users,
    locked_until,
    reset_password,
    set_password,
    update_user,
)
from registry.audit import chain_head, events, verify_chain
from registry.audit_seal import head_path, key_path
from registry.errors import (
    AccountError,
    AuthenticationError,
    PasswordChangeRequired,
    PasswordPolicyError,
    RegistryError,
    SessionEnded,
)
from registry.operational import OperationalStore, list_definitions, ops_path_for, save_definition
from registry.operational_store import open_operational_store
from registry.principal import GRANTS, ROLES, Principal
from registry.sessions import SessionPolicy, end_session, resume_session, session_key_path, start_session
from registry_cli.app import app

runner = CliRunner(env={"COLUMNS": "250"})
PASSWORD = "correct horse battery"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """argon2id with minimal cost: the production parameters take about 0.4 s a hash here."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", hasher)
    return hasher


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ops(db_path: Path, clock: FakeClock) -> OperationalStore:
    return open_operational_store(db_path, clock=clock)


def _stored_hash(ops: OperationalStore, user: str) -> str:
    with ops.connect() as con:
        return str(con.execute("SELECT password_hash FROM account WHERE user_key = lower(?)", [user]).fetchone()[0])


def _event_count(ops: OperationalStore) -> int:
    return len(events(ops, limit=None))


# ---- the store ----------------------------------------------------------------------------------------

def test_operational_store_lives_beside_the_analytic_store(tmp_path, monkeypatch):
    assert ops_path_for(Path("data/registry.duckdb")) == Path("data/registry.ops.sqlite")
    monkeypatch.setenv("REGISTRY_DB", str(tmp_path / "x" / "demo.duckdb"))
    ops = open_operational_store()
    assert ops.path == tmp_path / "x" / "demo.ops.sqlite" and ops.path.exists()
    with ops.connect() as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] > 0
        assert [r[0] for r in con.execute("SELECT number FROM schema_migration")] == [1, 2, 3, 4, 5, 6, 7, 8]
    open_operational_store()        # reopening applies nothing twice
    with ops.connect() as con:
        assert con.execute("SELECT count(*) FROM schema_migration").fetchone()[0] == 8


def test_saved_definitions_round_trip(ops):
    save_definition(ops, "Ana", "cohort", "breast 2020", {"site": ["C50"], "years": [2020]})
    save_definition(ops, "ana", "cohort", "breast 2020", {"site": ["C50"], "years": [2021]})   # replaces
    [saved] = list_definitions(ops, "ANA", "cohort")
    assert saved.body == {"site": ["C50"], "years": [2021]} and saved.owner == "Ana"


# ---- principal ----------------------------------------------------------------------------------------

def test_principal_is_small_frozen_and_checks_its_role():
    p = Principal("ana", "researcher", frozenset({"lds"}))
    assert p.has_grant("lds") and not p.has_grant("other")
    assert p.role == "researcher"
    assert Principal("reg", "registrar").role == "registrar"
    assert Principal("x", "researcher", ["lds"]).grants == frozenset({"lds"})  # type: ignore[arg-type]
    with pytest.raises(FrozenInstanceError):
        p.role = "administrator"  # type: ignore[misc]
    with pytest.raises(ValueError):
        Principal("x", "superuser")
    assert ROLES == ("registrar", "researcher", "administrator") and "lds" in GRANTS


# ---- creating, signing in, disabling, resetting -------------------------------------------------------

def test_create_and_authenticate(ops):
    generated = create_user(ops, "Ana", "researcher", grants=["lds"])
    assert len(generated) >= 16
    with pytest.raises(PasswordChangeRequired):                         # a temporary password does nothing
        authenticate(ops, "ana", generated, source="test")
    principal = authenticate(ops, "ANA", generated, source="test", temporary_password_ok=True)   # case-insensitive
    assert principal == Principal("Ana", "researcher", frozenset({"lds"}))
    assert get_user(ops, "ana").must_change_password               # a generated password is temporary
    assert create_user(ops, "reg", "registrar", password=PASSWORD) == PASSWORD
    assert not get_user(ops, "reg").must_change_password
    assert authenticate(ops, "reg", PASSWORD, source="test").role == "registrar"
    assert _stored_hash(ops, "reg").startswith("$argon2id$")


def test_create_refuses_duplicates_bad_roles_grants_names_and_weak_passwords(ops):
    create_user(ops, "Ana", "researcher")
    with pytest.raises(AccountError, match="already exists"):
        create_user(ops, "ANA", "registrar")
    with pytest.raises(AccountError, match="unknown role"):
        create_user(ops, "bob", "superuser")
    with pytest.raises(AccountError, match="unknown grant"):
        create_user(ops, "bob", "researcher", grants=["everything"])
    for name in ("", " bob", "bob\n", "console:bob", "a\x00b"):
        with pytest.raises(AccountError):
            create_user(ops, name, "researcher")
    with pytest.raises(PasswordPolicyError) as caught:
        create_user(ops, "bob", "researcher", password="short-pw")
    assert "short-pw" not in str(caught.value)
    assert [a.user for a in list_users(ops)] == ["Ana"]


def test_only_administrators_manage_users(ops):
    with pytest.raises(AccountError, match="only administrators"):
        create_user(ops, "bob", "researcher", actor=Principal("reg", "registrar"))
    create_user(ops, "bob", "researcher", actor=Principal("boss", "administrator"))
    [event] = events(ops, action="user-add")
    assert (event.user, event.role, event.detail["target"]) == ("boss", "administrator", "bob")


def test_list_users_never_returns_hashes(ops):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    [account] = list_users(ops)
    assert "hash" not in " ".join(f.name for f in fields(account))
    assert _stored_hash(ops, "ana") not in repr(account)


def test_disable_and_enable(ops):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    disable_user(ops, "ANA")
    assert get_user(ops, "ana").disabled
    with pytest.raises(AuthenticationError) as disabled:
        authenticate(ops, "ana", PASSWORD, source="test")
    with pytest.raises(AuthenticationError) as unknown:
        authenticate(ops, "nobody", PASSWORD, source="test")
    assert str(disabled.value) == str(unknown.value)
    enable_user(ops, "ana")
    assert authenticate(ops, "ana", PASSWORD, source="test").user == "ana"
    assert [e.action for e in events(ops, user="system")][:2] == ["user-enable", "user-disable"]


def test_reset_and_change_password(ops):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    new = reset_password(ops, "ana")
    assert len(new) >= 16 and new != PASSWORD
    with pytest.raises(AuthenticationError):
        authenticate(ops, "ana", PASSWORD, source="test")
    authenticate(ops, "ana", new, source="test", temporary_password_ok=True)
    assert get_user(ops, "ana").must_change_password
    with pytest.raises(AuthenticationError):
        change_password(ops, "ana", "not the password", "another long password")
    with pytest.raises(PasswordPolicyError):
        change_password(ops, "ana", new, "short")
    change_password(ops, "ana", new, "another long password", source="test")
    assert not get_user(ops, "ana").must_change_password
    assert authenticate(ops, "ana", "another long password", source="test")
    with pytest.raises(AccountError, match="no user"):
        reset_password(ops, "nobody")


def test_update_user(ops):
    create_user(ops, "ana", "researcher")
    account = update_user(ops, "ana", grants=["lds"], display_name="Ana A.")
    assert account.grants == frozenset({"lds"}) and account.role == "researcher" and account.display_name == "Ana A."
    assert update_user(ops, "ana", role="registrar").grants == frozenset({"lds"})


def test_wrong_password_message_and_logs_hold_no_secret_and_do_not_reveal_the_user(ops, caplog):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    stored = _stored_hash(ops, "ana")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as wrong:
        authenticate(ops, "ana", "guess-Secret-123", source="test")
    with pytest.raises(AuthenticationError) as unknown:
        authenticate(ops, "nobody", "guess-Secret-123", source="test")
    assert str(wrong.value) == str(unknown.value)
    for text in (str(wrong.value), repr(wrong.value), caplog.text):
        for secret in ("guess-Secret-123", PASSWORD, stored, stored.split("$")[-1]):
            assert secret not in text
    assert "ana" in caplog.text            # the log says who failed, not with what
    with ops.connect() as con:
        dump = "\n".join(con.iterdump())
    assert "guess-Secret-123" not in dump and PASSWORD not in dump


def test_rehash_when_parameters_change(ops, monkeypatch):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    assert "t=1," in _stored_hash(ops, "ana")
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=2, memory_cost=8, parallelism=1))
    authenticate(ops, "ana", PASSWORD, source="test")
    assert "t=2," in _stored_hash(ops, "ana")
    assert events(ops, action="sign-in")[0].detail["rehashed"] is True
    authenticate(ops, "ana", PASSWORD, source="test")
    assert "rehashed" not in events(ops, action="sign-in")[0].detail


# ---- lockout ------------------------------------------------------------------------------------------

def _fail(ops: OperationalStore, user: str, times: int = 1, **kwargs: object) -> AuthenticationError:
    error = None
    for _ in range(times):
        with pytest.raises(AuthenticationError) as caught:
            authenticate(ops, user, "wrong password!", source="test", **kwargs)  # type: ignore[arg-type]
        error = caught.value
    assert error is not None
    return error


def test_lockout_after_five_failures_and_release_after_the_window(ops, clock):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    assert _fail(ops, "ana", 4).locked_until is None
    clock.advance(minutes=1)
    fifth = _fail(ops, "ana")
    assert fifth.locked_until == clock.now + timedelta(minutes=15)
    assert "too many failed attempts" in str(fifth)
    assert locked_until(ops, "ana") == fifth.locked_until
    clock.advance(minutes=14)
    with pytest.raises(AuthenticationError) as locked:        # even the right password, while locked
        authenticate(ops, "ana", PASSWORD, source="test")
    assert locked.value.locked_until == fifth.locked_until     # attempts while locked do not extend it
    clock.advance(minutes=1, seconds=1)
    assert locked_until(ops, "ana") is None
    assert authenticate(ops, "ana", PASSWORD, source="test").user == "ana"
    assert _fail(ops, "ana").locked_until is None              # the count starts afresh after release


def test_failures_outside_the_window_or_before_a_success_do_not_lock(ops, clock):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    _fail(ops, "ana", 4)
    clock.advance(minutes=16)
    assert _fail(ops, "ana").locked_until is None
    authenticate(ops, "ana", PASSWORD, source="test")
    assert _fail(ops, "ana", 4).locked_until is None


def test_lockout_policy_is_configurable_and_unknown_names_lock_alike(ops, clock):
    policy = LockoutPolicy(max_failures=3, window=timedelta(minutes=5), duration=timedelta(hours=1))
    create_user(ops, "ana", "researcher", password=PASSWORD)
    known = _fail(ops, "ana", 3, policy=policy)
    unknown = _fail(ops, "ghost", 3, policy=policy)
    assert known.locked_until == unknown.locked_until == clock.now + timedelta(hours=1)
    assert str(known) == str(unknown)


def test_password_reset_lifts_a_lockout(ops, clock):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    _fail(ops, "ana", 5)
    clock.advance(seconds=1)
    new = reset_password(ops, "ana")
    assert authenticate(ops, "ana", new, source="test", temporary_password_ok=True).user == "ana"


# ---- audit of sign-ins and user management ------------------------------------------------------------

def test_each_sign_in_writes_exactly_one_audit_event(ops, clock):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    create_user(ops, "off", "registrar", password=PASSWORD)
    disable_user(ops, "off")
    cases = [("ana", PASSWORD, "sign-in", None), ("ana", "wrong password!", "sign-in-failed", "wrong-password"),
             ("ghost", PASSWORD, "sign-in-failed", "unknown-user"), ("off", PASSWORD, "sign-in-failed", "disabled")]
    for user, password, action, reason in cases:
        before = _event_count(ops)
        with contextlib.suppress(AuthenticationError):
            authenticate(ops, user, password, source="10.0.0.7")
        after = events(ops, limit=None)
        assert len(after) == before + 1
        assert (after[0].user, after[0].action, after[0].detail.get("reason")) == (user, action, reason)
        assert after[0].detail["source"] == "10.0.0.7"
    _fail(ops, "ana", 5)
    before = _event_count(ops)
    _fail(ops, "ana")                                            # refused while locked: still one event
    assert _event_count(ops) == before + 1 and events(ops)[0].detail["reason"] == "locked"
    signed_in = events(ops, action="sign-in")[0]
    assert signed_in.role == "researcher"
    assert verify_chain(ops).ok


def test_sql_injection_strings_as_user_names_are_stored_literally(ops):
    names = ["x'; DROP TABLE account; --", "' OR '1'='1", 'bob"); DELETE FROM audit_event; --',
             "admin'--", "%", "_"]
    for name in names:
        create_user(ops, name, "researcher", password=PASSWORD)
    assert sorted(a.user for a in list_users(ops)) == sorted(names)
    for name in names:
        assert authenticate(ops, name, PASSWORD, source="test").user == name
        assert [(e.user, e.action) for e in events(ops, user=name)] == [(name, "sign-in")]
    with pytest.raises(AuthenticationError):
        authenticate(ops, "' OR '1'='1", "' OR '1'='1", source="test")
    with pytest.raises(AccountError):
        disable_user(ops, "' OR 1=1 --")
    assert not any(a.disabled for a in list_users(ops))
    with ops.connect() as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"account", "audit_event", "sign_in_attempt", "saved_definition"} <= tables
    assert verify_chain(ops).ok


# ---- dashboard sessions -------------------------------------------------------------------------------

def _session(ops: OperationalStore, user: str = "ana", role: str = "registrar") -> str:
    if get_user(ops, user) is None:
        create_user(ops, user, role, password=PASSWORD)
    return start_session(ops, authenticate(ops, user, PASSWORD, source="test", temporary_password_ok=True),
                         source="test")


def test_a_session_follows_its_account_role_and_grants_at_once(ops):
    token = _session(ops)
    assert resume_session(ops, token).principal == Principal("ana", "registrar")
    update_user(ops, "ana", role="researcher", grants=["lds"])
    active = resume_session(ops, token)
    assert active.principal == Principal("ana", "researcher", frozenset({"lds"}))
    assert not active.must_change_password


def test_disabling_an_account_ends_its_sessions_at_once(ops):
    token = _session(ops)
    other = start_session(ops, Principal("ana", "registrar"), source="second browser")
    disable_user(ops, "ana")
    for each in (token, other):
        with pytest.raises(SessionEnded, match="disabled") as ended:
            resume_session(ops, each)
        assert ended.value.reason == "account-disabled"
    assert events(ops, action="user-disable")[0].detail["sessions_ended"] == 2
    enable_user(ops, "ana")
    with pytest.raises(SessionEnded):                       # enabling again does not revive old sessions
        resume_session(ops, token)


def test_sign_out_revokes_the_session_and_is_audited(ops):
    token = _session(ops)
    assert end_session(ops, token)
    with pytest.raises(SessionEnded, match="was signed out"):
        resume_session(ops, token)
    assert not end_session(ops, token)                       # once only
    [event] = events(ops, action="sign-out")
    assert (event.user, event.role, event.detail) == ("ana", "registrar", {"reason": "signed-out"})
    assert verify_chain(ops).ok


def test_sessions_expire_when_idle_and_at_their_absolute_limit(ops, clock):
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=2))
    token = _session(ops)
    for _ in range(3):                                      # used every 29 minutes: stays alive
        clock.advance(minutes=29)
        resume_session(ops, token, policy=policy)
    clock.advance(minutes=31)
    with pytest.raises(SessionEnded, match="without use") as idle:
        resume_session(ops, token, policy=policy)
    assert idle.value.reason == "idle" and events(ops, action="sign-out")[0].detail == {"reason": "idle"}
    busy = _session(ops)
    for _ in range(4):
        clock.advance(minutes=29)
        resume_session(ops, busy, policy=policy)
    clock.advance(minutes=5)                                 # 2 h 1 min after sign-in
    with pytest.raises(SessionEnded, match="after 2 hours"):
        resume_session(ops, busy, policy=policy)


def test_forged_tokens_are_refused_and_the_store_keeps_no_token(ops, tmp_path):
    token = _session(ops)
    session_id, mac = token.split(".")
    other_last = "B" if session_id.endswith("A") else "A"     # one character changed, whatever the last one was
    forged = [f"{session_id}.{'0' * len(mac)}", f"{session_id[:-1]}{other_last}.{mac}", session_id, "", "x.y", "é.é",
              f"{token}x"]
    for bad in forged:
        with pytest.raises(SessionEnded):
            resume_session(ops, bad)
    elsewhere = open_operational_store(tmp_path / "other" / "registry.duckdb")
    create_user(elsewhere, "ana", "registrar", password=PASSWORD)
    with pytest.raises(SessionEnded):                        # another store's secret signs differently
        resume_session(elsewhere, token)
    with ops.connect() as con:
        dump = "\n".join(con.iterdump())
    assert session_id not in dump and mac not in dump
    key = session_key_path(ops)
    assert key.parent == ops.path.parent and key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    with pytest.raises(RegistryError, match="chmod 600"):
        resume_session(ops, token)


def test_setting_a_password_ends_sessions_and_changing_it_keeps_the_current_one(ops):
    token = _session(ops)
    set_password(ops, "ana", "a password set by the administrator", actor=Principal("boss", "administrator"))
    with pytest.raises(SessionEnded, match="password was changed"):
        resume_session(ops, token)
    assert not get_user(ops, "ana").must_change_password
    detail = events(ops, action="password-set")[0].detail
    assert {key: value for key, value in detail.items() if key != "account"} == {
        "target": "ana", "must_change_password": False, "sessions_ended": 1}
    assert detail["account"]["must_change_password"] is False     # the account's state, in the chain
    set_password(ops, "ana", PASSWORD, must_change=True)
    here, there = _session(ops), _session(ops)
    assert resume_session(ops, here).must_change_password
    with pytest.raises(PasswordPolicyError):
        set_password(ops, "ana", "short")
    change_password(ops, "ana", PASSWORD, "my own new long password", keep_session=here)
    assert not resume_session(ops, here).must_change_password
    with pytest.raises(SessionEnded):
        resume_session(ops, there)
    assert events(ops, action="password-change")[0].detail["sessions_ended"] == 1


# ---- first start and demo -----------------------------------------------------------------------------

def test_initial_administrator_only_on_a_new_store(ops):
    password = ensure_initial_administrator(ops)
    assert password and len(password) >= 16
    assert ensure_initial_administrator(ops) is None
    admin = authenticate(ops, "admin", password, source="test", temporary_password_ok=True)
    assert admin.role == "administrator" and get_user(ops, "admin").must_change_password


def test_demo_accounts_are_created_once_with_documented_passwords(ops):
    created = ensure_demo_accounts(ops)
    assert created == {user: password for user, (_, password) in DEMO_ACCOUNTS.items()}
    assert ensure_demo_accounts(ops) == {}
    for user, (role, password) in DEMO_ACCOUNTS.items():
        assert authenticate(ops, user, password, source="demo").role == role
        assert not get_user(ops, user).must_change_password
    assert ensure_initial_administrator(ops) is None        # the demo store already has an administrator


# ---- command line -------------------------------------------------------------------------------------

def _password_in(output: str, marker: str) -> str:
    line = next(line for line in output.splitlines() if marker in line)
    return line.split(marker, 1)[1].split()[0]


def test_cli_users_commands(db_path):
    added = runner.invoke(app, ["users", "add", "Ana", "--role", "researcher", "--grant", "lds", "--db", str(db_path)])
    assert added.exit_code == 0, added.output
    admin_password = _password_in(added.output, "created with password ")
    ana_password = _password_in(added.output, "(shown only now): ")
    ops = open_operational_store(db_path)
    assert authenticate(ops, "admin", admin_password, source="test", temporary_password_ok=True).role == "administrator"
    assert authenticate(ops, "ana", ana_password, source="test", temporary_password_ok=True).has_grant("lds")
    assert events(ops, action="user-add")[0].user.startswith("console:")

    listed = runner.invoke(app, ["users", "list", "--db", str(db_path)])
    assert listed.exit_code == 0 and "Ana" in listed.output and "admin" in listed.output
    assert "created with password" not in listed.output                  # shown once only
    assert "$argon2" not in listed.output

    duplicate = runner.invoke(app, ["users", "add", "ana", "--role", "registrar", "--db", str(db_path)])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    bad_role = runner.invoke(app, ["users", "add", "bob", "--role", "boss", "--db", str(db_path)])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output

    reset = runner.invoke(app, ["users", "reset-password", "ANA", "--db", str(db_path)])
    assert reset.exit_code == 0
    assert authenticate(ops, "ana", _password_in(reset.output, "(shown only now): "), source="test", temporary_password_ok=True)
    disabled = runner.invoke(app, ["users", "disable", "ana", "--db", str(db_path)])
    assert disabled.exit_code == 0 and get_user(ops, "ana").disabled
    assert runner.invoke(app, ["users", "disable", "nobody", "--db", str(db_path)]).exit_code == 2


def test_cli_audit_show_and_verify(db_path):
    missing = runner.invoke(app, ["audit", "verify", "--db", str(db_path)])
    assert missing.exit_code == 2 and "no operational store" in missing.output
    runner.invoke(app, ["users", "add", "ana", "--role", "registrar", "--db", str(db_path)])
    ops = open_operational_store(db_path)
    with pytest.raises(AuthenticationError):
        authenticate(ops, "ana", "wrong password!", source="dashboard")
    shown = runner.invoke(app, ["audit", "show", "--db", str(db_path)])
    assert shown.exit_code == 0 and "sign-in-failed" in shown.output and "user-add" in shown.output
    only = runner.invoke(app, ["audit", "show", "--action", "sign-in-failed", "--db", str(db_path)])
    assert "sign-in-failed" in only.output and "user-add" not in only.output
    ok = runner.invoke(app, ["audit", "verify", "--db", str(db_path)])
    assert ok.exit_code == 0 and "intact: 3 events" in ok.output
    anchor = ok.output.split("head", 1)[1].split()[0]
    assert runner.invoke(app, ["audit", "verify", "--anchor", anchor, "--db", str(db_path)]).exit_code == 0

    with sqlite3.connect(ops_path_for(db_path)) as con:                   # an attacker with file access
        con.execute("DROP TRIGGER audit_event_no_update")
        con.execute("UPDATE audit_event SET user_name = 'someone' WHERE seq = 2")
        con.execute("UPDATE account SET role = 'administrator' WHERE user_key = 'ana'")
    tampered = runner.invoke(app, ["audit", "verify", "--db", str(db_path)])
    lines = tampered.output.splitlines()
    assert tampered.exit_code == 1 and lines[0] == "audit trail TAMPERED: 3 problems"
    assert lines[1].startswith("  at seq 2: its contents do not match")
    assert lines[2] == "  the append-only trigger audit_event_no_update was removed"
    assert lines[3] == ("  at seq 2: account 'ana' was changed outside the application: role is 'administrator' "
                        "in the store but 'registrar' in the audit trail")


def test_normal_use_keeps_the_audit_trail_intact(db_path, clock, monkeypatch):
    ops = open_operational_store(db_path, clock=clock)
    boss = Principal("boss", "administrator")
    create_user(ops, "ana", "researcher", password=PASSWORD, actor=boss)
    update_user(ops, "ana", role="registrar", grants=["lds"], display_name="Ana A.", actor=boss)
    disable_user(ops, "ana", actor=boss)
    enable_user(ops, "ana", actor=boss)
    temporary = reset_password(ops, "ana", actor=boss)
    change_password(ops, "ana", temporary, "another long password", source="test")
    _fail(ops, "ana", 5)                                          # locked
    clock.advance(minutes=30)
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", PasswordHasher(time_cost=2, memory_cost=8, parallelism=1))
    authenticate(ops, "ana", "another long password", source="test")   # rehashed at sign-in
    assert events(ops, action="sign-in")[0].detail["rehashed"] is True
    for command in (["users", "add", "Bo", "--role", "researcher"], ["users", "reset-password", "bo"],
                    ["users", "disable", "bo"], ["users", "demo"], ["users", "list"]):
        assert runner.invoke(app, [*command, "--db", str(db_path)]).exit_code == 0
    assert authenticate(ops, "researcher", "demo-researcher", source="test").role == "researcher"

    changed = [e for e in events(ops, limit=None) if "account" in e.detail]
    assert {e.action for e in changed} == {"user-add", "user-update", "user-disable", "user-enable",
                                          "password-reset", "password-change", "sign-in"}
    assert set(changed[0].detail["account"]) == {"user", "user_key", "display_name", "role", "grants", "disabled",
                          "must_change_password", "password_digest"}
    stored = _stored_hash(ops, "ana")
    assert all(stored not in str(e.detail) and "$argon2" not in str(e.detail) for e in events(ops, limit=None))
    result = verify_chain(ops)
    assert result.ok, result.message
    verified = runner.invoke(app, ["audit", "verify", "--db", str(db_path)])
    assert verified.exit_code == 0 and f"intact: {result.events} events, keyed from seq 1" in verified.output


def test_audit_key_and_high_water_mark_are_private_files_outside_the_store(ops):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    key_file, head_file = key_path(ops.path), head_path(ops.path)
    assert key_file.parent == head_file.parent == ops.path.parent
    for path in (key_file, head_file):
        assert path.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert len(key) == 64
    for database_file in ops.path.parent.glob(ops.path.name + "*"):          # the store and its WAL
        assert key.encode() not in database_file.read_bytes()
        assert bytes.fromhex(key) not in database_file.read_bytes()


def test_an_account_changed_outside_the_application_cannot_sign_in(ops):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    create_user(ops, "eve", "researcher", password=PASSWORD)
    assert authenticate(ops, "ana", PASSWORD, source="test").role == "researcher"
    with sqlite3.connect(ops.path) as con:                             # someone with write access to the file
        con.execute("UPDATE account SET role = 'administrator' WHERE user_key = 'ana'")
        con.execute("UPDATE account SET password_hash = ? WHERE user_key = 'eve'",
                    [accounts.PASSWORD_HASHER.hash("the attacker's own password")])
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        authenticate(ops, "ana", PASSWORD, source="test")
    with pytest.raises(AuthenticationError):
        authenticate(ops, "eve", "the attacker's own password", source="test")
    assert [e.detail["reason"] for e in events(ops, action="sign-in-failed")] == [
        "changed-outside-the-application"] * 2

    with sqlite3.connect(ops.path) as con:                             # set back as the audit trail records it
        con.execute("UPDATE account SET role = 'researcher' WHERE user_key = 'ana'")
    assert authenticate(ops, "ana", PASSWORD, source="test").role == "researcher"

    # A forged account event that extends the chain and records the forged role carries no valid MAC.
    forged = dict(events(ops, action="user-add", limit=None)[-1].detail)
    forged["account"] = {**forged["account"], "role": "administrator"}
    seq, prev = chain_head(ops)
    with sqlite3.connect(ops.path) as con:
        con.execute("UPDATE account SET role = 'administrator' WHERE user_key = 'ana'")
        con.execute("INSERT INTO audit_event VALUES (?, '2026-03-01T10:00:00.000000+00:00', 'system', '', "
                    "'user-update', ?, ?, ?)", [seq + 1, json.dumps(forged, separators=(",", ":")), prev, "f" * 64])
    with pytest.raises(AuthenticationError):
        authenticate(ops, "ana", PASSWORD, source="test")
    assert not verify_chain(ops).ok


def test_the_account_state_is_found_through_an_index(ops):
    with ops.connect() as con:
        plan = " ".join(str(tuple(r)) for r in con.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM audit_event WHERE json_extract(detail, '$.account.user_key') = ? "
            "ORDER BY seq DESC LIMIT 1", ["ana"]))
    assert "audit_event_account" in plan


def test_an_administrators_change_does_not_take_an_outside_change_into_the_chain(ops):
    create_user(ops, "ana", "researcher", password=PASSWORD)
    with sqlite3.connect(ops.path) as con:
        con.execute("UPDATE account SET role = 'administrator', grants = '[\"lds\"]' WHERE user_key = 'ana'")
    update_user(ops, "ana", display_name="Ana A.", grants=["lds"])   # sets grants (to what SQL set), not the role
    [event] = events(ops, action="user-update")
    assert event.detail["changed_outside"] == ["grants", "role"]
    assert (event.detail["account"]["role"], event.detail["account"]["grants"]) == ("researcher", ["lds"])
    with pytest.raises(AuthenticationError):                    # the role set in SQL is still not vouched for
        authenticate(ops, "ana", PASSWORD, source="test")
    result = verify_chain(ops)
    assert [(p.seq, p.reason.split(":")[0]) for p in result.problems] == [
        (event.seq, "account 'ana' had been changed outside the application before this change"),
        (event.seq, "account 'ana' was changed outside the application")]
    assert result.problems[1].reason.endswith("role is 'administrator' in the store but 'researcher' in the "
                                              "audit trail")

    update_user(ops, "ana", role="administrator", actor=Principal("boss", "administrator"))   # now vouched for
    assert authenticate(ops, "ana", PASSWORD, source="test").role == "administrator"
    vouched = events(ops, action="user-update")[0]
    assert vouched.detail["changed_outside"] == ["role"] and vouched.detail["account"]["role"] == "administrator"
    assert [p.seq for p in verify_chain(ops).problems] == [event.seq, vouched.seq]   # the incident stays on record
    update_user(ops, "ana", display_name="Ana")
    assert "changed_outside" not in events(ops, action="user-update")[0].detail


def test_concurrent_sign_ins_verify_at_most_the_allowed_failures(ops, clock, monkeypatch):
    """24 sign-ins at once: only max_failures wrong passwords are checked, then the name is locked, and the
    right password is refused while the lock lasts."""
    import threading
    import time

    create_user(ops, "ana", "researcher", password=PASSWORD)
    checked: list[str] = []
    real_verify = accounts._verify

    def slow_verify(password_hash: str, password: str) -> bool:
        checked.append(password)
        time.sleep(0.05)                     # a real argon2id check takes this long or longer
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "_verify", slow_verify)
    start = threading.Barrier(24)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        start.wait()
        try:
            authenticate(ops, "ana", f"wrong password {n:02d}", source="test")
            outcomes.append("signed in")
        except AuthenticationError as exc:
            outcomes.append("locked" if exc.locked_until else "refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 24 and "signed in" not in outcomes
    assert len(checked) <= DEFAULT_LOCKOUT.max_failures
    assert locked_until(ops, "ana") is not None
    with pytest.raises(AuthenticationError) as locked:
        authenticate(ops, "ana", PASSWORD, source="test")
    assert locked.value.locked_until is not None
    assert len(events(ops, action="sign-in-failed", limit=None)) == 25      # one event per attempt
    assert verify_chain(ops).ok


def test_cli_passwd_sets_a_password_without_echo_and_clears_must_change(db_path):
    first = runner.invoke(app, ["users", "list", "--db", str(db_path)])
    printed = _password_in(first.output, "created with password ")
    ops = open_operational_store(db_path)
    assert get_user(ops, "admin").must_change_password                  # the printed password is temporary
    token = start_session(ops, authenticate(ops, "admin", printed, source="test", temporary_password_ok=True), source="test")
    typed = runner.invoke(app, ["users", "passwd", "admin", "--db", str(db_path)],
                          input="my chosen admin password\nmy chosen admin password\n")
    assert typed.exit_code == 0, typed.output
    assert "my chosen admin password" not in typed.output                 # never echoed
    assert not get_user(ops, "admin").must_change_password
    assert authenticate(ops, "admin", "my chosen admin password", source="test").role == "administrator"
    with pytest.raises(SessionEnded):                                      # sessions with the old one end
        resume_session(ops, token)
    [event] = events(ops, action="password-set")
    assert event.user.startswith("console:") and event.detail["target"] == "admin"
    assert "my chosen admin password" not in str(event.detail)

    piped = runner.invoke(app, ["users", "passwd", "ADMIN", "--stdin", "--must-change", "--db", str(db_path)],
                          input="a scripted long password\n")
    assert piped.exit_code == 0, piped.output
    assert "must be changed" in piped.output
    assert authenticate(ops, "admin", "a scripted long password", source="test", temporary_password_ok=True)
    assert get_user(ops, "admin").must_change_password
    short = runner.invoke(app, ["users", "passwd", "admin", "--stdin", "--db", str(db_path)], input="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output and "short\n" not in short.output
    differ = runner.invoke(app, ["users", "passwd", "admin", "--db", str(db_path)],
                           input="first long password\nsecond long password\n")
    assert differ.exit_code != 0
    assert authenticate(ops, "admin", "a scripted long password", source="test", temporary_password_ok=True)   # unchanged
    unknown = runner.invoke(app, ["users", "passwd", "nobody", "--stdin", "--db", str(db_path)],
                            input="a scripted long password\n")
    assert unknown.exit_code == 2 and "no user" in unknown.output
