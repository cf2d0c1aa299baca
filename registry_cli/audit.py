"""`registry audit`: show the audit trail of the operational store and verify it has not been tampered with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.audit import parse_anchor, parse_record, search_events, verify_chain
from registry.errors import RegistryError
from registry.operational import ops_path_for
from registry.operational_store import open_operational_store
from registry.store import DEFAULT_DB
from registry_cli.options import DbOption
from registry_cli.terminal import cell, console, out

app = typer.Typer(help="The audit trail: show events, verify it has not been tampered with.",
                  no_args_is_help=True)


def _existing_ops(db: Path) -> Path:
    """The operational store of db, which must exist already (auditing commands never create one)."""
    path = ops_path_for(db)
    if not path.exists():
        console.print(f"{path}: no operational store here", style="red", markup=False, highlight=False)
        raise typer.Exit(2)
    return db


@app.command("show")
def audit_show(
    db: DbOption = DEFAULT_DB,
    user: Annotated[str | None, typer.Option(help="Only this user's events.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. sign-in-failed or export.")] = None,
    since: Annotated[str | None, typer.Option(help="Only from this UTC time on (ISO, e.g. 2026-01-31).")] = None,
    until: Annotated[str | None, typer.Option(help="Only before this UTC time (ISO, e.g. 2026-02-01).")] = None,
    record: Annotated[str | None, typer.Option(help="Only events naming this record: patient:ID, tumor:ID, "
                                                     "work-item:ID or review:ID (the whole id).")] = None,
    limit: Annotated[int, typer.Option(help="Most recent events to show.")] = 50,
) -> None:
    """Show the most recent audit events, newest first."""
    try:
        found = search_events(open_operational_store(_existing_ops(db)), user=user, action=action, since=since,
                              until=until, record=parse_record(record) if record else None, limit=limit)
    except RegistryError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    table = Table(title="Audit trail")
    for name in ("seq", "time (UTC)", "user", "role", "action", "detail"):
        table.add_column(name, overflow="fold", justify="right" if name == "seq" else "left")
    for e in found:
        detail = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in e.detail.items())
        table.add_row(str(e.seq), e.occurred_at[:19], cell(e.user), e.role, cell(e.action), cell(detail))
    out.print(table)


@app.command("verify")
def audit_verify(
    db: DbOption = DEFAULT_DB,
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH printed by an earlier verify; detects a "
                                                    "rewritten or truncated chain.")] = None,
) -> None:
    """Check the audit trail (keyed chain, high-water mark, triggers, accounts): exit 0 when intact, 1 when
    tampered with, listing every problem with its sequence number."""
    try:
        mark = parse_anchor(anchor) if anchor else None
        result = verify_chain(open_operational_store(_existing_ops(db)), anchor=mark)
    except (ValueError, RegistryError) as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    if result.ok:
        out.print(result.message, markup=False, highlight=False)
        return
    console.print(result.message, style="bold red", markup=False, highlight=False)
    raise typer.Exit(1)
