"""Dashboard sessions: signed, expiring, revocable tokens, so a browser stays signed in across reloads.

A token is `<id>.<mac>`: a random id (32 bytes from the OS's secure generator) and the HMAC-SHA256 of that
id under a server-side secret kept in `<store>.session-key` beside the operational store (created on first
use, readable by its owner only). The operational store keeps only the SHA-256 of the id, with the user,
when the session started and was last used, and whether it was revoked; a copy of the store therefore
holds no usable token, and a token cannot be forged without the secret file.

A token is accepted while its MAC is right, its session is not revoked, it was used within the idle limit
and it is younger than the absolute limit. Sign-out revokes the session; disabling an account or setting
its password revokes all of its sessions. Whether the account may still sign in, and with which role, is
decided by `resume_session` on every use, from the account as it is then.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from registry.audit import account_matches_chain, append_event
from registry.errors import RegistryError, SessionEnded
from registry.operational import OperationalStore, name_key, parse_timestamp, timestamp
from registry.principal import Principal

SESSION_KEY_SUFFIX = ".session-key"
_SECRET_BYTES = 32


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: without use (idle) and at most (absolute); how often its use is recorded."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    touch_every: timedelta = timedelta(minutes=1)


DEFAULT_SESSION_POLICY = SessionPolicy()




def session_key_path(ops: OperationalStore) -> Path:
    """Where the secret that signs session tokens lives: beside the operational store."""
    return ops.path.with_name(ops.path.name.removesuffix(".sqlite") + SESSION_KEY_SUFFIX)


def session_secret(ops: OperationalStore) -> bytes:
    """The signing secret, created (mode 0600) on first use; refused when others may read it."""
    path = session_key_path(ops)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_SECRET_BYTES))
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RegistryError(f"{path}: the session signing key must be readable by its owner only (chmod 600 {path})")
    secret = path.read_bytes()
    if len(secret) < _SECRET_BYTES:
        raise RegistryError(f"{path}: the session signing key is truncated; delete it to sign everyone out "
                            "and start with a new one")
    return secret


def _mac(secret: bytes, session_id: str) -> str:
    return hmac.new(secret, session_id.encode("ascii"), hashlib.sha256).hexdigest()


def _stored_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def token_id(secret: bytes, token: str) -> str:
    """The stored id (SHA-256 of the token's random part) of a token whose MAC is right."""
    session_id, _, mac = str(token).partition(".")
    if not session_id or not mac or not session_id.isascii() or not hmac.compare_digest(
            _mac(secret, session_id), mac):
        raise SessionEnded("your session is not valid; please sign in", reason="bad-token")
    return _stored_id(session_id)


def issue(con: sqlite3.Connection, secret: bytes, user_key: str, user_name: str, now: datetime,
          source: str) -> str:
    """Start a session for an account on a connection holding the write lock; return its token."""
    session_id = secrets.token_urlsafe(32)
    con.execute("INSERT INTO web_session (session_hash, user_key, user_name, source, started_at, last_seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [_stored_id(session_id), user_key, user_name, source, timestamp(now), timestamp(now)])
    return f"{session_id}.{_mac(secret, session_id)}"


def session_row(con: sqlite3.Connection, stored: str) -> sqlite3.Row | None:
    """The session row with this stored id, live or ended (None when unknown)."""
    row: sqlite3.Row | None = con.execute("SELECT * FROM web_session WHERE session_hash = ?", [stored]).fetchone()
    return row


def find(con: sqlite3.Connection, stored: str, now: datetime, policy: SessionPolicy) -> sqlite3.Row:
    """The live session row with this stored id; SessionEnded when unknown, revoked or expired."""
    row = session_row(con, stored)
    if row is None:
        raise SessionEnded("your session is not valid; please sign in", reason="unknown-session")
    if row["revoked_at"] is not None:
        raise SessionEnded("your session has ended; please sign in again", reason="revoked")
    if now - parse_timestamp(row["started_at"]) > policy.absolute:
        raise SessionEnded(f"your session has ended after {_hours(policy.absolute)}; please sign in again",
                           reason="expired")
    if now - parse_timestamp(row["last_seen_at"]) > policy.idle:
        raise SessionEnded(f"your session has ended after {_minutes(policy.idle)} without use; please sign in "
                           "again", reason="idle")
    return row


def touch(con: sqlite3.Connection, row: sqlite3.Row, now: datetime, policy: SessionPolicy) -> None:
    """Record that a session was used (at most once per `touch_every`, to keep page runs cheap)."""
    if now - parse_timestamp(row["last_seen_at"]) >= policy.touch_every:
        con.execute("UPDATE web_session SET last_seen_at = ? WHERE session_hash = ?",
                    [timestamp(now), row["session_hash"]])


def revoke(con: sqlite3.Connection, stored: str, now: datetime, reason: str) -> bool:
    """Revoke one session (False when it was already revoked or unknown)."""
    cursor = con.execute("UPDATE web_session SET revoked_at = ?, revoked_reason = ? "
                         "WHERE session_hash = ? AND revoked_at IS NULL", [timestamp(now), reason, stored])
    return cursor.rowcount > 0


def revoke_user(con: sqlite3.Connection, user_key: str, now: datetime, reason: str,
                keep: str | None = None) -> int:
    """Revoke every live session of an account (except the stored id `keep`); returns how many."""
    cursor = con.execute("UPDATE web_session SET revoked_at = ?, revoked_reason = ? WHERE user_key = ? "
                         "AND revoked_at IS NULL AND session_hash IS NOT ?", [timestamp(now), reason, user_key, keep])
    return cursor.rowcount


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")


# ---- a session as its account is now ------------------------------------------------------------------

@dataclass(frozen=True)
class ActiveSession:
    """A live dashboard session: who it acts for now, and whether they must change their password first."""

    principal: Principal
    must_change_password: bool


_ENDED_MESSAGES = {
    "account-disabled": "your account has been disabled; ask a registry administrator",
    "password-set": "your password was changed; please sign in again",
    "signed-out": "the session was signed out (in this or another tab)",
    "changed-outside-the-application": "your account was changed outside the application; ask a registry "
                                       "administrator",
}


def stored_session_id(ops: OperationalStore, token: str) -> str | None:
    """The stored id of a token's session, or None for a malformed or forged token."""
    try:
        return token_id(session_secret(ops), token)
    except SessionEnded:
        return None


def start_session(ops: OperationalStore, principal: Principal, *, source: str) -> str:
    """Start a dashboard session for a principal just authenticated; returns its token (keep it secret)."""
    secret = session_secret(ops)
    with ops.write() as con:
        return issue(con, secret, name_key(principal.user), principal.user, ops.now(), source)


def resume_session(ops: OperationalStore, token: str, *,
                   policy: SessionPolicy = DEFAULT_SESSION_POLICY) -> ActiveSession:
    """The session of `token` as its account is *now*: current role and grants, must-change flag.

    Called on every page run. Raises SessionEnded (with a message for the user) when the token is forged
    or unknown, the session was revoked or expired, or the account is gone, disabled or no longer the
    state the audit trail records for it (changed in SQL); a session that ends here is revoked and its end
    audited (`sign-out`, with the reason).
    """
    stored = token_id(session_secret(ops), token)
    with ops.write() as con:
        now = ops.now()
        ended = account = None
        try:
            row = find(con, stored, now, policy)
        except SessionEnded as exc:
            ended = exc
            ended_row = session_row(con, stored)
            if exc.reason == "revoked" and ended_row is not None:
                reason = ended_row["revoked_reason"]
                ended = SessionEnded(_ENDED_MESSAGES.get(reason, str(exc)), reason=reason)
            elif exc.reason in ("idle", "expired") and ended_row is not None:
                revoke(con, stored, now, exc.reason)
                append_event(con, now, ended_row["user_name"], "", "sign-out", {"reason": exc.reason})
        else:
            account = con.execute("SELECT * FROM account WHERE user_key = ?", [row["user_key"]]).fetchone()
            if account is None or account["disabled"]:
                revoke(con, stored, now, "account-disabled")
                append_event(con, now, row["user_name"], "", "sign-out", {"reason": "account-disabled"})
                ended = SessionEnded(_ENDED_MESSAGES["account-disabled"], reason="account-disabled")
            elif not account_matches_chain(con, account):   # changed in SQL, not through the application
                revoke(con, stored, now, "changed-outside-the-application")
                append_event(con, now, row["user_name"], "", "sign-out",
                             {"reason": "changed-outside-the-application"})
                ended = SessionEnded(_ENDED_MESSAGES["changed-outside-the-application"],
                                     reason="changed-outside-the-application")
            else:
                touch(con, row, now, policy)
    if ended is not None:      # raised after the commit, so the revocation and its audit event stand
        raise ended
    assert account is not None
    principal = Principal(account["user_name"], account["role"], frozenset(json.loads(account["grants"])))
    return ActiveSession(principal, bool(account["must_change_password"]))


def end_session(ops: OperationalStore, token: str, *, reason: str = "signed-out") -> bool:
    """Sign out: revoke the session of `token` and audit it (`sign-out`); False when it had already ended."""
    stored = stored_session_id(ops, token)
    if stored is None:
        return False
    with ops.write() as con:
        now = ops.now()
        row = session_row(con, stored)
        if row is None or not revoke(con, stored, now, reason):
            return False
        account = con.execute("SELECT role FROM account WHERE user_key = ?", [row["user_key"]]).fetchone()
        append_event(con, now, row["user_name"], account["role"] if account else "", "sign-out", {"reason": reason})
    return True
