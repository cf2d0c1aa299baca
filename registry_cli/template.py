"""`registry template`: a data-entry template whose header row is NAACCR item ids."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.template import write_template
from registry.naaccr import LATEST_VERSION
from registry_cli.terminal import out, printable


def template(
    output: Annotated[Path, typer.Option("--output", "-o", help="Template file (.csv or .xlsx).")],
    naaccr_version: Annotated[str, typer.Option(help="NAACCR version of the columns.")] = LATEST_VERSION,
) -> None:
    """Write a CSV or Excel data-entry template whose header row is NAACCR item ids."""
    fmt = "xlsx" if output.suffix.lower() == ".xlsx" else "csv"
    write_template(output, naaccr_version=naaccr_version, fmt=fmt)
    out.print(printable(f"template for NAACCR v{naaccr_version} written to {output}"), markup=False, highlight=False)
