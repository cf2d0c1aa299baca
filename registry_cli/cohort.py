"""`registry cohort`: count a cohort definition (a JSON file), show its attrition, and save, list and show
definitions, for a signed-in user (counts as their role may see them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.cohort_counts import (
    cohort_attrition,
    cohort_count,
    cohort_counts_by,
    cohort_definitions,
    definition_by_id,
    save_cohort,
)
from registry.cohort_definition import CohortDefinition
from registry.errors import InvalidDefinition, RegistryError
from registry.store import DEFAULT_DB
from registry_cli.options import DbOption, UserOption, sign_in
from registry_cli.terminal import cell, out, say

app = typer.Typer(help="Cohorts: count a definition, its attrition by group, saved definitions.",
                  no_args_is_help=True)
DefinitionOption = Annotated[Path, typer.Option("--definition", "-d", help="The cohort definition (JSON file).")]


def read_definition(path: Path) -> CohortDefinition:
    """The definition in a JSON file; InvalidDefinition naming the file (and the criterion) when bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidDefinition(f"{path}: cannot read the definition: {exc}") from exc
    try:
        return CohortDefinition.from_json(text)
    except InvalidDefinition as exc:
        raise InvalidDefinition(f"{path}: {exc}") from exc


def _count(value: object) -> str:
    """A released count as shown: withheld when None or NaN."""
    number = float(str(value)) if value is not None else float("nan")
    return "withheld" if number != number else f"{int(number):,}"


def _fail(exc: RegistryError) -> typer.Exit:
    say(exc)
    return typer.Exit(2)


@app.command("count")
def count(user: UserOption, definition: DefinitionOption, db: DbOption = DEFAULT_DB,
          by: Annotated[str | None, typer.Option(help="county_fips or reporting_facility.")] = None) -> None:
    """How many registry tumors and persons the definition selects (by county or facility with --by)."""
    try:
        chosen = read_definition(definition)
        _, principal = sign_in(db, user)
        if by is None:
            released = cohort_count(principal, db, chosen)
            out.print(f"tumors: {_count(released.count('tumors'))}\npersons: {_count(released.count('persons'))}",
                      markup=False, highlight=False)
            return
        table = cohort_counts_by(principal, db, chosen, by=by).table
    except RegistryError as exc:
        raise _fail(exc) from exc
    shown = Table(title=f"{chosen.name or definition.name} by {by}")
    for column in (by, "tumors", "persons"):
        shown.add_column(column)
    for values in table.to_dict("records"):
        shown.add_row(cell(values[by] if isinstance(values[by], str) else "unknown"),
                      _count(values["tumors"]), _count(values["persons"]))
    out.print(shown)


@app.command("attrition")
def attrition_command(user: UserOption, definition: DefinitionOption, db: DbOption = DEFAULT_DB) -> None:
    """Tumors and persons left after each group of the definition (cumulative)."""
    try:
        chosen = read_definition(definition)
        _, principal = sign_in(db, user)
        table = cohort_attrition(principal, db, chosen).table
    except RegistryError as exc:
        raise _fail(exc) from exc
    shown = Table(title=f"Attrition: {chosen.name or definition.name}")
    for column in ("step", "criteria", "tumors", "persons"):
        shown.add_column(column)
    for values in table.to_dict("records"):
        shown.add_row(str(values["step"]), cell(values["label"]), _count(values["tumors"]), _count(values["persons"]))
    out.print(shown)


@app.command("save")
def save(user: UserOption, definition: DefinitionOption, db: DbOption = DEFAULT_DB) -> None:
    """Save the definition under its name (replacing yours of the same name); prints its id to share."""
    try:
        chosen = read_definition(definition)
        ops, principal = sign_in(db, user)
        saved = save_cohort(principal, ops, chosen)
    except RegistryError as exc:
        raise _fail(exc) from exc
    out.print(f"saved cohort definition {saved.definition_id}: {saved.name}", markup=False, highlight=False)


@app.command("list")
def list_command(user: UserOption, db: DbOption = DEFAULT_DB) -> None:
    """Your saved cohort definitions."""
    try:
        ops, principal = sign_in(db, user)
        saved = cohort_definitions(principal, ops)
    except RegistryError as exc:
        raise _fail(exc) from exc
    shown = Table(title=f"Saved cohort definitions ({len(saved)})")
    for column in ("id", "name", "saved at"):
        shown.add_column(column)
    for item in saved:
        shown.add_row(str(item.definition_id), cell(item.name), item.created_at)
    out.print(shown)


@app.command("show")
def show(user: UserOption, definition_id: Annotated[int, typer.Argument(help="The definition's id.")],
         db: DbOption = DEFAULT_DB,
         out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Write the JSON to this file.")] = None,
         ) -> None:
    """A saved definition (yours or shared with you by its id) as JSON, to count or edit."""
    try:
        ops, principal = sign_in(db, user)
        _, chosen = definition_by_id(principal, ops, definition_id)
    except RegistryError as exc:
        raise _fail(exc) from exc
    if out_file is None:
        out.print(chosen.to_json(), markup=False, highlight=False)
    else:
        out_file.write_text(chosen.to_json() + "\n", encoding="utf-8")
        say(f"wrote {out_file}", style="green")
