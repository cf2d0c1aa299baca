"""The `registry` command, assembled from one module per command or command group."""

from __future__ import annotations

import logging

import typer

from registry_cli import (
    audit,
    cohort,
    cohort_export,
    edits,
    export,
    ingest,
    link,
    population,
    quality,
    report,
    sample,
    serve,
    store,
    template,
    users,
    worklist,
)

# splink warns of every comparison level training did not see; the linkage run reports its own summary.
logging.getLogger("splink").setLevel(logging.ERROR)

app = typer.Typer(help="Oncoregistry: cancer registry ingest, store and dashboard.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.command()(ingest.ingest)
app.command()(sample.sample)
app.command()(store.batches)
app.command()(store.info)
app.command()(template.template)
app.command()(serve.serve)
app.add_typer(link.app, name="link")
app.command("find-patient")(link.find_patient_command)
app.add_typer(export.app, name="export")
app.add_typer(population.app, name="population")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(edits.app, name="edits")
app.add_typer(worklist.app, name="worklist")
app.add_typer(quality.app, name="quality")
app.add_typer(report.app, name="report")
cohort_export.register(cohort.app)
app.add_typer(cohort.app, name="cohort")
