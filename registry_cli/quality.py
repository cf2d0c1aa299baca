"""`registry quality certify`: the data-quality certification scorecard per diagnosis year, as the console operator
(an administrator) sees it: counts of 1-15 and the figures computed from them show as suppressed."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.table import Table

from registry.certification import STANDARDS, certification
from registry.errors import RegistryError
from registry.principal import console_operator
from registry.store import DEFAULT_DB
from registry_cli.options import DbOption
from registry_cli.terminal import cell, out, say

app = typer.Typer(help="Data-quality certification against the NAACCR and NPCR standards.", no_args_is_help=True)
BADGES = {True: "pass", False: "FAIL"}
SHORT = {"naaccr_gold": "Gold", "naaccr_silver": "Silver", "npcr_national": "NPCR", "npcr_advanced": "NPCR adv."}


def _value(value: float, unit: str, suppressed: bool) -> str:
    if suppressed:
        return "suppressed"
    if value is None or math.isnan(value):
        return "not computed"
    return f"{value:.2f}%" if unit == "%" else f"{value:.2f} {unit}"


@app.command()
def certify(db: DbOption = DEFAULT_DB,
            year: Annotated[list[int] | None, typer.Option(help="Diagnosis year (repeat for several; "
                                                                 "default: every year).")] = None) -> None:
    """Print each year's scorecard: criterion, value, and per standard its threshold and pass or FAIL."""
    try:
        released = certification(console_operator(), db, year or None)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    frame = released.table
    for chosen, rows in frame.groupby("diagnosis_year"):
        table = Table(title=cell(f"Data-quality certification {chosen} ({db})"))
        table.add_column("criterion")
        table.add_column("value", justify="right")
        for standard in STANDARDS:
            table.add_column(SHORT[standard], justify="left")
        for r in rows.to_dict("records"):
            verdicts = [f"{r[s]} {BADGES.get(r[f'{s}_pass'], '-')}" if r[s] else "" for s in STANDARDS]
            table.add_row(cell(r["label"]), _value(r["value"], r["unit"], bool(r.get("suppressed", False))),
                          *verdicts)
        out.print(table)
    if "not computed" in str(released.provenance.method):
        say("passing the edits is not computed: the publication edits have not run (`registry edits run`)")
