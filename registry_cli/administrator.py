"""The initial administrator of a new operational store, whose password the console shows once."""

from __future__ import annotations

from pathlib import Path

from registry.accounts import INITIAL_ADMINISTRATOR, ensure_initial_administrator
from registry.operational_store import open_operational_store
from registry_cli.terminal import console


def announce_initial_administrator(db: Path) -> None:
    """Open (or create) the operational store of db; on a new one, print the initial administrator's
    password once. Called by `registry users ...`, `registry export` and `registry serve`."""
    password = ensure_initial_administrator(open_operational_store(db))
    if password:
        console.print(f"New operational store: administrator {INITIAL_ADMINISTRATOR!r} created with password "
                      f"{password} (shown only now; it must be changed at first sign-in, or now with "
                      f"`registry users passwd {INITIAL_ADMINISTRATOR}`)",
                      style="bold yellow", markup=False, highlight=False)
