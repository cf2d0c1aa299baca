"""Local user accounts: argon2id password hashes, sign-in with lockout, and user management.

Every sign-in attempt, successful or not, writes exactly one audit event; every change to an account
writes one too, in the same transaction as the change, carrying the account's resulting state
(`registry.audit.append_account_event`), so `registry audit verify` reports accounts changed in SQL,
and such an account cannot sign in. Messages raised to callers never contain a password or hash and read
the same whether or not the user exists; the reason (unknown user, wrong password, disabled account,
account changed outside the application) goes only into the audit trail, which administrators read.

Lockout: `LockoutPolicy.max_failures` failed attempts for one user name within `window`, counted since
the last success, lock that name for `duration`. It is keyed by the name typed, so unknown names lock
the same way; attempts during a lockout are refused without checking the password and do not extend
it; an administrator's password reset lifts it. Each attempt is recorded (as a failure) and counted in
one write transaction before its password is checked, so concurrent attempts cannot slip past the limit.

An account marked "must change password" signs in only to change it: `authenticate` refuses it elsewhere.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from registry import sessions
from registry.access import MANAGE_USERS, allowed
from registry.audit import account_matches_chain, append_account_event, append_event
from registry.errors import (
    AccountError,
    AuthenticationError,
    PasswordChangeRequired,
    PasswordPolicyError,
)
from registry.operational import OperationalStore, name_key, parse_timestamp, timestamp
from registry.principal import ADMINISTRATOR, GRANTS, REGISTRAR, RESEARCHER, ROLES, Principal

log = logging.getLogger(__name__)

# argon2id with the library's defaults (RFC 9106 low-memory profile). Hashes carry their parameters:
# when these change, a user's hash is upgraded at their next successful sign-in.
PASSWORD_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_USER_NAME_LENGTH = 128
GENERATED_PASSWORD_LENGTH = 20
# Letters and digits without look-alikes (0/O, 1/l/I): easy to read aloud or copy from a terminal.
_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INITIAL_ADMINISTRATOR = "admin"
SYSTEM = "system"

# FOR THE DEMO ONLY: fixed, published passwords. `ensure_demo_accounts` creates these when `make demo`
# asks for it; never call it on a real registry.
DEMO_ACCOUNTS: dict[str, tuple[str, str]] = {
    "registrar": (REGISTRAR, "demo-registrar"),
    "researcher": (RESEARCHER, "demo-researcher"),
    "administrator": (ADMINISTRATOR, "demo-administrator"),
}

_SIGN_IN_FAILED = "sign-in failed: wrong user name or password, or the account is disabled"
_CHANGE_FIRST = ("your password is temporary (set, reset or flagged by an administrator): choose your own on the "
                 "dashboard's Change password page first")


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures within which window lock a user name, and for how long."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)


DEFAULT_LOCKOUT = LockoutPolicy()


@dataclass(frozen=True)
class Account:
    """An account as administrators see it; deliberately without the password hash."""

    user: str
    display_name: str
    role: str
    grants: frozenset[str]
    disabled: bool
    must_change_password: bool
    created_at: str
    updated_at: str
    last_sign_in: str | None

    def principal(self) -> Principal:
        """The identity this account signs in as."""
        return Principal(self.user, self.role, self.grants)


@dataclass(frozen=True)
class SignInAttempt:
    """One attempt to sign in under a user name: when, how it ended (ok, bad-credentials, disabled, locked, or
    unlocked by an administrator) and where it came from (dashboard, cli, ...)."""

    attempted_at: str
    outcome: str
    source: str
    locked_until: str | None


# ---- validation -----------------------------------------------------------------------------------------

def generate_password(length: int = GENERATED_PASSWORD_LENGTH) -> str:
    """A random password from the OS's secure generator (about 115 bits at 20 characters)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(max(length, 16)))


def check_password_policy(password: str) -> None:
    """Refuse passwords too short or too long; the message never repeats the password."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise PasswordPolicyError("a password cannot be only spaces")


def check_user_name(user: str) -> str:
    """Accept any printable name (stored literally) without control characters, edge spaces or ':'.

    ':' is reserved for principals that are not accounts (`console:<os user>`).
    """
    if not isinstance(user, str) or not user or len(user) > MAX_USER_NAME_LENGTH:
        raise AccountError(f"a user name has 1 to {MAX_USER_NAME_LENGTH} characters")
    if user != user.strip() or ":" in user or any(unicodedata.category(c).startswith("C") for c in user):
        raise AccountError("a user name cannot have control characters, ':' or leading/trailing spaces")
    return user


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def _check_grants(grants: Iterable[str]) -> list[str]:
    chosen = sorted(set(grants))
    unknown = [g for g in chosen if g not in GRANTS]
    if unknown:
        raise AccountError(f"unknown grant {', '.join(unknown)}: expected one of {', '.join(sorted(GRANTS))}")
    return chosen


def _actor(actor: Principal | str | None) -> tuple[str, str]:
    """(user, role) to record for whoever manages accounts; only administrators may."""
    if actor is None:
        return SYSTEM, ""
    if isinstance(actor, Principal):
        if not allowed(actor, MANAGE_USERS):
            raise AccountError("only administrators manage user accounts")
        return actor.user, actor.role
    return str(actor), ""


def _with_reason(detail: dict[str, object], reason: str) -> dict[str, object]:
    """An account event's detail with the administrator's reason for the change, when one was given."""
    reason = str(reason or "").strip()
    return {**detail, "reason": reason} if reason else detail


def _keep_an_administrator(con: sqlite3.Connection, row: sqlite3.Row, *, role: str | None = None,
                           disabled: bool = False) -> None:
    """Refuse to disable or de-role the last enabled administrator: nobody could manage accounts any more."""
    if row["role"] != ADMINISTRATOR or row["disabled"] or (role in (None, ADMINISTRATOR) and not disabled):
        return
    others = con.execute("SELECT count(*) FROM account WHERE role = ? AND disabled = 0 AND account_id != ?",
                         [ADMINISTRATOR, row["account_id"]]).fetchone()[0]
    if not others:
        raise AccountError(f"{row['user_name']!r} is the last enabled administrator: make another account an "
                           "administrator first")


# ---- reading --------------------------------------------------------------------------------------------

_ACCOUNT_COLUMNS = ("SELECT a.*, (SELECT max(s.attempted_at) FROM sign_in_attempt s WHERE s.user_key = a.user_key "
                    "AND s.outcome = 'ok') AS last_sign_in FROM account a")


def _account(row: sqlite3.Row) -> Account:
    return Account(user=row["user_name"], display_name=row["display_name"], role=row["role"],
                   grants=frozenset(json.loads(row["grants"])), disabled=bool(row["disabled"]),
                   must_change_password=bool(row["must_change_password"]), created_at=row["created_at"],
                   updated_at=row["updated_at"], last_sign_in=row["last_sign_in"])


def list_users(ops: OperationalStore) -> list[Account]:
    """Every account, by user name, without password hashes."""
    with ops.connect() as con:
        rows = con.execute(f"{_ACCOUNT_COLUMNS} ORDER BY a.user_key").fetchall()
    return [_account(row) for row in rows]


def get_user(ops: OperationalStore, user: str) -> Account | None:
    """One account by user name (case-insensitive), or None; e.g. to see must_change_password."""
    with ops.connect() as con:
        row = con.execute(f"{_ACCOUNT_COLUMNS} WHERE a.user_key = ?", [name_key(user)]).fetchone()
    return _account(row) if row else None


def _account_row(con: sqlite3.Connection, user: str) -> sqlite3.Row:
    row = con.execute("SELECT * FROM account WHERE user_key = ?", [name_key(user)]).fetchone()
    if row is None:
        raise AccountError(f"no user {user!r}")
    return row


# ---- creating and changing accounts ---------------------------------------------------------------------

def _insert_account(con: sqlite3.Connection, ops: OperationalStore, user: str, role: str, grants: list[str],
                    password_hash: str, display_name: str, must_change: bool, actor: tuple[str, str],
                    reason: str = "") -> None:
    now = ops.now()
    try:
        cursor = con.execute("INSERT INTO account (user_name, user_key, display_name, role, grants, password_hash, "
                             "must_change_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             [user, name_key(user), display_name, role, json.dumps(grants), password_hash,
                              int(must_change), timestamp(now), timestamp(now)])
    except sqlite3.IntegrityError as exc:
        raise AccountError(f"user {user!r} already exists") from exc
    append_account_event(con, now, actor[0], actor[1], "user-add", int(cursor.lastrowid or 0),
                         _with_reason({"target": user, "role": role, "grants": grants,
                                       "must_change_password": must_change}, reason))


def create_user(ops: OperationalStore, user: str, role: str, *, grants: Iterable[str] = (),
                password: str | None = None, display_name: str = "", must_change_password: bool | None = None,
                actor: Principal | str | None = None, reason: str = "") -> str:
    """Create an account and return its password: the one given, or a generated one to hand over once.

    A generated password must be changed at first sign-in unless `must_change_password` says otherwise.
    """
    check_user_name(user)
    _check_role(role)
    chosen = _check_grants(grants)
    who = _actor(actor)
    generated = password is None
    secret = generate_password() if password is None else password
    check_password_policy(secret)
    must_change = generated if must_change_password is None else must_change_password
    password_hash = PASSWORD_HASHER.hash(secret)
    with ops.write() as con:
        _insert_account(con, ops, user, role, chosen, password_hash, display_name, must_change, who, reason)
    return secret


def update_user(ops: OperationalStore, user: str, *, role: str | None = None, grants: Iterable[str] | None = None,
                display_name: str | None = None, actor: Principal | str | None = None, reason: str = "") -> Account:
    """Change an account's role, grants or display name; returns the account as it now is. The last enabled
    administrator keeps that role."""
    who = _actor(actor)
    changes: dict[str, object] = {}
    if role is not None:
        changes["role"] = _check_role(role)
    if grants is not None:
        changes["grants"] = _check_grants(grants)
    if display_name is not None:
        changes["display_name"] = display_name
    with ops.write() as con:
        row = _account_row(con, user)
        _keep_an_administrator(con, row, role=role)
        now = ops.now()
        con.execute("UPDATE account SET role = coalesce(?, role), grants = coalesce(?, grants), "
                    "display_name = coalesce(?, display_name), updated_at = ? WHERE account_id = ?",
                    [changes.get("role"), json.dumps(changes["grants"]) if "grants" in changes else None,
                     changes.get("display_name"), timestamp(now), row["account_id"]])
        append_account_event(con, now, who[0], who[1], "user-update", row["account_id"],
                             _with_reason({"target": row["user_name"], **changes}, reason), before=row)
    account = get_user(ops, user)
    assert account is not None
    return account


def _set_disabled(ops: OperationalStore, user: str, disabled: bool, actor: Principal | str | None,
                  reason: str) -> None:
    who = _actor(actor)
    with ops.write() as con:
        row = _account_row(con, user)
        _keep_an_administrator(con, row, disabled=disabled)
        now = ops.now()
        con.execute("UPDATE account SET disabled = ?, updated_at = ? WHERE account_id = ?",
                    [int(disabled), timestamp(now), row["account_id"]])
        detail: dict[str, object] = {"target": row["user_name"]}
        if disabled:
            detail["sessions_ended"] = sessions.revoke_user(con, row["user_key"], now, "account-disabled")
        append_account_event(con, now, who[0], who[1], "user-disable" if disabled else "user-enable",
                             row["account_id"], _with_reason(detail, reason), before=row)


def disable_user(ops: OperationalStore, user: str, *, actor: Principal | str | None = None, reason: str = "") -> None:
    """Stop an account from signing in and end its open dashboard sessions (accounts are never deleted, so
    the audit trail keeps their names). The last enabled administrator cannot be disabled."""
    _set_disabled(ops, user, True, actor, reason)


def enable_user(ops: OperationalStore, user: str, *, actor: Principal | str | None = None, reason: str = "") -> None:
    """Let a disabled account sign in again."""
    _set_disabled(ops, user, False, actor, reason)


def reset_password(ops: OperationalStore, user: str, *, actor: Principal | str | None = None,
                   reason: str = "") -> str:
    """Give an account a new random password (returned, to hand over once), to be changed at next
    sign-in; also lifts a lockout of that user name."""
    who = _actor(actor)
    secret = generate_password()
    password_hash = PASSWORD_HASHER.hash(secret)
    with ops.write() as con:
        row = _account_row(con, user)
        now = ops.now()
        con.execute("UPDATE account SET password_hash = ?, must_change_password = 1, updated_at = ? "
                    "WHERE account_id = ?", [password_hash, timestamp(now), row["account_id"]])
        _record_attempt(con, row["user_key"], row["user_name"], now, "unlocked", f"reset by {who[0]}")
        ended = sessions.revoke_user(con, row["user_key"], now, "password-set")
        append_account_event(con, now, who[0], who[1], "password-reset", row["account_id"],
                             _with_reason({"target": row["user_name"], "sessions_ended": ended}, reason),
                             before=row)
    return secret


def set_password(ops: OperationalStore, user: str, new_password: str, *, must_change: bool = False,
                 actor: Principal | str | None = None, reason: str = "") -> None:
    """An administrator (or the console) sets an account's password: policy checked, the account's
    sessions ended, a lockout lifted; `must_change` makes it temporary (changed at next sign-in)."""
    who = _actor(actor)
    check_password_policy(new_password)
    password_hash = PASSWORD_HASHER.hash(new_password)
    with ops.write() as con:
        row = _account_row(con, user)
        now = ops.now()
        con.execute("UPDATE account SET password_hash = ?, must_change_password = ?, updated_at = ? "
                    "WHERE account_id = ?", [password_hash, int(must_change), timestamp(now), row["account_id"]])
        _record_attempt(con, row["user_key"], row["user_name"], now, "unlocked", f"set by {who[0]}")
        ended = sessions.revoke_user(con, row["user_key"], now, "password-set")
        append_account_event(con, now, who[0], who[1], "password-set", row["account_id"],
                             _with_reason({"target": row["user_name"], "must_change_password": must_change,
                                           "sessions_ended": ended}, reason), before=row)


def require_password_change(ops: OperationalStore, user: str, *, reason: str,
                            actor: Principal | str | None = None) -> None:
    """Make an account choose a new password before it does anything else. Its open dashboard sessions get
    only the change-password page from their next page run on (`sessions.resume_session` reads the mark), a
    new sign-in gets it too, and the command refuses the account until then."""
    who = _actor(actor)
    with ops.write() as con:
        row = _account_row(con, user)
        now = ops.now()
        con.execute("UPDATE account SET must_change_password = 1, updated_at = ? WHERE account_id = ?",
                    [timestamp(now), row["account_id"]])
        append_account_event(con, now, who[0], who[1], "password-change-required", row["account_id"],
                             _with_reason({"target": row["user_name"], "must_change_password": True}, reason),
                             before=row)


def change_password(ops: OperationalStore, user: str, current_password: str, new_password: str, *,
                    source: str = "", policy: LockoutPolicy = DEFAULT_LOCKOUT, keep_session: str | None = None) -> None:
    """A user changes their own password, proving the current one (wrong guesses count toward lockout).

    Clears "must change password" and ends the user's other dashboard sessions (all but the session token
    `keep_session`, the one the change was made from).
    """
    check_password_policy(new_password)
    if new_password == current_password:
        raise PasswordPolicyError("the new password must differ from the current one")
    row, attempt_id = _check_credentials(ops, user, current_password, source=source, policy=policy,
                                         failed_action="password-change-failed")
    password_hash = PASSWORD_HASHER.hash(new_password)
    with ops.write() as con:
        now = ops.now()
        con.execute("UPDATE account SET password_hash = ?, must_change_password = 0, updated_at = ? "
                    "WHERE account_id = ?", [password_hash, timestamp(now), row["account_id"]])
        _succeeded(con, attempt_id)
        keep = sessions.stored_session_id(ops, keep_session) if keep_session else None
        ended = sessions.revoke_user(con, row["user_key"], now, "password-set", keep=keep)
        append_account_event(con, now, row["user_name"], row["role"], "password-change", row["account_id"],
                             {"source": source, "sessions_ended": ended})


# ---- signing in -----------------------------------------------------------------------------------------

def _record_attempt(con: sqlite3.Connection, key: str, typed: str, now: datetime, outcome: str, source: str,
                    locked_until: datetime | None = None) -> int:
    cursor = con.execute("INSERT INTO sign_in_attempt (user_key, user_name, attempted_at, success, outcome, "
                         "source, locked_until) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [key, typed, timestamp(now), int(outcome == "ok"), outcome, source,
                          timestamp(locked_until) if locked_until else None])
    return int(cursor.lastrowid or 0)


def _last_reset(con: sqlite3.Connection, key: str) -> int:
    """The attempt after which failures count afresh: the last success or administrator's reset.

    Attempts are ordered by their row id (the order they were written), not by time, so two attempts in
    the same microsecond or a clock set back cannot confuse the count.
    """
    row = con.execute("SELECT coalesce(max(attempt_id), 0) FROM sign_in_attempt WHERE user_key = ? "
                      "AND outcome IN ('ok', 'unlocked')", [key]).fetchone()
    return int(row[0])


def _lock_in_force(con: sqlite3.Connection, key: str, now: datetime) -> datetime | None:
    """The end of the lockout of this user name, if one is in force at `now`."""
    row = con.execute("SELECT max(locked_until) FROM sign_in_attempt WHERE user_key = ? "
                      "AND locked_until IS NOT NULL AND attempt_id > ?", [key, _last_reset(con, key)]).fetchone()
    if row[0] and row[0] > timestamp(now):
        return parse_timestamp(row[0])
    return None


def sign_in_history(ops: OperationalStore, user: str, limit: int = 50, *,
                    actor: Principal | str | None = None) -> list[SignInAttempt]:
    """The latest `limit` sign-in attempts under a user name, newest first (for administrators)."""
    _actor(actor)
    with ops.connect() as con:
        rows = con.execute("SELECT attempted_at, outcome, source, locked_until FROM sign_in_attempt "
                           "WHERE user_key = ? ORDER BY attempt_id DESC LIMIT ?",
                           [name_key(user), max(int(limit), 0)]).fetchall()
    return [SignInAttempt(*row) for row in rows]


def locked_until(ops: OperationalStore, user: str) -> datetime | None:
    """When the lockout of this user name ends, or None when it is not locked (for the users page)."""
    with ops.connect() as con:
        return _lock_in_force(con, name_key(user), ops.now())


def _lock_after_failure(con: sqlite3.Connection, key: str, now: datetime, policy: LockoutPolicy) -> datetime | None:
    """Whether this failure completes max_failures within the window since the last reset or lockout."""
    last_lock = con.execute("SELECT coalesce(max(attempt_id), 0) FROM sign_in_attempt WHERE user_key = ? "
                            "AND locked_until IS NOT NULL", [key]).fetchone()[0]
    earlier = con.execute("SELECT count(*) FROM sign_in_attempt WHERE user_key = ? "
                          "AND outcome IN ('bad-credentials', 'disabled') AND attempt_id > ? AND attempted_at > ?",
                          [key, max(_last_reset(con, key), int(last_lock)), timestamp(now - policy.window)]
                          ).fetchone()[0]
    return now + policy.duration if earlier + 1 >= policy.max_failures else None


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash with the current parameters to verify against for unknown users, so timing tells nothing."""
    h = PASSWORD_HASHER
    params = f"{h.type}:{h.time_cost}:{h.memory_cost}:{h.parallelism}:{h.hash_len}:{h.salt_len}"
    if params not in _DUMMY_HASHES:
        _DUMMY_HASHES[params] = PASSWORD_HASHER.hash(secrets.token_hex(16))
    return _DUMMY_HASHES[params]


def _verify(password_hash: str, password: str) -> bool:
    if not isinstance(password, str):
        return False
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _locked_message(until: datetime) -> str:
    return (f"sign-in failed: too many failed attempts for this user name; try again after "
            f"{until.strftime('%Y-%m-%d %H:%M')} UTC")


def _check_credentials(ops: OperationalStore, user: str, password: str, *, source: str, policy: LockoutPolicy,
                       failed_action: str) -> tuple[sqlite3.Row, int]:
    """The account row and the id of this attempt's row if user and password match an enabled, unlocked
    account whose row is the state the audit trail records for it; otherwise record the failure and its
    audit event (`failed_action`) and raise AuthenticationError.

    The attempt is recorded as a failure *before* the password is checked, in one write transaction with
    the lockout check, so concurrent attempts queue on the lock and count each other: at most
    `max_failures` passwords are checked per window. The caller turns the row into a success.
    """
    typed = str(user)
    key = name_key(typed)
    with ops.write() as con:
        now = ops.now()
        row = con.execute("SELECT * FROM account WHERE user_key = ?", [key]).fetchone()
        chained = row is not None and account_matches_chain(con, row)
        lock = _lock_in_force(con, key, now)
        if lock is not None:
            _record_attempt(con, key, typed, now, "locked", source)
            # Recorded under the name typed and no role: the caller has not proven who they are.
            append_event(con, now, typed, "", failed_action, {"source": source, "reason": "locked"})
        else:
            new_lock = _lock_after_failure(con, key, now, policy)
            attempt_id = _record_attempt(con, key, typed, now, "bad-credentials", source, new_lock)
    if lock is not None:
        log.info("%s for user name %r from %r: locked", failed_action, typed, source)
        raise AuthenticationError(_locked_message(lock), locked_until=lock)
    matches = _verify(row["password_hash"] if row else _dummy_hash(), password)
    if row is not None and matches and not row["disabled"] and chained:
        return row, attempt_id
    reason = "unknown-user" if row is None else ("wrong-password" if not matches else "disabled"
                                                 if row["disabled"] else "changed-outside-the-application")
    with ops.write() as con:
        if reason == "disabled":
            con.execute("UPDATE sign_in_attempt SET outcome = 'disabled' WHERE attempt_id = ?", [attempt_id])
        detail: dict[str, object] = {"source": source, "reason": reason}
        if new_lock:
            detail["locked_until"] = timestamp(new_lock)
        append_event(con, ops.now(), typed, "", failed_action, detail)
    log.info("%s for user name %r from %r: %s", failed_action, typed, source, reason)
    if new_lock:
        raise AuthenticationError(_locked_message(new_lock), locked_until=new_lock)
    raise AuthenticationError(_SIGN_IN_FAILED)


def _succeeded(con: sqlite3.Connection, attempt_id: int) -> None:
    """Turn an attempt recorded as a failure into a success (lifting the lockout it would have started)."""
    con.execute("UPDATE sign_in_attempt SET outcome = 'ok', success = 1, locked_until = NULL WHERE attempt_id = ?",
                [attempt_id])


def authenticate(ops: OperationalStore, user: str, password: str, *, source: str,
                 policy: LockoutPolicy = DEFAULT_LOCKOUT, temporary_password_ok: bool = False) -> Principal:
    """Check a user name (case-insensitive) and password; return the Principal or raise AuthenticationError.

    `source` says where the attempt came from (e.g. `dashboard`, `cli`, a client address). Writes exactly
    one audit event (`sign-in` or `sign-in-failed`). An account that must change its password is refused
    (PasswordChangeRequired, after its password proved right) unless `temporary_password_ok`: only a caller
    that then offers nothing but the password change (the dashboard's session) may pass it.
    """
    row, attempt_id = _check_credentials(ops, user, password, source=source, policy=policy,
                                         failed_action="sign-in-failed")
    if row["must_change_password"] and not temporary_password_ok:
        with ops.write() as con:
            _succeeded(con, attempt_id)       # the password was right: it does not count toward a lockout
            append_event(con, ops.now(), row["user_name"], row["role"], "sign-in-failed",
                         {"source": source, "reason": "must-change-password"})
        raise PasswordChangeRequired(_CHANGE_FIRST)
    new_hash = PASSWORD_HASHER.hash(password) if PASSWORD_HASHER.check_needs_rehash(row["password_hash"]) else None
    principal = Principal(row["user_name"], row["role"], frozenset(json.loads(row["grants"])))
    with ops.write() as con:
        now = ops.now()
        if new_hash is not None:
            con.execute("UPDATE account SET password_hash = ? WHERE account_id = ?", [new_hash, row["account_id"]])
        _succeeded(con, attempt_id)
        detail = {"source": source, "must_change_password": bool(row["must_change_password"])}
        if new_hash is None:
            append_event(con, now, principal.user, principal.role, "sign-in", detail)
        else:   # the new hash is an account change: its event carries the account's state
            append_account_event(con, now, principal.user, principal.role, "sign-in", row["account_id"],
                                 {**detail, "rehashed": True})
    return principal


# ---- first start and demo -------------------------------------------------------------------------------

def ensure_initial_administrator(ops: OperationalStore, *, user: str = INITIAL_ADMINISTRATOR) -> str | None:
    """On a store without any account, create one administrator with a random password and return it
    (show it once; it must be changed at first sign-in). Returns None when accounts already exist."""
    with ops.connect() as con:
        if con.execute("SELECT count(*) FROM account").fetchone()[0]:
            return None
    secret = generate_password()
    password_hash = PASSWORD_HASHER.hash(secret)
    with ops.write() as con:
        # Re-checked under the write lock: two processes starting at once create one administrator.
        if con.execute("SELECT count(*) FROM account").fetchone()[0]:
            return None
        _insert_account(con, ops, user, ADMINISTRATOR, [], password_hash, "Initial administrator", True,
                        (SYSTEM, ""))
    return secret


def ensure_demo_accounts(ops: OperationalStore) -> dict[str, str]:
    """FOR THE DEMO ONLY: create the DEMO_ACCOUNTS (fixed, published passwords) that do not exist yet;
    returns {user: password} of those created now."""
    created: dict[str, str] = {}
    for user, (role, password) in DEMO_ACCOUNTS.items():
        if get_user(ops, user) is not None:
            continue
        try:
            create_user(ops, user, role, password=password, display_name=f"Demo {role}",
                        must_change_password=False, actor="demo-setup")
        except AccountError:
            continue   # created meanwhile by another process
        created[user] = password
    return created
