"""`registry worklist`: the discrepancy worklist for a signed-in registrar (list, show and move an item, query
letters) and `registry worklist sync`, which brings it up to date with the edit failures and review queue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.errors import RegistryError
from registry.operational_store import open_operational_store
from registry.query_letters import query_letter
from registry.store import DEFAULT_DB
from registry.worklist import (
    WorkItem,
    answer_item,
    assign_item,
    close_valid,
    list_items,
    query_item,
    reopen_item,
    resolve_item,
    set_due_date,
    sync_worklist,
    work_item,
)
from registry_cli.options import DbOption, UserOption, sign_in, write_document
from registry_cli.terminal import cell, out, printable, say

app = typer.Typer(help="The discrepancy worklist: edit failures and linkage questions, followed with facilities.",
                  no_args_is_help=True)
FormatOption = Annotated[str, typer.Option("--format", help="csv or pdf.")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="The file to write.")]


def _issues(item: WorkItem) -> str:
    return "; ".join(f"{i['edit_id']}" if i["kind"] == "edit" else f"review {i['review_id']}" for i in item.issues)


@app.command("sync")
def sync(db: DbOption = DEFAULT_DB) -> None:
    """Bring the worklist up to date (after an ingest, link or edits run): one item per registry tumor."""
    try:
        done = sync_worklist(db, open_operational_store(db))
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    out.print(f"{done.failures:,} error failures and {done.questions:,} linkage questions; {done.created:,} items "
              f"created, {done.updated:,} updated, {done.resolved:,} resolved; {done.unfinished:,} unfinished"
              + (f"; {done.unlinked:,} failures of reports not linked yet" if done.unlinked else ""),
              markup=False, highlight=False)


@app.command("list")
def list_command(
    user: UserOption,
    db: DbOption = DEFAULT_DB,
    status: Annotated[str | None, typer.Option(help="open, queried, answered, resolved or closed-valid.")] = None,
    priority: Annotated[int | None, typer.Option(help="1 (changes incidence counts) or 2.")] = None,
    facility: Annotated[str | None, typer.Option(help="Reporting facility.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Registrar the items are assigned to.")] = None,
    edit: Annotated[str | None, typer.Option(help="Items failing this edit id.")] = None,
    limit: Annotated[int, typer.Option(help="Items to list.")] = 50,
) -> None:
    """Work items, unfinished and most urgent first."""
    try:
        ops, principal = sign_in(db, user)
        items = list_items(principal, ops, status=status, priority=priority, facility=facility, assignee=assignee,
                           edit_id=edit, limit=limit)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    table = Table(title=f"Work items ({len(items)} shown)")
    for column in ("id", "tumor", "status", "priority", "facility", "assignee", "due", "issues"):
        table.add_column(column)
    for i in items:
        table.add_row(str(i.work_item_id), str(i.registry_tumor_id), i.status, str(i.priority), cell(i.facility or ""),
                      cell(i.assignee or ""), i.due_date or "", cell(_issues(i)))
    out.print(table)


@app.command("show")
def show(
    item_id: Annotated[int, typer.Argument(help="The work item.")],
    user: UserOption,
    db: DbOption = DEFAULT_DB,
    query: Annotated[str | None, typer.Option("--query", help="Ask the facility this (-> queried).")] = None,
    answer: Annotated[str | None, typer.Option("--answer", help="The facility's answer (-> answered).")] = None,
    resolve: Annotated[str | None, typer.Option("--resolve", help="Resolution note (-> resolved).")] = None,
    reopen: Annotated[str | None, typer.Option("--reopen", help="Why it is taken up again (-> open).")] = None,
    close_valid_flag: Annotated[str | None, typer.Option(
        "--close-valid", help="Close as valid, setting this NAACCR override flag (e.g. overRideSiteType) on the "
                              "registry tumor; needs --reason.")] = None,
    reason: Annotated[str, typer.Option(help="Why the values are valid (with --close-valid).")] = "",
    assign: Annotated[str | None, typer.Option("--assign", help="Registrar to give it to.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due date, YYYY-MM-DD.")] = None,
) -> None:
    """Show one item with its issues and history, after applying the change given (at most one transition)."""
    transitions = {name: text for name, text in (("query", query), ("answer", answer), ("resolve", resolve),
                                                  ("reopen", reopen), ("close-valid", close_valid_flag))
                   if text is not None}
    if len(transitions) > 1:
        say(f"give at most one of --{', --'.join(transitions)}")
        raise typer.Exit(2)
    steps = {"query": query_item, "answer": answer_item, "resolve": resolve_item, "reopen": reopen_item}
    try:
        ops, principal = sign_in(db, user)
        if assign is not None:
            assign_item(principal, ops, item_id, assign)
        if due is not None:
            set_due_date(principal, ops, item_id, due)
        for name, text in transitions.items():
            if name == "close-valid":
                close_valid(principal, db, ops, item_id, text, reason)
            else:
                steps[name](principal, ops, item_id, text)
        view = work_item(principal, ops, item_id)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    i = view.item
    lines = [f"work item {i.work_item_id}: registry tumor {i.registry_tumor_id}, {i.status}, priority {i.priority}, "
             f"facility {i.facility or '-'}, assigned to {i.assignee or '-'}, due {i.due_date or '-'}"]
    lines += [f"  query: {i.query_text}"] if i.query_text else []
    lines += [f"  answer: {i.answer_text}"] if i.answer_text else []
    lines += [f"  override: {i.override_flag}"] if i.override_flag else []
    for issue in i.issues:
        if issue["kind"] == "edit":
            lines.append(f"  edit {issue['edit_id']} ({issue['severity']}): {issue['values']} - {issue['message']} "
                         f"[report {issue['report']}]")
        else:
            lines.append(f"  {issue['question']} question, review {issue['review_id']} [report {issue['report']}]")
    lines += [f"  {e.at[:16]} {e.from_status or '-'} -> {e.to_status} by {e.actor}: {e.note or ''}"
              for e in view.events]
    out.print(printable("\n".join(lines)), markup=False, highlight=False)


@app.command("letters")
def letters(
    facility: Annotated[str, typer.Option("--facility", help="Reporting facility the letter goes to.")],
    out_file: OutOption,
    user: UserOption,
    db: DbOption = DEFAULT_DB,
    format: FormatOption = "pdf",
) -> None:
    """Write the query letter of one facility: its open queries (audited as an export)."""
    write_document(db, user, out_file, lambda ops, principal: query_letter(principal, ops, facility, format=format,
                                                                      file=str(out_file.resolve())),
                   f"query letter to {facility} written to {out_file}")
