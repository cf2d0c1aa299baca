"""Streaming NAACCR XML writer.

Writes a NAACCR XML data file (``NaaccrData`` > ``Patient`` > ``Tumor``) one patient at a time, so files
of any size are produced in constant memory. Used by the synthetic-data generator, by tests and by
exports. Layout follows the reference writer: one element or ``<Item>`` per line, indented, items in
dictionary order. Item values are checked structurally (known item, right level, legal XML characters)
but not against code lists or lengths, so tests can still produce files with invalid values on purpose.
With ``as_received`` (the export of reports as received) an unknown or misplaced item that was loaded with
a warning is written where it was received, after that element's own items, instead of being refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from pipelines.output_stream import StreamingWriter
from registry.naaccr import NAACCR_NAMESPACE, Dictionary

INDENT = "    "
# Characters that need attention in a value: markup, CR (a parser would turn a raw CR into LF) and
# everything XML 1.0 forbids (C0 controls except tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_NEEDS_WORK = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SLOW_PATH = re.compile("[ \t\n&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BLANK = " \t\n\r"
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;",
                               "\t": "&#9;"})
_FLUSH_LINES = 32_768  # encode and write in blocks of roughly 1-2 MB
_ITEM_CLOSE = "</Item>\n"


@dataclass(frozen=True)
class WriteCounts:
    """What a writer has written so far."""

    patients: int
    tumors: int
    items: int


class NaaccrXmlWriter(StreamingWriter):
    """Context manager writing a NAACCR XML file patient by patient.

    ``target`` is a path (created or overwritten) or an open binary stream (left open). ``gzip``
    defaults to compressing when the path ends in ``.gz``; gzip output carries no timestamp or file
    name, so identical input gives identical bytes.
    """

    def __init__(self, target: Path | BinaryIO, *, dictionary: Dictionary, record_type: str,
                 root_items: Mapping[str, str] | None = None, specification_version: str = "1.8",
                 time_generated: datetime | None = None, gzip: bool | None = None,
                 as_received: bool = False) -> None:
        if record_type not in ("A", "M", "C", "I"):
            raise ValueError(f"record type must be A, M, C or I, not {record_type!r}")
        self.dictionary = dictionary
        self.record_type = record_type
        self.root_items = dict(root_items or {})
        self.specification_version = specification_version
        self.time_generated = time_generated
        self.as_received = as_received
        super().__init__(target, gzip=gzip)
        # per level: naaccrId -> (dictionary rank, "<indent><Item naaccrId=...>")
        self._levels: dict[str, tuple[dict[str, int], dict[str, str]]] = {}
        for depth, level in enumerate(("NaaccrData", "Patient", "Tumor"), start=1):
            rank: dict[str, int] = {}
            opening: dict[str, str] = {}
            for position, item in enumerate(dictionary.ordered()):
                if item.level == level:
                    rank[item.naaccr_id] = position
                    opening[item.naaccr_id] = f'{INDENT * depth}<Item naaccrId="{item.naaccr_id}">'
            self._levels[level] = (rank, opening)
        self._parts: list[str] = []
        self._pending = 0
        self.patients = 0
        self.tumors = 0
        self.items = 0

    @property
    def counts(self) -> WriteCounts:
        """Patients, tumors and items written so far."""
        return WriteCounts(self.patients, self.tumors, self.items)

    def open(self) -> None:
        """Open the target and write the prolog, the root start tag and the root-level items."""
        self._open_stream()
        attrs = [("baseDictionaryUri", self.dictionary.uris[0] if self.dictionary.uris else "")]
        if len(self.dictionary.uris) > 1:
            attrs.append(("userDictionaryUri", " ".join(self.dictionary.uris[1:])))
        attrs.append(("recordType", self.record_type))
        attrs.append(("specificationVersion", self.specification_version))
        stamp = self.time_generated or datetime.now().astimezone()
        attrs.append(("timeGenerated", stamp.isoformat(timespec="seconds")))
        attrs.append(("xmlns", NAACCR_NAMESPACE))
        rendered = "".join(f' {name}="{value.translate(_ATTR_ESCAPES)}"' for name, value in attrs)
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<NaaccrData{rendered}>\n"]
        self._item_lines(self.root_items, "NaaccrData", parts)
        self._emit(parts)

    def write_patient(self, patient_items: Mapping[str, str], tumors: Iterable[Mapping[str, str]] = ()) -> int:
        """Write one patient and its tumors; return the number of tumors written.

        Raises ValueError (naming the item) for an unknown item or an item at the wrong level (unless
        ``as_received``) or a value with characters XML 1.0 cannot carry; nothing of that patient is written then.
        """
        if self._out is None:
            raise RuntimeError("writer is not open (use it as a context manager)")
        parts = [f"{INDENT}<Patient>\n"]
        items = self._item_lines(patient_items, "Patient", parts)
        count = 0
        tumor_open, tumor_close = f"{INDENT * 2}<Tumor>\n", f"{INDENT * 2}</Tumor>\n"
        for tumor in tumors:
            parts.append(tumor_open)
            items += self._item_lines(tumor, "Tumor", parts)
            parts.append(tumor_close)
            count += 1
        parts.append(f"{INDENT}</Patient>\n")
        self._emit(parts)
        self.patients += 1
        self.tumors += count
        self.items += items
        return count

    def close(self) -> WriteCounts:
        """Write the root end tag, flush and close what the writer opened; return the counts."""
        if self._out is not None:
            self._emit(["</NaaccrData>\n"])
            self._flush()
            self._release()
        return self.counts

    # -- internals -------------------------------------------------------------------------------

    def _item_lines(self, items: Mapping[str, str], level: str, parts: list[str]) -> int:
        """Append the lines of one entity's items (dictionary order, blanks omitted) to ``parts``."""
        if not items:
            return 0
        rank, opening = self._levels[level]
        try:
            keys = sorted(items, key=rank.__getitem__)
        except KeyError as exc:
            if not self.as_received:
                raise self._misplaced(str(exc.args[0]), level) from None
            keys, opening = self._as_received(items, level)
        values = [items[k] for k in keys]
        # One regex pass over the whole entity decides whether any value needs a closer look (blank,
        # whitespace, markup, control characters); most entities need none and take the fast path.
        try:
            slow = "" in values or _SLOW_PATH.search("".join(values)) is not None
        except TypeError:  # None among the values
            slow = True
        if not slow:
            parts += [opening[k] + v + _ITEM_CLOSE for k, v in zip(keys, values, strict=True)]
            return len(keys)
        written = 0
        for key, value in zip(keys, values, strict=True):
            if not value or not value.strip(_BLANK):
                continue
            if _NEEDS_WORK.search(value):
                bad = _ILLEGAL.search(value)
                if bad:
                    raise ValueError(f"item '{key}' ({level}): character U+{ord(bad.group()):04X} "
                                     "is not allowed in XML 1.0")
                value = value.translate(_ESCAPES)
            parts.append(opening[key] + value + _ITEM_CLOSE)
            written += 1
        return written

    def _as_received(self, items: Mapping[str, str], level: str) -> tuple[list[str], dict[str, str]]:
        """The entity's own items in dictionary order, then its misplaced items (dictionary order) and its
        unknown items (by naaccrId), with the opening tag of each."""
        rank, opening = self._levels[level]
        position = {item.naaccr_id: number for number, item in enumerate(self.dictionary.ordered())}
        keys = sorted(items, key=lambda k: (k not in rank, k not in position, position.get(k, 0), k))
        depth = ("NaaccrData", "Patient", "Tumor").index(level) + 1
        openings = {k: opening.get(k) or f'{INDENT * depth}<Item naaccrId="{k.translate(_ATTR_ESCAPES)}">'
                    for k in keys}
        return keys, openings

    def _misplaced(self, naaccr_id: str, level: str) -> ValueError:
        item = self.dictionary.items.get(naaccr_id)
        if item is None:
            return ValueError(f"item '{naaccr_id}' ({level}) is not in the dictionary "
                              f"(NAACCR {self.dictionary.version})")
        return ValueError(f"item '{naaccr_id}' belongs at level {item.level}, not {level}")

    def _emit(self, parts: list[str]) -> None:
        self._parts.extend(parts)
        self._pending += len(parts)
        if self._pending >= _FLUSH_LINES:
            self._flush()

    def _flush(self) -> None:
        if self._parts and self._out is not None:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._pending = 0

