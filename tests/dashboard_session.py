"""Signing a test user in to the dashboard: an account in the store's operational store and a session token."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from unittest import mock

from argon2 import PasswordHasher

from registry import accounts, sessions
from registry.operational_store import open_operational_store
from registry.principal import Principal
from registry.store import default_db_path

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "test-password-123"


def session_token(role: str, user: str | None = None, *, grants: Sequence[str] = (), db: Path | None = None) -> str:
    """A live session token for `user` (default `<role>1`) with `role` and `grants` in the store `db` (default
    $REGISTRY_DB): the account is created, or given that role, as needed. Put it in
    ``at.session_state["session_token"]``."""
    name = user or f"{role}1"
    ops = open_operational_store(db or default_db_path())
    with mock.patch.object(accounts, "PASSWORD_HASHER", CHEAP_HASHER):
        if accounts.get_user(ops, name) is None:
            accounts.create_user(ops, name, role, grants=grants, password=PASSWORD, must_change_password=False)
        else:
            accounts.update_user(ops, name, role=role, grants=grants)
    return sessions.start_session(ops, Principal(name, role, frozenset(grants)), source="test")
