"""`registry audit`: show the audit trail of the operational store and verify it has not been tampered with;
breach detection's alerts, containment, the breach report and the rules' thresholds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from registry.audit import parse_anchor, verify_chain
from registry.audit_search import parse_record, search_events
from registry.breach import DEFAULT_RULES, alerts, contain, parse_threshold, rules, scan, set_rule
from registry.breach_report import breach_report, report_csv, report_pdf
from registry.errors import InvalidRequest, RegistryError
from registry.operational import ops_path_for
from registry.operational_store import open_operational_store
from registry.principal import console_operator
from registry.store import DEFAULT_DB, owner_only_files
from registry_cli.options import DbOption
from registry_cli.terminal import cell, console, out

app = typer.Typer(help="The audit trail: show events, verify it has not been tampered with; breach alerts, "
                       "containment, the breach report and the rules' thresholds.",
                  no_args_is_help=True)


def _existing_ops(db: Path) -> Path:
    """The operational store of db, which must exist already (auditing commands never create one)."""
    path = ops_path_for(db)
    if not path.exists():
        console.print(f"{path}: no operational store here", style="red", markup=False, highlight=False)
        raise typer.Exit(2)
    return db


@app.command("show")
def audit_show(
    db: DbOption = DEFAULT_DB,
    user: Annotated[str | None, typer.Option(help="Only this user's events.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. sign-in-failed or export.")] = None,
    since: Annotated[str | None, typer.Option(help="Only from this UTC time on (ISO, e.g. 2026-01-31).")] = None,
    until: Annotated[str | None, typer.Option(help="Only before this UTC time (ISO, e.g. 2026-02-01).")] = None,
    record: Annotated[str | None, typer.Option(help="Only events naming this record: patient:ID, tumor:ID, "
                                                     "work-item:ID or review:ID (the whole id).")] = None,
    limit: Annotated[int, typer.Option(help="Most recent events to show.")] = 50,
) -> None:
    """Show the most recent audit events, newest first."""
    try:
        found = search_events(open_operational_store(_existing_ops(db)), user=user, action=action, since=since,
                              until=until, record=parse_record(record) if record else None, limit=limit)
    except RegistryError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    table = Table(title="Audit trail")
    for name in ("seq", "time (UTC)", "user", "role", "action", "detail"):
        table.add_column(name, overflow="fold", justify="right" if name == "seq" else "left")
    for e in found:
        detail = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in e.detail.items())
        table.add_row(str(e.seq), e.occurred_at[:19], cell(e.user), e.role, cell(e.action), cell(detail))
    out.print(table)


@app.command("verify")
def audit_verify(
    db: DbOption = DEFAULT_DB,
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH printed by an earlier verify; detects a "
                                                    "rewritten or truncated chain.")] = None,
) -> None:
    """Check the audit trail (keyed chain, high-water mark, triggers, accounts): exit 0 when intact, 1 when
    tampered with, listing every problem with its sequence number."""
    try:
        mark = parse_anchor(anchor) if anchor else None
        result = verify_chain(open_operational_store(_existing_ops(db)), anchor=mark)
    except (ValueError, RegistryError) as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    if result.ok:
        out.print(result.message, markup=False, highlight=False)
        return
    console.print(result.message, style="bold red", markup=False, highlight=False)
    raise typer.Exit(1)


# ---- breach detection -----------------------------------------------------------------------------------------

def _fail(exc: Exception) -> typer.Exit:
    console.print(str(exc), style="red", markup=False, highlight=False)
    return typer.Exit(2)


def _moment(text: str, name: str, *, end: bool = False) -> datetime:
    """An ISO date or time, read as UTC; a bare date is the start of that day (its end for `--to`)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(f"{name}: {text!r} is not an ISO date or time (e.g. 2026-03-01 or "
                             "2026-03-01T14:30)") from exc
    if end and len(text.strip()) == 10:
        moment = datetime.combine(moment.date(), time.max)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("alerts")
def audit_alerts(
    db: DbOption = DEFAULT_DB,
    status: Annotated[str | None, typer.Option(help="Only alerts of this status: open, acknowledged or "
                                                    "contained.")] = None,
    limit: Annotated[int, typer.Option(help="Most recent alerts to show.")] = 50,
) -> None:
    """Run breach detection over the events not read yet, then show the alerts, newest first."""
    try:
        ops = open_operational_store(_existing_ops(db))
        scan(ops, db)
        found = alerts(console_operator(), ops, status=status, limit=limit)
    except RegistryError as exc:
        raise _fail(exc) from exc
    table = Table(title="Breach alerts")
    for name in ("alert", "rule", "user", "from (UTC)", "to (UTC)", "events", "status", "evidence"):
        table.add_column(name, overflow="fold", justify="right" if name in ("alert", "events") else "left")
    for a in found:
        table.add_row(str(a.alert_id), a.rule, cell(a.user), a.window_start[:19], a.window_end[:19],
                      str(a.event_count), a.status, cell(json.dumps(a.evidence, sort_keys=True)))
    out.print(table)


@app.command("contain")
def audit_contain(
    user: Annotated[str, typer.Argument(help="The account to contain.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit trail).")],
    db: DbOption = DEFAULT_DB,
    alert: Annotated[int | None, typer.Option(help="The alert that prompted it.")] = None,
) -> None:
    """Contain a suspected breach: disable USER's account, end its open sessions, mark its alerts contained."""
    try:
        done = contain(console_operator(), open_operational_store(_existing_ops(db)), user, reason=reason,
                       alert_id=alert)
    except RegistryError as exc:
        raise _fail(exc) from exc
    contained = ", ".join(map(str, done.alerts)) or "none"
    out.print(f"{done.user}: disabled, sessions ended; alerts contained: {contained}", markup=False,
              highlight=False)


@app.command("breach-report")
def audit_breach_report(
    user: Annotated[str, typer.Argument(help="Whose record views and exports to list.")],
    start: Annotated[str, typer.Option("--from", help="Start, UTC (ISO date or time).")],
    end: Annotated[str, typer.Option("--to", help="End, UTC (ISO date or time; a date means its end).")],
    output: Annotated[Path, typer.Option("--out", help="File to write: .csv or .pdf.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Every record USER viewed or exported in the window, with when and how, and whom to notify (audited)."""
    if output.suffix.lower() not in (".csv", ".pdf"):
        raise _fail(InvalidRequest(f"{output}: the report is written as .csv or .pdf"))
    try:
        report = breach_report(console_operator(), db, open_operational_store(_existing_ops(db)), user,
                               _moment(start, "--from"), _moment(end, "--to", end=True))
        content = report_pdf(report) if output.suffix.lower() == ".pdf" else report_csv(report)
        with owner_only_files():
            output.write_bytes(content)
    except (RegistryError, OSError) as exc:
        raise _fail(exc) from exc
    out.print(f"{output}: {len(report.rows):,} rows from {report.events:,} events, {len(report.patients):,} "
              "registry patients", markup=False, highlight=False)


@app.command("rules")
def audit_rules(
    db: DbOption = DEFAULT_DB,
    set_: Annotated[list[str] | None, typer.Option("--set", help="RULE.THRESHOLD=VALUE, e.g. "
                                                                 "record-views.views=150 (repeatable).")] = None,
) -> None:
    """Show the breach rules' thresholds; with --set, change some first (audited)."""
    principal = console_operator()
    try:
        ops = open_operational_store(_existing_ops(db))
        changes: dict[str, dict[str, object]] = {}
        for text in set_ or []:
            name, equals, value = text.partition("=")
            rule, dot, key = name.strip().partition(".")
            if not (equals and dot):
                raise InvalidRequest(f"--set {text!r}: expected RULE.THRESHOLD=VALUE")
            changes.setdefault(rule, {})[key] = parse_threshold(rule, key, value)
        for rule, thresholds in changes.items():
            set_rule(principal, ops, rule, **thresholds)
        current = rules(ops)
    except RegistryError as exc:
        raise _fail(exc) from exc
    table = Table(title="Breach rules")
    for name in ("rule", "threshold", "value", "default"):
        table.add_column(name)
    for rule, settings in current.items():
        for key, value in settings.items():
            table.add_row(rule, key, json.dumps(value), json.dumps(DEFAULT_RULES[rule][key]))
    out.print(table)
