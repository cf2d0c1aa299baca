"""`registry serve`: the dashboard run as a child process that stops when the command is stopped."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from registry.errors import RegistryError
from registry.store import DEFAULT_DB, ENV_DB
from registry_cli.administrator import announce_initial_administrator
from registry_cli.options import DbOption
from registry_cli.terminal import console


def serve(db: DbOption = DEFAULT_DB,
          port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8501,
          address: Annotated[str, typer.Option(help="Network address to listen on: 127.0.0.1 (this machine "
                                                    "only) unless you mean to open the dashboard to a network, "
                                                    "e.g. 0.0.0.0 for every interface.")] = "127.0.0.1") -> None:
    """Start the dashboard (Streamlit), by default reachable from this machine only."""
    if db.exists():
        bring_up_to_date(db)
    announce_initial_administrator(db)
    app_path = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
    env = {**os.environ, ENV_DB: str(db.resolve())}
    command = [sys.executable, "-m", "streamlit", "run", str(app_path), "--server.address", address,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer", "--client.showErrorDetails", "type"]
    host = f"[{address}]" if ":" in address else address
    where = "every network interface" if address in ("0.0.0.0", "::") else address
    console.print(f"Dashboard listening on {where}, port {port}: http://{host}:{port}", markup=False,
                  highlight=False)
    raise typer.Exit(run_until_stopped(command, env))


def bring_up_to_date(db: Path) -> None:
    """Upgrade an existing store's schema and link reports not yet linked (a store loaded before linkage
    existed), so the dashboard never counts reports as registry entities or finds tables missing."""
    from pipelines.registry_link import link_registry
    from registry.store_writes import ensure_store

    try:
        applied = ensure_store(db)
        summary = link_registry(db, user=f"console:{getpass.getuser()}")
    except RegistryError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    if applied or summary.newly_linked:
        console.print(f"store brought up to date ({', '.join(applied) or 'schema current'}); linked "
                      f"{summary.newly_linked:,} reports", markup=False, highlight=False)
    _edit_if_never_edited(db)


def _edit_if_never_edited(db: Path) -> None:
    """Run every edit set once on a store that has registry tumors but no edit run yet, and on the batches
    no edit run has covered (loaded with `--no-link` and linked since)."""
    from registry.edits import run_edits, unedited_batches
    from registry.store import read_connection
    from registry_cli.edits import sync_line

    with read_connection(db) as con:
        tumors = con.execute("SELECT count(*) FROM registry_tumor").fetchall()[0][0]
        runs = con.execute("SELECT count(*) FROM edit_run").fetchall()[0][0]
    if not tumors:
        return
    batches = None if not runs else unedited_batches(db)
    if batches == []:
        return
    try:
        summary = run_edits(db, batch_ids=batches, run_by=f"console:{getpass.getuser()}")
    except RegistryError as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    console.print(f"coding edits run: {summary.errors:,} errors, {summary.warnings:,} warnings",
                  markup=False, highlight=False)
    console.print(sync_line(db), markup=False, highlight=False)


STOP_GRACE_SECONDS = 10.0


def run_until_stopped(command: list[str], env: dict[str, str]) -> int:
    """Run a child process (the dashboard server) until it ends or this command is stopped.

    Ctrl-C (SIGINT) and SIGTERM are forwarded to the child, and the command waits for it to exit (killing
    it after STOP_GRACE_SECONDS), so stopping `registry serve` never leaves the server holding its port.
    Returns the child's exit code, or 0 when it ended because it was asked to stop.
    """
    child = subprocess.Popen(command, env=env)
    stop_asked: list[float] = []

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)
        stop_asked.append(time.monotonic())

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop_asked and time.monotonic() - stop_asked[0] > STOP_GRACE_SECONDS:
                    child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stop_asked else code
