"""`registry batches` and `registry info`: what the analytic store holds, as the console operator sees it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.batches import list_batches, store_info
from registry.errors import RegistryError
from registry.principal import console_operator
from registry.store import DEFAULT_DB
from registry_cli.options import DbOption
from registry_cli.terminal import cell, out, say


def batches(db: DbOption = DEFAULT_DB,
            limit: Annotated[int, typer.Option(help="Most recent batches to show.")] = 50) -> None:
    """List ingest batches with their record counts (as the console operator, an administrator: a file's
    counts of 1-15 show as suppressed)."""
    frame = list_batches(console_operator(), db, limit=limit)
    table = Table(title=cell(f"Ingest batches in {db}"))
    for name in ("batch", "file", "format", "version", "status", "read", "loaded", "rejected", "warnings",
                 "finished"):
        if name == "file":
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, no_wrap=True, justify="right" if name not in ("format", "status") else "left")
    for r in frame.to_dict("records"):
        table.add_row(str(r["batch_id"]), cell(Path(str(r["file_name"])).name), str(r["format"]),
                      str(r["naaccr_version"]), str(r["status"]),
                      *(_released_count(r[column]) for column in ("tumors_read", "tumors_loaded",
                                                                  "tumors_rejected", "warnings")),
                      str(r["finished_at"])[:16])
    out.print(table)


def _released_count(value: float | None) -> str:
    """A count as released: "1,234", or "suppressed" when the release policy withheld it (None or NaN)."""
    return "suppressed" if value is None or math.isnan(value) else f"{int(value):,}"


def info(db: DbOption = DEFAULT_DB) -> None:
    """Show the store's size, schema version and record counts."""
    try:
        facts = store_info(console_operator(), db)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    table = Table(title="Registry store", show_header=False)
    for name, value in (
        ("path", str(facts.path)), ("size", f"{facts.size_bytes / 1e6:,.1f} MB"),
        ("schema version", str(facts.schema_version)),
        ("batches loaded / failed", f"{facts.batches_loaded} / {facts.batches_failed}"),
        ("registry patients", _released_count(facts.patients)),
        ("registry tumors", _released_count(facts.tumors)),
        ("patient reports", _released_count(facts.patient_reports)),
        ("tumor reports", _released_count(facts.tumor_reports)),
        ("reports not yet linked", _released_count(facts.unlinked_reports)),
        ("pending linkage reviews", _released_count(facts.pending_reviews)),
        ("rejected records", _released_count(facts.rejects)),
        ("diagnosis years", f"{facts.first_diagnosis_year}-{facts.last_diagnosis_year}"),
        ("last load", str(facts.last_loaded_at)[:16] if facts.last_loaded_at else "never"),
    ):
        table.add_row(name, cell(value))
    out.print(table)
