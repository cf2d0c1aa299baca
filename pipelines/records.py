"""The record stream every reader produces and the loader consumes.

A reader turns one input file into a ``SourceFile`` description and an iterator of ``RecordChunk``s.
Each chunk holds, as Arrow tables, the entities (patients and tumors) it read, every item value exactly
as received (text, blank values dropped), and the problems the reader itself noticed. Items are
validated against the dictionary by the loader, not by readers, so every format gets the same checks.

Positions: ``line`` is the 1-based line of the file where the entity or item starts (for CSV and Excel
the spreadsheet row, header = row 1). ``patient_seq`` numbers patients 1, 2, ... in file order and
``tumor_seq`` numbers tumors 1, 2, ... in file order across the whole file (0 = not a tumor).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from registry.naaccr import Dictionary

PATIENT = 1
TUMOR = 2

ENTITY_SCHEMA = pa.schema([
    ("kind", pa.uint8()),          # PATIENT or TUMOR
    ("patient_seq", pa.int32()),
    ("tumor_seq", pa.int32()),     # 0 for a patient
    ("line", pa.int64()),
    ("raw", pa.string()),          # the record as received when the reader has it cheaply (flat line,
                                   # CSV row); null for XML, where the loader rebuilds it from its items
])

ITEM_SCHEMA = pa.schema([
    ("level", pa.uint8()),         # PATIENT or TUMOR (file-level items live in SourceFile.root_items)
    ("patient_seq", pa.int32()),
    ("tumor_seq", pa.int32()),     # 0 for a patient-level item
    ("naaccr_id", pa.string()),
    ("naaccr_num", pa.int32()),    # the XML naaccrNum attribute when given, else null
    ("value", pa.string()),
    ("line", pa.int64()),
])

ISSUE_SCHEMA = pa.schema([
    ("severity", pa.string()),     # "reject" (the entity is not loaded) or "warning" (loaded, flagged)
    ("patient_seq", pa.int32()),   # 0 when the issue concerns the file
    ("tumor_seq", pa.int32()),     # 0 when the issue concerns a patient or the file
    ("line", pa.int64()),
    ("naaccr_id", pa.string()),    # the item concerned, or null
    ("reason", pa.string()),
    ("rule", pa.string()),         # short name of the check (e.g. duplicate-item); "reader" by default
])


@dataclass
class SourceFile:
    """What a reader learned about a file before (or while) reading its records."""

    path: Path
    format: str                    # "naaccr-xml", "naaccr-flat", "csv" or "excel"
    naaccr_version: str            # "140" ... "260"
    record_type: str               # "A", "M", "C" or "I"
    dictionary: Dictionary         # base + user dictionaries that apply to this file
    specification_version: str | None = None   # NAACCR XML specification version (XML only)
    root_items: dict[str, str] = field(default_factory=dict)   # NaaccrData-level items as received
    root_attributes: dict[str, str] = field(default_factory=dict)  # XML root attributes as received
    warnings: list[str] = field(default_factory=list)          # file-level warnings (foreign extensions...)
    extensions_skipped: int = 0    # foreign-namespace elements skipped (XML)


# A chunk's records as the store keeps them (`pipelines.staging`, `registry/migrations/0010_item_layouts.sql`):
# per record, the number of its layout (its items' naaccrIds in the order read: a list most records share)
# and its items' values in that order joined with U+001F (both null when the record has no item).
PATIENT_RECORD_SCHEMA = pa.schema([("patient_seq", pa.int32()), ("line", pa.int64()),
                                   ("layout_seq", pa.int32()), ("item_values", pa.string())])
TUMOR_RECORD_SCHEMA = pa.schema([("tumor_seq", pa.int32()), ("patient_seq", pa.int32()), ("line", pa.int64()),
                                 ("layout_seq", pa.int32()), ("item_values", pa.string())])
# A layout: one distinct list of naaccrIds of a level, joined with U+001F, and its number.
LAYOUT_SCHEMA = pa.schema([("level", pa.uint8()), ("layout_seq", pa.int32()), ("naaccr_ids", pa.string())])


@dataclass
class RecordChunk:
    """A slice of the file's records; every entity of a patient is in the same chunk as the patient.

    A reader that builds them cheaply (the native XML scanner) also hands over, per level (PATIENT,
    TUMOR), the chunk's records already packed (``records``: PATIENT/TUMOR_RECORD_SCHEMA) and the typed
    core's wide rows (``wide``: `pipelines.typed_core.WIDE_SCHEMAS`), one row per entity of that level in
    file order, and may check the items itself (``problems``); otherwise the loader derives all of them
    from ``items``. With ``records`` comes ``layouts``: the reader numbers the file's layouts 0, 1, ... in
    the order it first met them (a record's ``layout_seq``) and gives, per level, the texts of those first
    met in this chunk, in that order (the loader numbers them for the batch)."""

    entities: pa.Table
    items: pa.Table
    issues: pa.Table
    records: dict[int, pa.Table] | None = None
    wide: dict[int, pa.Table] | None = None
    problems: pa.Table | None = None   # the items' problems when the reader checked them itself (then
                                       # ``items`` is empty): `pipelines.validation.PROBLEM_SCHEMA`
    layouts: dict[int, list[str]] | None = None   # with ``records``: per level, the layouts first met here


class RecordReader(Protocol):
    """One input file, read lazily: ``source`` is valid once ``chunks()`` has started."""

    source: SourceFile

    def chunks(self) -> Iterator[RecordChunk]:
        """Yield the file's records in order; raise SourceFileError when the file cannot be read."""
        ...




class ChunkBuilder:
    """Accumulates entities, items and issues row by row and emits them as a RecordChunk."""

    def __init__(self) -> None:
        self._entities: dict[str, list[object]] = {name: [] for name in ENTITY_SCHEMA.names}
        self._items: dict[str, list[object]] = {name: [] for name in ITEM_SCHEMA.names}
        self._issues: dict[str, list[object]] = {name: [] for name in ISSUE_SCHEMA.names}

    def entity(self, kind: int, patient_seq: int, tumor_seq: int, line: int, raw: str | None = None) -> None:
        e = self._entities
        e["kind"].append(kind)
        e["patient_seq"].append(patient_seq)
        e["tumor_seq"].append(tumor_seq)
        e["line"].append(line)
        e["raw"].append(raw)

    def item(self, level: int, patient_seq: int, tumor_seq: int, naaccr_id: str, value: str,
             line: int, naaccr_num: int | None = None) -> None:
        i = self._items
        i["level"].append(level)
        i["patient_seq"].append(patient_seq)
        i["tumor_seq"].append(tumor_seq)
        i["naaccr_id"].append(naaccr_id)
        i["naaccr_num"].append(naaccr_num)
        i["value"].append(value)
        i["line"].append(line)

    def issue(self, severity: str, patient_seq: int, tumor_seq: int, line: int | None,
              naaccr_id: str | None, reason: str, rule: str = "reader") -> None:
        s = self._issues
        s["severity"].append(severity)
        s["patient_seq"].append(patient_seq)
        s["tumor_seq"].append(tumor_seq)
        s["line"].append(line)
        s["naaccr_id"].append(naaccr_id)
        s["reason"].append(reason)
        s["rule"].append(rule)

    def __len__(self) -> int:
        return len(self._items["value"]) + len(self._entities["kind"])

    def flush(self) -> RecordChunk:
        """Return what was gathered so far as a chunk and start afresh."""
        chunk = RecordChunk(
            entities=pa.Table.from_pydict(self._entities, schema=ENTITY_SCHEMA),
            items=pa.Table.from_pydict(self._items, schema=ITEM_SCHEMA),
            issues=pa.Table.from_pydict(self._issues, schema=ISSUE_SCHEMA),
        )
        self.__init__()  # type: ignore[misc]
        return chunk
