"""`registry edits report`: the edit report of one ingest batch or one reporting facility, to send back to it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from registry.edit_reports import edit_report
from registry.errors import RegistryError
from registry.store import DEFAULT_DB, owner_only_files
from registry_cli.link import UserOption, sign_in
from registry_cli.options import DbOption
from registry_cli.terminal import out, printable, say

app = typer.Typer(help="Coding edits: reports of their failures.", no_args_is_help=True)


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
    try:
        ops, principal = sign_in(db, user)
        document = edit_report(principal, db, ops, batch_id=batch, facility=facility, format=format)
        with owner_only_files():
            out_file.write_bytes(document)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    out.print(printable(f"edit report written to {out_file}"), markup=False, highlight=False)
