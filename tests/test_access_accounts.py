"""Role x account-management function: every public function of ``registry.accounts`` that acts for someone
(an ``actor``) refuses registrars and researchers and lets administrators (MANAGE_USERS) through; a new one
without a row here fails ``test_every_account_function_has_a_row``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from dashboard.page_list import PAGE_LIST
from registry import accounts
from registry.access import MANAGE_USERS, allowed
from registry.audit import events
from registry.errors import AccountError
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import ROLES, Principal
from tests.dashboard_session import CHEAP_HASHER

PASSWORD = "correct horse battery"
Call = Callable[[OperationalStore, Principal], object]
# function -> a call of it on the account "ana" as `actor`
ROWS: dict[str, Call] = {
    "create_user": lambda ops, actor: accounts.create_user(ops, "bob", "researcher", actor=actor, reason="r"),
    "update_user": lambda ops, actor: accounts.update_user(ops, "ana", grants=["lds"], actor=actor, reason="r"),
    "disable_user": lambda ops, actor: accounts.disable_user(ops, "ana", actor=actor, reason="r"),
    "enable_user": lambda ops, actor: accounts.enable_user(ops, "ana", actor=actor, reason="r"),
    "reset_password": lambda ops, actor: accounts.reset_password(ops, "ana", actor=actor, reason="r"),
    "set_password": lambda ops, actor: accounts.set_password(ops, "ana", "another long password", actor=actor,
                                                             reason="r"),
    "require_password_change": lambda ops, actor: accounts.require_password_change(ops, "ana", actor=actor,
                                                                                   reason="r"),
    "sign_in_history": lambda ops, actor: accounts.sign_in_history(ops, "ana", actor=actor),
}


@pytest.fixture
def ops(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> OperationalStore:
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)
    store = open_operational_store(db_path)
    accounts.create_user(store, "ana", "registrar", password=PASSWORD)
    return store


def test_every_account_function_has_a_row() -> None:
    acting = {name for name, function in inspect.getmembers(accounts, inspect.isfunction)
              if not name.startswith("_") and function.__module__ == accounts.__name__
              and "actor" in inspect.signature(function).parameters}
    assert acting == set(ROWS)


@pytest.mark.parametrize("function", sorted(ROWS))
@pytest.mark.parametrize("role", ROLES)
def test_only_administrators_manage_accounts(ops: OperationalStore, role: str, function: str) -> None:
    actor = Principal(f"access-{role}", role)
    before = len(events(ops, limit=None))
    if allowed(actor, MANAGE_USERS):
        ROWS[function](ops, actor)
        assert role == "administrator"
        return
    with pytest.raises(AccountError, match="only administrators"):
        ROWS[function](ops, actor)
    assert len(events(ops, limit=None)) == before                     # nothing changed, nothing recorded
    account = accounts.get_user(ops, "ana")
    assert account is not None and account.grants == frozenset() and not account.disabled
    assert not account.must_change_password and accounts.get_user(ops, "bob") is None


def test_the_users_page_needs_manage_users() -> None:
    assert ("users", "Users", "Administration", MANAGE_USERS) in PAGE_LIST
