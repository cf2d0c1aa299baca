"""`registry population`: SEER population files loaded as denominators, and what the store holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipelines.population import load_population, population_loads, population_summary
from registry.errors import RegistryError, SourceFileError
from registry.store import DEFAULT_DB
from registry_cli.options import DbOption, expand_paths
from registry_cli.terminal import cell, out, printable, say

app = typer.Typer(help="Population denominators from SEER population files.", no_args_is_help=True)


def _states_text(states: list[str], shown: int = 8) -> str:
    """State abbreviations, or their count and range when there are many."""
    if len(states) <= shown:
        return " ".join(states)
    return f"{len(states)} ({states[0]} ... {states[-1]})"


@app.command("load")
def population_load(
    paths: Annotated[list[str], typer.Argument(help="SEER population files, folders or globs (.gz is read "
                                                    "transparently).")],
    db: DbOption = DEFAULT_DB,
    user: Annotated[str | None, typer.Option(help="Recorded as the file's loader.")] = None,
) -> None:
    """Load SEER population files; each replaces the rows of the states and years it covers.

    Exit code 0 when every file loaded (or was already loaded), 2 when a file could not be read.
    """
    files, missing = expand_paths(paths)
    for arg in missing:
        say(f"{arg}: no such file or folder")
    failed = bool(missing)
    for path in files:
        try:
            result = load_population(path, db_path=db, user=user)
        except (SourceFileError, RegistryError) as exc:
            say(exc)
            failed = True
            continue
        if result.status == "duplicate":
            say(result.message, "yellow")
            continue
        replaced = f", replaced {result.replaced_rows:,} earlier rows" if result.replaced_rows else ""
        out.print(printable(f"{path}: load {result.load_id}: {result.rows:,} rows, years {result.first_year}-"
                            f"{result.last_year}, states {_states_text(result.states)}, total population "
                            f"{result.total_population:,}{replaced}"), markup=False, highlight=False)
    if failed:
        raise typer.Exit(2)


@app.command("summary")
def population_summary_command(db: DbOption = DEFAULT_DB) -> None:
    """Show the population in the store by state, and the files it came from."""
    try:
        states = population_summary(db)
        loads = population_loads(db)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    if states.empty:
        out.print(printable(f"{db}: no population loaded (run `registry population load`)"), markup=False)
        return
    table = Table(title=cell(f"Population in {db}"))
    for name in ("state", "years", "counties", "rows", "latest year population", "loads"):
        table.add_column(name, justify="left" if name in ("state", "years") else "right")
    for s in states.to_dict("records"):
        table.add_row(f"{s['state_abbr']} ({s['state_fips']})", f"{s['first_year']}-{s['last_year']} ({s['years']})",
                      f"{s['counties']:,}", f"{s['rows']:,}", f"{s['latest_population']:,}",
                      ", ".join(str(i) for i in s["load_ids"]))
    out.print(table)
    files = Table(title="Population files loaded")
    for name in ("load", "file", "rows", "years", "states", "total", "loaded"):
        files.add_column(name, overflow="fold", justify="left" if name in ("file", "states", "loaded") else "right")
    for f in loads.to_dict("records"):
        files.add_row(str(f["load_id"]), cell(Path(str(f["file_name"])).name), f"{f['rows']:,}",
                      f"{f['first_year']}-{f['last_year']}", _states_text(list(f["states"])),
                      f"{f['total_population']:,}",
                      str(f["loaded_at"])[:16])
    out.print(files)
