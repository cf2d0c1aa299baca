"""Who is using the dashboard: sign-in with a local account or the registry's identity provider.

Local accounts (``registry.accounts``, argon2id, lockout) are the default. When a registry configures
OpenID Connect for Streamlit (an ``[auth]`` section in ``.streamlit/secrets.toml``), the sign-in page
offers ``st.login`` instead, and the role comes from a claim mapped in ``[oncoregistry.roles]``::

    [oncoregistry.roles]
    claim = "groups"                 # the claim that carries group or role names
    registrar = "cancer-registrars"  # claim value -> role
    researcher = "registry-researchers"
    administrator = "registry-admins"

A signed-in user is a ``registry.Principal`` kept in the session; every sign-in (either kind, success or
failure) writes one audit event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import streamlit as st

from registry.accounts import AuthenticationError, authenticate
from registry.audit import record_event
from registry.operational import open_operational_store
from registry.principal import ROLES, Principal
from registry.store import default_db_path

SESSION_KEY = "principal"
ROLE_PRECEDENCE = ("administrator", "registrar", "researcher")   # a user in several groups gets the first


def current_principal() -> Principal | None:
    """The signed-in user of this browser session, if any."""
    value = st.session_state.get(SESSION_KEY)
    return value if isinstance(value, Principal) else None


def sign_in_local(user: str, password: str) -> Principal | None:
    """Check a local account; on success keep the principal in the session. Errors are shown, not raised."""
    try:
        principal = authenticate(open_operational_store(default_db_path()), user, password, source="dashboard")
    except AuthenticationError as exc:
        st.error(str(exc))
        return None
    st.session_state[SESSION_KEY] = principal
    return principal


def sign_out() -> None:
    """Forget the session's principal (and the identity provider's session when there is one)."""
    st.session_state.pop(SESSION_KEY, None)
    if identity_provider_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


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


def principal_from_identity_provider() -> Principal | None:
    """After ``st.login``: the principal for the provider's user, audited; None when the user has no role."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    claims = dict(st.user.to_dict())
    name = str(claims.get("email") or claims.get("sub") or "unknown")
    mapping = st.secrets.get("oncoregistry", {}).get("roles", {})
    role = role_from_claims(claims, mapping)
    ops = open_operational_store(default_db_path())
    if role is None:
        record_event(ops, name, "sign-in-failed", source="oidc", reason="no role mapped from claims")
        return None
    principal = Principal(name, role, frozenset())
    record_event(ops, principal, "sign-in", source="oidc")
    st.session_state[SESSION_KEY] = principal
    return principal
