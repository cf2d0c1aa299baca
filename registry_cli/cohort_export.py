"""`registry cohort export` and `registry cohort requests`: a governed, de-identified cohort extract for a
signed-in user, and the administrator's answers to export requests (list, approve, refuse, limit)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.definition_export import export_definition
from registry.errors import RegistryError
from registry.export_requests import (
    LIMITED_DATA_SET,
    SAFE_HARBOR,
    ExportRequest,
    approve_request,
    list_requests,
    own_requests,
    refuse_request,
    set_export_settings,
)
from registry.store import DEFAULT_DB
from registry_cli.cohort import read_definition
from registry_cli.options import DbOption, UserOption, sign_in
from registry_cli.terminal import cell, out, printable, say


def export_command(
    user: UserOption,
    definition: Annotated[Path, typer.Option("--definition", help="The cohort definition (JSON file).")],
    variables: Annotated[str, typer.Option("--variables", help="NAACCR item ids, comma-separated "
                                                               "(e.g. primarySite,dateOfDiagnosis,sex).")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The ZIP to write.")],
    file_format: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx.")] = "csv",
    k: Annotated[int | None, typer.Option("--k", help="k of k-anonymity (at least the registry's).")] = None,
    limited_data_set: Annotated[bool, typer.Option(
        "--limited-data-set", help="Dates, exact ages, county and ZIP5 (lds grant; needs an approved request).")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export a cohort's records, de-identified, with its data dictionary and manifest, in one ZIP."""
    try:
        ops, principal = sign_in(db, user)
        result = export_definition(principal, db, ops, read_definition(definition),
                                   variables=[v.strip() for v in variables.split(",") if v.strip()],
                                   file_format=file_format, destination=out_file, k=k,
                                   kind=LIMITED_DATA_SET if limited_data_set else SAFE_HARBOR)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    if result.status == "pending" and result.request is not None:
        say(f"export request {result.request.id} ({result.request.row_count:,} tumors) is waiting for an "
            "administrator's approval; run the same command again once it is approved")
        raise typer.Exit(3)
    assert result.manifest is not None
    anonymity = result.manifest["k_anonymity"]
    withheld = (f"; k = {anonymity['k']}: {anonymity['rows_generalised']:,} rows generalised, "
                f"{anonymity['rows_withheld']:,} withheld") if anonymity.get("k") else ""
    out.print(printable(f"{result.manifest['rows']:,} rows of {result.manifest['persons']:,} persons written to "
                        f"{out_file}{withheld}"), markup=False, highlight=False)


requests_app = typer.Typer(help="Cohort export requests: list yours, or (administrators) approve, refuse and set "
                                "the export limit.", no_args_is_help=True)


def _show(requests: list[ExportRequest]) -> None:
    table = Table(title=f"Export requests ({len(requests)})")
    for column in ("id", "requester", "kind", "rows", "format", "status", "decided by", "DUA / reason", "created"):
        table.add_column(column)
    for r in requests:
        table.add_row(str(r.id), cell(r.requester), r.kind, f"{r.row_count:,}", r.format, r.status,
                      cell(r.decided_by or ""), cell(r.dua_reference or r.reason or ""), r.created_at[:19])
    out.print(table)


@requests_app.command("list")
def requests_list(
    user: UserOption,
    db: DbOption = DEFAULT_DB,
    status: Annotated[str | None, typer.Option(help="pending, approved, refused or exported.")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Every requester's (administrators).")] = False,
) -> None:
    """Export requests, newest first: your own, or with --all every requester's."""
    try:
        ops, principal = sign_in(db, user)
        found = (list_requests if everyone else own_requests)(principal, ops, status=status)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    _show(found)


@requests_app.command("approve")
def requests_approve(
    request_id: Annotated[int, typer.Argument(help="The request's id.")],
    user: UserOption,
    dua: Annotated[str, typer.Option("--dua", help="The data use agreement's reference.")],
    note: Annotated[str | None, typer.Option(help="A note for the requester.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Approve a pending export request under a data use agreement."""
    try:
        ops, principal = sign_in(db, user)
        done = approve_request(principal, ops, request_id, dua_reference=dua, note=note)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    out.print(printable(f"export request {done.id} of {done.requester} approved under {done.dua_reference}"),
              markup=False, highlight=False)


@requests_app.command("refuse")
def requests_refuse(
    request_id: Annotated[int, typer.Argument(help="The request's id.")],
    user: UserOption,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the requester.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Refuse a pending export request, with the reason the requester reads."""
    try:
        ops, principal = sign_in(db, user)
        done = refuse_request(principal, ops, request_id, reason=reason)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    out.print(printable(f"export request {done.id} of {done.requester} refused"), markup=False, highlight=False)


@requests_app.command("limit")
def requests_limit(
    user: UserOption,
    rows: Annotated[int | None, typer.Option("--rows", help="Tumors above which an export needs approval.")] = None,
    k: Annotated[int | None, typer.Option("--k", help="The smallest k of k-anonymity.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Set the export size above which approval is needed, and the smallest k (administrators)."""
    try:
        ops, principal = sign_in(db, user)
        settings = set_export_settings(principal, ops, row_limit=rows, k=k)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    out.print(f"exports of more than {settings.row_limit:,} tumors need approval; k-anonymity k >= {settings.k}",
              markup=False, highlight=False)


def register(cohort_app: typer.Typer) -> None:
    """Add `export` and `requests` to the `registry cohort` group."""
    cohort_app.command("export")(export_command)
    cohort_app.add_typer(requests_app, name="requests")
