"""`registry report annual`: the annual report for funding bodies (PDF) of one diagnosis year."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from registry.annual_report import annual_report
from registry.errors import RegistryError
from registry.principal import console_operator
from registry.store import DEFAULT_DB, owner_only_files
from registry_cli.options import DbOption
from registry_cli.terminal import out, printable, say

app = typer.Typer(help="Printable reports for funding bodies.")


@app.command("annual")
def annual(year: Annotated[int, typer.Option("--year", help="Diagnosis year the report covers.")],
           out_file: Annotated[Path, typer.Option("--out", "-o", help="The PDF file to write.")],
           db: DbOption = DEFAULT_DB) -> None:
    """Write the annual report of one diagnosis year as PDF: cases by facility, site groups and their trend,
    recurrences, treatment, payer, residency, timeliness and registrar workload (released as an administrator
    receives them: small cells suppressed; audited as an export by console:<user>)."""
    try:
        document = annual_report(console_operator(), db, year)
        with owner_only_files():
            out_file.write_bytes(document)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    out.print(printable(f"annual report {year} written to {out_file} ({len(document):,} bytes)"), markup=False,
              highlight=False)
