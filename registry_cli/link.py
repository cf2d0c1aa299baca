"""`registry link`: link reports into registry patients and tumors; `registry link review`: decide the pairs the
linkage could not; `registry find-patient`: look a person up before creating a record."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from registry.errors import RegistryError
from registry.link_review import DECISION_WORDS, decide, review_queue
from registry.store import DEFAULT_DB
from registry_cli.options import DbOption, UserOption, sign_in
from registry_cli.terminal import cell, out, say

app = typer.Typer(help="Link reports into registry patients and tumors; review uncertain pairs.",
                  invoke_without_command=True)
@app.callback()
def link(ctx: typer.Context, db: DbOption = DEFAULT_DB,
         retrain: Annotated[bool, typer.Option(help="Train the linkage model again on the registry's records, "
                                                    "then score every pair again.")] = False,
         upper: Annotated[float | None, typer.Option(help="Match weight at or above which records link "
                                                         "(docs/linkage.md gives the precision and recall).")] = None,
         lower: Annotated[float | None, typer.Option(help="Match weight below which records stay apart; between "
                                                         "the two a registrar reviews the pair.")] = None) -> None:
    """Link every report not yet linked (and apply reviewers' decisions) into registry patients and tumors."""
    if ctx.invoked_subcommand is not None:
        return
    from pipelines.registry_link import link_registry

    try:
        if (upper is None) != (lower is None):
            say("--upper and --lower go together")
            raise typer.Exit(2)
        summary = link_registry(db, user=f"console:{getpass.getuser()}", retrain=retrain, force=True,
                                thresholds=None if upper is None or lower is None else (upper, lower))
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    model = f"model v{summary.model_version}" + (" (trained now)" if summary.trained else "")
    out.print(f"{summary.patient_reports:,} patient reports -> {summary.registry_patients:,} registry patients, "
              f"{summary.registry_tumors:,} registry tumors; {summary.newly_linked:,} newly linked; "
              f"pending reviews: {summary.pending_patient_reviews:,} patient, {summary.pending_tumor_reviews:,} tumor; "
              f"{model}; {summary.seconds:.1f} s", markup=False, highlight=False)
    from registry.edits import unedited_batches
    from registry_cli.edits import run_after_ingest, sync_line

    batches = unedited_batches(db)
    if batches:   # reports loaded with `--no-link` get their coding edits now that they are linked
        run_after_ingest(db, batches, f"console:{getpass.getuser()}")
    else:         # the review queue may have changed: the worklist follows it
        out.print(sync_line(db), markup=False, highlight=False)


@app.command("review")
def link_review(
    user: UserOption,
    db: DbOption = DEFAULT_DB,
    kind: Annotated[str | None, typer.Option(help="patient or tumor (default: both).")] = None,
    decide_id: Annotated[int | None, typer.Option("--decide", help="Decide this review id.")] = None,
    decision: Annotated[str | None, typer.Option(help="same or different (with --decide).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "",
    limit: Annotated[int, typer.Option(help="Pairs to list.")] = 20,
) -> None:
    """List the pairs waiting for a decision, or decide one (`--decide ID --decision same|different`).
    A decision is kept for ever and applied by the next `registry link` or ingest."""
    try:
        ops, principal = sign_in(db, user)
        if decide_id is not None:
            if decision is None:
                say("--decide needs --decision same or --decision different")
                raise typer.Exit(2)
            item = decide(ops, principal, decide_id, decision, reason)
            out.print(f"review {item.review_id}: {DECISION_WORDS[(item.kind, item.decision or '')]} "
                      f"({item.left_key} / {item.right_key}); run `registry link` to apply it",
                      markup=False, highlight=False)
            return
        items = review_queue(ops, principal, kind=kind, limit=limit)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    table = Table(title=f"Pending linkage reviews ({len(items)} shown)")
    for column in ("id", "kind", "left record", "right record", "score", "why"):
        table.add_column(column)
    for item in items:
        weights = ", ".join(f"{k} {v:+.1f}" for k, v in item.evidence.items() if isinstance(v, (int, float)))
        why = "; ".join(part for part in (str(item.evidence.get("reason", "")), weights) if part)
        table.add_row(str(item.review_id), item.kind, cell(item.left_key), cell(item.right_key),
                      "" if item.score is None else f"{item.score:.1f}", cell(str(why)))
    out.print(table)


def find_patient_command(
    user: UserOption,
    db: DbOption = DEFAULT_DB,
    last_name: Annotated[str | None, typer.Option(help="Last name.")] = None,
    first_name: Annotated[str | None, typer.Option(help="First name (nicknames are recognised).")] = None,
    birth_date: Annotated[str | None, typer.Option(help="Birth date, YYYY-MM-DD (or YYYY).")] = None,
    ssn: Annotated[str | None, typer.Option(help="Social security number.")] = None,
    mrn: Annotated[str | None, typer.Option(help="Medical record number.")] = None,
    limit: Annotated[int, typer.Option(help="Candidates to show.")] = 10,
) -> None:
    """Look a person up before creating a record: candidate registry patients, best first (registrars)."""
    from registry.linkage.find import find_patient

    try:
        ops, principal = sign_in(db, user)
        found = find_patient(principal, db, ops, last_name=last_name, first_name=first_name,
                             date_of_birth=birth_date, ssn=ssn, mrn=mrn, limit=limit)
    except RegistryError as exc:
        say(exc)
        raise typer.Exit(2) from exc
    table = Table(title=f"Candidates ({len(found)})")
    for column in ("registry patient", "probability", "weight", "name", "born", "sex", "SSN", "reports", "tumors"):
        table.add_column(column)
    for c in found:
        table.add_row(str(c.registry_patient_id), f"{c.match_probability:.1%}", f"{c.match_weight:.1f}", cell(c.name),
                      c.date_of_birth, c.sex or "", f"...{c.ssn_last4}" if c.ssn_last4 else "", str(c.reports),
                      str(c.tumors))
    out.print(table)
