"""Numbered `.sql` schema migrations shipped with the package, read the same way for both stores.

A migration is a file `NNNN_name.sql` in a folder under `registry/migrations/` (the analytic store's in the
folder itself, the operational store's in `operational/`); files are applied in number order and an
applied file is never edited: a schema change is a new file.
"""

from __future__ import annotations

import re
from importlib import resources

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files(*folder: str) -> list[tuple[int, str, str]]:
    """(number, file name, sql) of every migration in `registry/<folder...>`, in number order."""
    found = []
    for entry in resources.files("registry").joinpath(*folder).iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    numbers = [number for number, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"registry/{'/'.join(folder)}: two migrations share a number")
    return sorted(found)
