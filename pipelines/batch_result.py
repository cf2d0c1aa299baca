"""What happened to one ingested file: the loader fills it, validation summarises into it, the command prints it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BatchResult:
    """What happened to one file: counts, rejects and warnings by rule, and example messages."""

    path: Path
    sha256: str
    status: str                      # "loaded", "duplicate" or "failed"
    batch_id: int | None = None
    format: str | None = None
    naaccr_version: str | None = None
    patients_read: int = 0
    patients_loaded: int = 0
    patients_rejected: int = 0
    tumors_read: int = 0
    tumors_loaded: int = 0
    tumors_rejected: int = 0
    patients_unchanged: int = 0      # re-sent with the same content: read, neither loaded nor rejected
    tumors_unchanged: int = 0
    warnings: int = 0
    rejects_by_rule: dict[str, int] = field(default_factory=dict)
    warnings_by_rule: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)   # first problems, each naming file, record, item
    message: str | None = None       # why a failed file could not be read; for a duplicate, which batch
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)   # wall time per loader stage (read and check,
                                                                   # typed core, re-sent reports, commit, link)
    edit_errors: int | None = None   # coding edits run after linkage: error- and warning-level failures found
    edit_warnings: int | None = None
