"""Who is using the dashboard: sign-in with a local account or the registry's identity provider.

Local accounts (``registry.accounts``, argon2id, lockout) are the default. A sign-in starts a server-side
session (``registry.sessions``): its token is kept in this tab's session state and in a browser cookie
(``SameSite=Strict``, never in the URL), so a reload stays signed in. On every page run the session is
re-checked against its account (``registry.sessions.resume_session``): a disabled account is signed out at
once with a message, and a changed role or grant takes effect at once. A user who must change their
password gets only the change-password page.

When a registry configures OpenID Connect for Streamlit (an ``[auth]`` section in
``.streamlit/secrets.toml``), the sign-in page offers ``st.login`` instead, and the role comes from a claim
mapped in ``[oncoregistry.roles]``::

    [oncoregistry.roles]
    claim = "groups"                 # the claim that carries group or role names
    registrar = "cancer-registrars"  # claim value -> role
    researcher = "registry-researchers"
    administrator = "registry-admins"

Every sign-in and sign-out (either kind, success or failure) writes one audit event.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from registry.api import (
    DEFAULT_SESSION_POLICY,
    ROLES,
    ActiveSession,
    AuthenticationError,
    OperationalStore,
    PasswordPolicyError,
    Principal,
    SessionEnded,
    authenticate,
    change_password,
    default_db_path,
    end_session,
    get_user,
    open_operational_store,
    record_event,
    resume_session,
    start_session,
)

TOKEN_KEY = "session_token"          # this tab's session token (server memory only)
NOTICE_KEY = "session_notice"        # why the last session ended, for the sign-in page
STALE_COOKIE_KEY = "session_stale_cookie"   # a cookie token that no longer works: not tried again
ENDED_KEY = "session_ended"          # this tab's session ended: clear the cookie it may have set
IDP_KEY = "identity_provider_principal"
REFUSED_KEY = "identity_provider_refused"   # why the provider's user was refused just now
ROUTED_KEY = "routed"                # set while the router runs the page
PAGE_KEY = "routed_page"             # the page the router runs (its file's stem), for the audit trail
COOKIE = "oncoregistry_session"
ROLE_PRECEDENCE = ("administrator", "registrar", "researcher")   # a user in several groups gets the first


def operational_store() -> OperationalStore:
    """The operational store beside the dashboard's analytic store (accounts, sessions, review queue, audit)."""
    return _operational_store(default_db_path())


@functools.cache
def _operational_store(db: Path) -> OperationalStore:
    """The operational store beside db, migrated once per process (sessions are checked on every run)."""
    return open_operational_store(db)


def browser_token() -> str | None:
    """The session token the browser sent as a cookie when this tab connected (st.context.cookies)."""
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


def current_session() -> ActiveSession | None:
    """This tab's session as its account is now, re-checked on every call; None when nobody is signed in.

    A session that has ended (signed out elsewhere, account disabled, expired) is forgotten here and its
    reason kept for the sign-in page.
    """
    if IDP_KEY in st.session_state:
        return _identity_provider_session()
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        cookie = browser_token()
        token = cookie if cookie and cookie != st.session_state.get(STALE_COOKIE_KEY) else None
    if not token:
        return None
    try:
        active = resume_session(operational_store(), token)
    except SessionEnded as ended:
        _forget(token)
        st.session_state[NOTICE_KEY] = f"You were signed out: {ended}."
        return None
    st.session_state[TOKEN_KEY] = token
    return active


def current_principal() -> Principal | None:
    """The signed-in user of this tab, if any (None too while they must first change their password)."""
    active = current_session()
    return None if active is None or active.must_change_password else active.principal


def _forget(token: str | None) -> None:
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state[ENDED_KEY] = True
    if token and token == browser_token():
        st.session_state[STALE_COOKIE_KEY] = token


def sign_in_local(user: str, password: str) -> Principal | None:
    """Check a local account; on success start a session for this tab. Errors are shown, not raised."""
    ops = operational_store()
    try:
        # A temporary password starts a session that gets only the change-password page (app.py, require_principal).
        principal = authenticate(ops, user, password, source="dashboard", temporary_password_ok=True)
    except AuthenticationError as exc:
        st.error(str(exc))
        return None
    st.session_state[TOKEN_KEY] = start_session(ops, principal, source="dashboard")
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state.pop(ENDED_KEY, None)
    return principal


def change_own_password(current: str, new: str, repeated: str) -> bool:
    """The signed-in user changes their password (this session stays, their others end). Errors are shown."""
    active = current_session()
    if active is None:
        st.error("Please sign in.")
        return False
    if new != repeated:
        st.error("The two new passwords differ.")
        return False
    try:
        change_password(operational_store(), active.principal.user, current, new, source="dashboard",
                        keep_session=st.session_state.get(TOKEN_KEY))
    except (AuthenticationError, PasswordPolicyError) as exc:
        st.error(str(exc))
        return False
    return True


def sign_out() -> None:
    """End this tab's session (audited) and the identity provider's session when there is one."""
    token = st.session_state.get(TOKEN_KEY)
    if token:
        end_session(operational_store(), token)
    _forget(token)
    principal = st.session_state.pop(IDP_KEY, None)
    if isinstance(principal, Principal):
        record_event(operational_store(), principal, "sign-out", reason="signed-out", source="oidc")
    if identity_provider_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def account_controls(active: ActiveSession | None) -> None:
    """What every page run shows about the session: the cookie kept in step with it, and in the sidebar who
    is signed in, with the Sign out button."""
    keep_browser_signed_in(active)
    if active is not None:
        with st.sidebar:
            st.caption(f"Signed in as **{active.principal.user}** ({active.principal.role})")
            st.button("Sign out", on_click=sign_out)


def routed() -> bool:
    """Whether this run goes through the router (app.py). Streamlit runs a page of the `pages/` folder asked
    for by URL on its own until the router has run once in the process; pages then add the account controls
    themselves."""
    return bool(st.session_state.get(ROUTED_KEY))


def keep_browser_signed_in(active: ActiveSession | None) -> None:
    """Hold this tab's session token in a browser cookie (or clear a stale one), so a reload stays signed in.

    The cookie is set by a script in the page because Streamlit answers over a websocket; it is
    ``SameSite=Strict`` (never sent by other sites), ``Secure`` over https, and expires with the session's
    absolute limit. Not HttpOnly: a script in the page can read it, which is why the token is also signed,
    revocable and short-lived.
    """
    token = st.session_state.get(TOKEN_KEY) if active is not None else None
    sent = browser_token()
    if token:
        if token == sent:
            return
        value, max_age = token, int(DEFAULT_SESSION_POLICY.absolute.total_seconds())
    elif sent or st.session_state.get(ENDED_KEY):
        value, max_age = "", 0
    else:
        return
    cookie = json.dumps(f"{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict")
    st.html(f"<script>document.cookie = {cookie} + (location.protocol === 'https:' ? '; Secure' : '');</script>",
            unsafe_allow_javascript=True, width="content")


def sign_in_page() -> None:
    """The sign-in page: the local account form, or the identity provider's button when one is configured."""
    st.title("Sign in to Oncoregistry")
    st.caption("The registry holds confidential health information: every sign-in and record view is recorded.")
    if notice := st.session_state.get(NOTICE_KEY):
        st.warning(notice)
    if identity_provider_configured():
        if principal_from_identity_provider() is not None:
            st.rerun()
        if getattr(st.user, "is_logged_in", False):
            st.error(st.session_state.pop(REFUSED_KEY, "Your account has no registry role; ask a registry "
                                                       "administrator."))
        st.button("Sign in with your organisation", on_click=st.login, type="primary")
        return
    with st.form("sign-in"):
        user = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted and sign_in_local(user, password) is not None:
        st.rerun()


def change_password_page(active: ActiveSession) -> None:
    """The change-password page; the only page a user who must change their password gets."""
    from registry.api import MIN_PASSWORD_LENGTH

    st.title("Change your password")
    if active.must_change_password:
        st.warning("Your password was set by an administrator or is temporary: choose your own before you go on.")
    with st.form("change-password"):
        current = st.text_input("Current password", type="password")
        new = st.text_input(f"New password (at least {MIN_PASSWORD_LENGTH} characters)", type="password")
        repeated = st.text_input("New password again", type="password")
        submitted = st.form_submit_button("Change password", type="primary")
    if submitted and change_own_password(current, new, repeated):
        st.session_state["password_changed"] = True
        st.rerun()
    if st.session_state.pop("password_changed", False):
        st.success("Your password was changed; your other sessions were signed out.")


def identity_provider_configured() -> bool:
    """Whether secrets.toml configures OpenID Connect for ``st.login``."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def role_from_claims(claims: Mapping[str, Any], mapping: Mapping[str, Any]) -> str | None:
    """The role an identity provider's claims map to (``[oncoregistry.roles]``), or None."""
    claim = str(mapping.get("claim", "groups"))
    raw = claims.get(claim)
    values: Iterable[Any] = raw if isinstance(raw, list | tuple) else [raw]
    given = {str(v) for v in values if v is not None}
    for role in ROLE_PRECEDENCE:
        if role in ROLES and str(mapping.get(role, "\x00")) in given:
            return role
    return None


def _claims_principal() -> tuple[str, Principal | None]:
    """(user name, principal) from the identity provider's current claims; principal None without a role."""
    claims = dict(st.user.to_dict())
    name = str(claims.get("email") or claims.get("sub") or "unknown")
    role = role_from_claims(claims, st.secrets.get("oncoregistry", {}).get("roles", {}))
    return name, Principal(name, role, frozenset()) if role else None


def local_account_refusal(name: str) -> str | None:
    """Why the provider's user `name` may not act now: a local account of the same name (one name, one identity
    in the audit trail) that is disabled or must first change its password; None when there is none such."""
    account = get_user(operational_store(), name)
    if account is not None and account.disabled:
        return "the registry account of that name is disabled; ask a registry administrator"
    if account is not None and account.must_change_password:
        return ("the registry account of that name must first change its password; ask a registry administrator "
                "to set it")
    return None


def _identity_provider_session() -> ActiveSession | None:
    """The provider's user with the role their claims map to now; signed out when that is gone, or when a local
    account of the same name has been disabled or flagged to change its password since."""
    principal = _claims_principal()[1] if getattr(st.user, "is_logged_in", False) else None
    refusal = local_account_refusal(principal.user) if principal is not None else None
    if principal is None or refusal is not None:
        ended = st.session_state.pop(IDP_KEY, None)
        if isinstance(ended, Principal) and refusal is not None:
            record_event(operational_store(), ended, "sign-out", reason=refusal, source="oidc")
        st.session_state[NOTICE_KEY] = (f"You were signed out: {refusal}." if refusal else
                                        "You were signed out: your identity provider session or role has ended.")
        return None
    st.session_state[IDP_KEY] = principal
    return ActiveSession(principal, False)


def principal_from_identity_provider() -> Principal | None:
    """After ``st.login``: the principal for the provider's user, audited; None when the user has no role."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    name, principal = _claims_principal()
    ops = operational_store()
    if principal is None:
        record_event(ops, name, "sign-in-failed", source="oidc", reason="no role mapped from claims")
        return None
    if refusal := local_account_refusal(name):
        record_event(ops, name, "sign-in-failed", source="oidc", reason=refusal)
        st.session_state[REFUSED_KEY] = f"Sign-in refused: {refusal}."
        return None
    record_event(ops, principal, "sign-in", source="oidc")
    st.session_state[IDP_KEY] = principal
    return principal
