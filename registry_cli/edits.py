"""`registry edits run`: run the coding edits on the store; `registry edits list`: the edits and their sets;
`registry edits report`: the edit report of one ingest batch or one reporting facility, to send back to it."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.edit_reports import edit_report
from registry.edits import EditRunSummary, edit_definitions, run_edits
from registry.errors import RegistryError
from registry.operational_store import open_operational_store
from registry.store import DEFAULT_DB
from registry.worklist import sync_worklist
from registry_cli.options import DbOption, UserOption, write_document
from registry_cli.terminal import cell, out, say

app = typer.Typer(help="Coding edits: check every report and registry tumor against the NAACCR code lists and rules.")


def summary_line(summary: EditRunSummary) -> str:
    """One line: what was edited and what failed."""
    return (f"edits: {summary.reports:,} reports and {summary.tumors:,} registry tumors edited; "
            f"{summary.errors:,} errors, {summary.warnings:,} warnings ({summary.seconds:.1f} s)")


def sync_line(db: Path) -> str:
    """Bring the discrepancy worklist up to date with the edits and the review queue; one line saying how."""
    done = sync_worklist(db, open_operational_store(db))
    return (f"worklist: {done.created:,} new, {done.updated:,} updated, {done.resolved:,} resolved work items; "
            f"{done.unfinished:,} unfinished")


def run_after_ingest(db: Path, batch_ids: list[int], user: str | None) -> None:
    """Run every edit set on the new batches' reports and the registry tumors they are linked to, bring the
    worklist up to date, and print both summaries (edit failures never change the ingest's exit code)."""
    try:
        summary = run_edits(db, batch_ids=batch_ids, run_by=user or getpass.getuser())
        out.print(summary_line(summary), markup=False, highlight=False)
        out.print(sync_line(db), markup=False, highlight=False)
    except RegistryError as exc:
        say(exc)


@app.command("run")
def run(db: DbOption = DEFAULT_DB,
        edit_set: Annotated[str | None, typer.Option("--set", help="incoming or publication (default: both).")] = None,
        batch: Annotated[list[int] | None, typer.Option("--batch", help="Only this batch's reports and the "
                                                                        "registry tumors they are linked to "
                                                                        "(repeatable).")] = None) -> None:
    """Run the coding edits (the whole registry unless --batch), replacing the failures of what they cover."""
    try:
        summary = run_edits(db, edit_set=edit_set, batch_ids=batch or None, run_by=f"console:{getpass.getuser()}")
        out.print(summary_line(summary) + f"; runs {', '.join(str(r) for r in summary.run_ids)}", markup=False,
                  highlight=False)
        out.print(sync_line(db), markup=False, highlight=False)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc


@app.command("list")
def list_edits() -> None:
    """List the coding edits: id, sets, severity, the items they read and the override flag that clears them."""
    table = Table(title="Coding edits")
    for column in ("id", "sets", "severity", "items", "override", "NAACCR edit"):
        table.add_column(column)
    for edit in edit_definitions():
        table.add_row(edit.id, ", ".join(edit.sets), edit.severity, cell(", ".join(edit.items)), edit.override,
                      cell(edit.name))
    out.print(table)


@app.command("report")
def report(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    user: UserOption,
    db: DbOption = DEFAULT_DB,
    batch: Annotated[int | None, typer.Option("--batch", help="Ingest batch (a submitted file).")] = None,
    facility: Annotated[str | None, typer.Option("--facility", help="Reporting facility (all its files).")] = None,
    format: Annotated[str, typer.Option("--format", help="csv or pdf.")] = "pdf",
) -> None:
    """Write the edit report of one batch or one facility: failures by edit, then each failing record."""
    write_document(db, user, out_file, lambda ops, principal: edit_report(
        principal, db, ops, batch_id=batch, facility=facility, format=format, file=str(out_file.resolve())),
        f"edit report written to {out_file}")
