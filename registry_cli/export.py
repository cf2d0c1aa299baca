"""`registry export`: records of the store written out as files, each export recorded in the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.export import batch_ranges
from pipelines.export import export_naaccr_xml as export
from registry.errors import RegistryError
from registry.operational_store import open_operational_store
from registry.principal import console_operator
from registry.store import DEFAULT_DB
from registry_cli.administrator import announce_initial_administrator
from registry_cli.options import DbOption, user_dictionaries
from registry_cli.terminal import out, printable, say

app = typer.Typer(help="Export records from the store.", no_args_is_help=True)


@app.command("naaccr-xml")
def export_naaccr_xml(
    output: Annotated[Path, typer.Option("--output", "-o", help="The one file to write (.gz compresses).")],
    db: DbOption = DEFAULT_DB,
    batch: Annotated[list[int] | None, typer.Option(help="Batch to export (repeatable; default all).")] = None,
    identified: Annotated[bool, typer.Option(
        "--identified", help="Keep names, SSN, addresses and every other item as received (otherwise an "
                             "incidence file without direct identifiers).")] = False,
    dictionary: Annotated[list[Path] | None, typer.Option(help="User dictionary XML (repeatable).")] = None,
    records: Annotated[str, typer.Option(
        help="received: the reports as the facilities sent them; registry: one record per registry patient "
             "and tumor, with the consolidated and corrected values.")] = "received",
) -> None:
    """Export loaded batches into one NAACCR XML file; the export is recorded in the audit trail."""
    if not db.exists():
        say(f"{db}: no registry store here")
        raise typer.Exit(2)
    announce_initial_administrator(db)
    try:
        result = export(db, output, principal=console_operator(), ops=open_operational_store(db),
                        batch_ids=batch, identified=identified, user_dictionaries=user_dictionaries(dictionary),
                        records=records)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    kind = "identified" if result.identified else "without direct identifiers"
    source = ("the registry's records" if result.records == "registry"
              else f"batch(es) {batch_ranges(result.batch_ids)}")
    out.print(printable(f"{result.patients:,} patients, {result.tumors:,} tumors of {source} "
                        f"written to {output} ({kind})"),
              markup=False, highlight=False)
