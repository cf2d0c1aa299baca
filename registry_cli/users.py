"""`registry users`: dashboard accounts in the operational store beside --db, managed as the console operator."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from registry.accounts import (
    DEMO_ACCOUNTS,
    create_user,
    disable_user,
    enable_user,
    ensure_demo_accounts,
    list_users,
    require_password_change,
    reset_password,
    set_password,
    sign_in_history,
    update_user,
)
from registry.errors import RegistryError
from registry.operational import OperationalStore
from registry.operational_store import open_operational_store
from registry.principal import Principal, console_operator
from registry.store import DEFAULT_DB
from registry_cli.administrator import announce_initial_administrator
from registry_cli.options import DbOption
from registry_cli.terminal import cell, console, out

app = typer.Typer(help="Dashboard user accounts (operational store beside --db).", no_args_is_help=True)
T = TypeVar("T")
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded with the change in the audit trail).")]


def _users_call(db: Path, action: Callable[[OperationalStore, Principal], T]) -> T:
    """Run action(ops, actor) as the console operator; a refused request exits 2 with its message."""
    announce_initial_administrator(db)
    try:
        return action(open_operational_store(db), console_operator())
    except RegistryError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc


@app.command("add")
def users_add(
    user: Annotated[str, typer.Argument(help="User name (unique, case-insensitive).")],
    role: Annotated[str, typer.Option(help="registrar, researcher or administrator.")],
    grant: Annotated[list[str] | None, typer.Option(help="Extra grant, e.g. lds (repeatable).")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the dashboard.")] = "",
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Create an account and print its generated password once (to be changed at first sign-in)."""
    password = _users_call(db, lambda ops, actor: create_user(ops, user, role, grants=grant or (),
                                                              display_name=display_name, actor=actor,
                                                              reason=reason))
    out.print(f"user {user!r} ({role}) created; password (shown only now): {password}", markup=False,
              highlight=False)


@app.command("disable")
def users_disable(user: Annotated[str, typer.Argument(help="User name.")], reason: ReasonOption = "",
                  db: DbOption = DEFAULT_DB) -> None:
    """Stop an account from signing in (accounts are kept for the audit trail)."""
    _users_call(db, lambda ops, actor: disable_user(ops, user, actor=actor, reason=reason))
    out.print(f"user {user!r} disabled", markup=False, highlight=False)


@app.command("enable")
def users_enable(user: Annotated[str, typer.Argument(help="User name.")], reason: ReasonOption = "",
                 db: DbOption = DEFAULT_DB) -> None:
    """Let a disabled account sign in again."""
    _users_call(db, lambda ops, actor: enable_user(ops, user, actor=actor, reason=reason))
    out.print(f"user {user!r} enabled", markup=False, highlight=False)


@app.command("set-role")
def users_set_role(
    user: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="registrar, researcher or administrator.")],
    grant: Annotated[list[str] | None, typer.Option(help="Extra grant, e.g. lds (repeatable; none given: none "
                                                         "kept).")] = None,
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Change an account's role and grants (its open sessions follow at their next page)."""
    _users_call(db, lambda ops, actor: update_user(ops, user, role=role, grants=grant or (), actor=actor,
                                                   reason=reason))
    out.print(f"user {user!r} is now {role}" + (f" with {', '.join(sorted(grant))}" if grant else ""),
              markup=False, highlight=False)


@app.command("force-change")
def users_force_change(user: Annotated[str, typer.Argument(help="User name.")], reason: ReasonOption = "",
                       db: DbOption = DEFAULT_DB) -> None:
    """Make an account change its password before anything else (its open sessions too, at their next page)."""
    _users_call(db, lambda ops, actor: require_password_change(ops, user, reason=reason, actor=actor))
    out.print(f"user {user!r} must change the password at next sign-in", markup=False, highlight=False)


@app.command("history")
def users_history(user: Annotated[str, typer.Argument(help="User name.")],
                  limit: Annotated[int, typer.Option(help="How many attempts, newest first.")] = 50,
                  db: DbOption = DEFAULT_DB) -> None:
    """An account's latest sign-in attempts: when, outcome and where from."""
    attempts = _users_call(db, lambda ops, actor: sign_in_history(ops, user, limit, actor=actor))
    table = Table(title=f"Sign-in attempts of {user}")
    for name in ("time", "outcome", "source", "locked until"):
        table.add_column(name)
    for a in attempts:
        table.add_row(a.attempted_at[:19], a.outcome, cell(a.source), (a.locked_until or "")[:19])
    out.print(table)


@app.command("reset-password")
def users_reset_password(user: Annotated[str, typer.Argument(help="User name.")], reason: ReasonOption = "",
                         db: DbOption = DEFAULT_DB) -> None:
    """Give an account a new random password (printed once, to be changed at next sign-in)."""
    password = _users_call(db, lambda ops, actor: reset_password(ops, user, actor=actor, reason=reason))
    out.print(f"new password for {user!r} (shown only now): {password}", markup=False, highlight=False)


@app.command("passwd")
def users_passwd(
    user: Annotated[str, typer.Argument(help="User name.")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the new password from the first line of standard "
                                                        "input (for scripts) instead of asking twice.")] = False,
    must_change: Annotated[bool, typer.Option("--must-change", help="Make it temporary: the user must change "
                                                                    "it at next sign-in.")] = False,
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Set an account's password, typed without echo (e.g. the initial administrator's own); ends its
    dashboard sessions."""
    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"New password for {user}", hide_input=True, confirmation_prompt=True)
    _users_call(db, lambda ops, actor: set_password(ops, user, password, must_change=must_change, actor=actor,
                                                    reason=reason))
    out.print(f"password of {user!r} set" + ("; it must be changed at next sign-in" if must_change else ""),
              markup=False, highlight=False)


@app.command("demo")
def users_demo(db: DbOption = DEFAULT_DB) -> None:
    """Create the documented demo accounts, one per role (for demonstration stores only)."""
    ensure_demo_accounts(open_operational_store(db))
    table = Table(title="Demo accounts (for the demo only; never on a store with real data)")
    for column in ("user", "password", "role"):
        table.add_column(column)
    for user, (role, password) in DEMO_ACCOUNTS.items():
        table.add_row(user, password, role)
    out.print(table)


@app.command("list")
def users_list(db: DbOption = DEFAULT_DB) -> None:
    """List accounts: role, grants, state and last sign-in (never password hashes)."""
    announce_initial_administrator(db)
    table = Table(title="User accounts")
    for name in ("user", "display name", "role", "grants", "state", "must change password", "last sign-in"):
        table.add_column(name)
    for a in list_users(open_operational_store(db)):
        table.add_row(cell(a.user), cell(a.display_name), a.role, ", ".join(sorted(a.grants)),
                      "disabled" if a.disabled else "active", "yes" if a.must_change_password else "",
                      (a.last_sign_in or "")[:19])
    out.print(table)
