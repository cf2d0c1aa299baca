"""Builders of small NAACCR flat lines and helpers that gather a reader's chunks, for reader tests."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.records import RecordReader
from registry.naaccr import FLAT_LINE_LENGTHS, base_dictionary


def flat_line(version: str, record_type: str, values: dict[str, str]) -> str:
    """A valid flat line: every item at its dictionary columns, leftZero items zero-padded, others blank.

    ``recordType`` and ``naaccrRecordVersion`` are filled in unless ``values`` gives them.
    """
    dictionary = base_dictionary(version)
    width = FLAT_LINE_LENGTHS[version][record_type]
    line = [" "] * width
    values = {"recordType": record_type, "naaccrRecordVersion": version, **values}
    for naaccr_id, value in values.items():
        item = dictionary.items[naaccr_id]
        if item.start_column is None or item.start_column + item.length - 1 > width:
            raise ValueError(f"{naaccr_id} has no column in a v{version} {record_type} record")
        if len(value) > item.length:
            raise ValueError(f"{naaccr_id} value {value!r} is longer than {item.length}")
        if item.padding == "leftZero":
            field = value.rjust(item.length, "0")
        elif item.padding == "leftBlank":
            field = value.rjust(item.length)
        else:
            field = value.ljust(item.length)
        start = item.start_column - 1
        line[start:start + item.length] = field
    return "".join(line)


def write_lines(path: Path, lines: Sequence[str], *, newline: str = "\n", encoding: str = "utf-8",
                compress: bool = False) -> Path:
    """Write lines (each followed by ``newline``) to path, gzip-compressed when asked."""
    data = "".join(line + newline for line in lines).encode(encoding)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@dataclass
class ReadResult:
    """Everything a reader produced, with the chunk count."""

    entities: list[dict[str, Any]]
    items: list[dict[str, Any]]
    issues: list[dict[str, Any]]
    chunks: int

    def tumor_items(self) -> dict[int, dict[str, str]]:
        """tumor_seq -> {naaccrId: value} of tumor-level items."""
        out: dict[int, dict[str, str]] = {}
        for row in self.items:
            if row["tumor_seq"]:
                out.setdefault(row["tumor_seq"], {})[row["naaccr_id"]] = row["value"]
        return out

    def patient_items(self) -> dict[int, dict[str, str]]:
        """patient_seq -> {naaccrId: value} of patient-level items."""
        out: dict[int, dict[str, str]] = {}
        for row in self.items:
            if not row["tumor_seq"]:
                out.setdefault(row["patient_seq"], {})[row["naaccr_id"]] = row["value"]
        return out

    def kinds(self) -> list[tuple[int, int, int, int]]:
        """(kind, patient_seq, tumor_seq, line) of every entity, in order."""
        return [(e["kind"], e["patient_seq"], e["tumor_seq"], e["line"]) for e in self.entities]


def read_all(reader: RecordReader) -> ReadResult:
    """Run a reader to the end and concatenate its chunks."""
    entities: list[pa.Table] = []
    items: list[pa.Table] = []
    issues: list[pa.Table] = []
    count = 0
    for chunk in reader.chunks():
        count += 1
        entities.append(chunk.entities)
        items.append(chunk.items)
        issues.append(chunk.issues)
    return ReadResult(_rows(entities), _rows(items), _rows(issues), count)


def _rows(tables: Iterable[pa.Table]) -> list[dict[str, Any]]:
    return [row for table in tables for row in table.to_pylist()]
