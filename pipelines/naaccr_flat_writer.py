"""Streaming writer of legacy NAACCR fixed-width ("flat") files, NAACCR v14, v15, v16 and v18.

The counterpart of ``pipelines/readers/flat.py`` and the flat sibling of ``naaccr_xml_writer``: one line
per tumor, every line exactly as long as its version and record type require (``FLAT_LINE_LENGTHS``),
each item at the columns the version's dictionary gives it. A patient's items (and the file-level items)
are repeated on each of its tumors' lines, as the format requires; ``recordType`` and
``naaccrRecordVersion`` are filled in on every line. Patients are written one at a time, so files of any
size are produced in constant memory.

Values are placed as the dictionary's ``padding`` says: ``rightBlank`` (text, left-aligned),
``leftBlank`` (right-aligned), ``leftZero`` (zero-filled on the left, e.g. '5' -> '005') and
``rightZero``. A blank value leaves its columns blank. Spaces around a value are dropped, except for the
few ``trim="none"`` items (reserved fields, state requestor items), which are written as given. None
and a float NaN (pandas' missing value) are blank; any other value that is not text is an error. The
project's flat reader therefore gives back every value as written, with two exceptions inherent in the
format: a zero-padded item shorter than its field comes back zero-padded, and a ``trim="none"`` item
shorter than its field comes back with its trailing blanks.

Non-ASCII characters: legacy flat files are fixed-width in bytes, and the tools that read them count
columns in bytes; a UTF-8 'é' (two bytes) would shift every later column by one for them. The writer
therefore writes pure ASCII. With ``non_ascii="transliterate"`` (the default) accented letters lose their
accents ('JOSÉ' -> 'JOSE', 'MUÑOZ' -> 'MUNOZ'), a few letters and punctuation marks get their usual
ASCII spelling ('ß' -> 'ss', 'Æ' -> 'AE', '’' -> "'"), and any other character becomes '?';
``transliterated`` counts the values changed. With ``non_ascii="error"`` such a value raises ValueError.
Lengths are checked after transliteration.

Errors: an unknown item, an item at the wrong level, an item without columns in this record type
(``flat_item_ids`` lists those that have them), a value longer than its field, a value with a control
character (a line break would split the record) or a patient without tumors raises ValueError naming the
patient (1-based, in this file), the tumor (1-based, within the patient) and the item; nothing of that
patient is written then.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import BinaryIO

from pipelines.naaccr_xml_writer import WriteCounts
from pipelines.output_stream import StreamingWriter
from registry.naaccr import FLAT_LINE_LENGTHS, Dictionary

RECORD_TYPES = ("A", "M", "C", "I")
LINE_ENDINGS = ("\n", "\r\n")
NON_ASCII_POLICIES = ("transliterate", "error")
AUTOMATIC_ITEMS = ("recordType", "naaccrRecordVersion")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_FLUSH_BYTES = 1 << 21
_PADDING: dict[str, tuple[Callable[[str, int, str], str], str]] = {
    "rightBlank": (str.ljust, " "), "leftBlank": (str.rjust, " "),
    "leftZero": (str.rjust, "0"), "rightZero": (str.ljust, "0"),
}
# ASCII spellings of characters that Unicode decomposition does not reduce to ASCII.
_ASCII_SPELLINGS = {
    "ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "Đ": "D", "đ": "d",
    "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th", "Ł": "L", "ł": "l", "ı": "i", "‘": "'", "’": "'",
    "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "‐": "-", "‑": "-", "…": "...",
    "\u00a0": " ", "«": '"', "»": '"', "·": ".",
}


def flat_item_ids(dictionary: Dictionary, record_type: str) -> frozenset[str]:
    """Ids of the items that have columns in a record of this type (file-level items included)."""
    if dictionary.version not in FLAT_LINE_LENGTHS:
        raise ValueError(f"NAACCR version {dictionary.version!r} has no flat layout "
                         f"(flat versions: {', '.join(FLAT_LINE_LENGTHS)})")
    if record_type not in RECORD_TYPES:
        raise ValueError(f"record type must be A, M, C or I, not {record_type!r}")
    return frozenset(item.naaccr_id for item in dictionary.flat_items(record_type))


@cache
def _ascii_char(char: str) -> str:
    spelled = _ASCII_SPELLINGS.get(char)
    if spelled is not None:
        return spelled
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii() and c.isprintable())
    return plain or "?"


def to_ascii(value: str) -> str:
    """The ASCII spelling of a value, as written with ``non_ascii="transliterate"``."""
    if value.isascii():
        return value
    return "".join(c if c.isascii() else _ascii_char(c) for c in value)


class NaaccrFlatWriter(StreamingWriter):
    """Context manager writing a NAACCR v14-v18 flat file patient by patient (see the module doc).

    ``target`` is a path (created or overwritten) or an open binary stream (left open). ``gzip``
    defaults to compressing when the path ends in ``.gz``; gzip output carries no timestamp or file
    name, so identical input gives identical bytes. ``root_items`` are file-level items other than the
    two filled in automatically (e.g. ``registryId``), written on every line.
    """

    def __init__(self, target: Path | BinaryIO, *, dictionary: Dictionary, record_type: str,
                 line_ending: str = "\n", gzip: bool | None = None,
                 root_items: Mapping[str, str] | None = None, non_ascii: str = "transliterate") -> None:
        if dictionary.version not in FLAT_LINE_LENGTHS:
            raise ValueError(f"NAACCR version {dictionary.version!r} has no flat layout "
                             f"(flat versions: {', '.join(FLAT_LINE_LENGTHS)})")
        if record_type not in RECORD_TYPES:
            raise ValueError(f"record type must be A, M, C or I, not {record_type!r}")
        if line_ending not in LINE_ENDINGS:
            raise ValueError(f"line ending must be '\\n' or '\\r\\n', not {line_ending!r}")
        if non_ascii not in NON_ASCII_POLICIES:
            raise ValueError(f"non_ascii must be one of {', '.join(NON_ASCII_POLICIES)}, not {non_ascii!r}")
        self.dictionary = dictionary
        self.record_type = record_type
        self.version = dictionary.version
        self.width = FLAT_LINE_LENGTHS[self.version][record_type]
        self.line_ending = line_ending.encode("ascii")
        self.non_ascii = non_ascii
        super().__init__(target, gzip=gzip)
        # per level: naaccrId -> (start offset, end offset, justify, fill character, keep spaces)
        self._by_level: dict[str, dict[str, tuple[int, int, Callable[[str, int, str], str], str, bool]]] = {
            level: {} for level in ("NaaccrData", "Patient", "Tumor")}
        for item in dictionary.flat_items(record_type):
            if item.start_column is None or item.level not in self._by_level:
                continue
            justify, fill = _PADDING.get(item.padding, (str.ljust, " "))
            self._by_level[item.level][item.naaccr_id] = (
                item.start_column - 1, item.start_column - 1 + item.length, justify, fill, item.trim == "none")
        self._columns = frozenset(id_ for level in self._by_level.values() for id_ in level)
        self._where = f"NAACCR v{self.version[:2]} record type {record_type}"
        self._buffer = bytearray()
        self.patients = 0
        self.tumors = 0
        self.items = 0
        self.transliterated = 0
        root = dict(root_items or {})
        for naaccr_id, automatic in (("recordType", record_type), ("naaccrRecordVersion", self.version)):
            given = root.get(naaccr_id)
            if given not in (None, "", automatic):
                raise ValueError(f"root item '{naaccr_id}' is {given!r}, but this file is {self._where}")
            root[naaccr_id] = automatic
        template = bytearray(b" " * self.width)
        self._place(template, root, "NaaccrData", "file-level items")
        self._template = bytes(template)

    @property
    def counts(self) -> WriteCounts:
        """Patients, tumors and items written so far (a patient's items counted once, not per line)."""
        return WriteCounts(self.patients, self.tumors, self.items)

    def open(self) -> None:
        """Open the target (a flat file has no header)."""
        self._open_stream()

    def write_patient(self, patient_items: Mapping[str, str | None],
                      tumors: Iterable[Mapping[str, str | None]] = ()) -> int:
        """Write one line per tumor, each carrying the patient's items; return the number of tumors.

        Raises ValueError naming the patient, tumor and item for a value that cannot be written (see the
        module doc); nothing of that patient is written then.
        """
        if self._out is None:
            raise RuntimeError("writer is not open (use it as a context manager)")
        number = self.patients + 1
        patient_line = bytearray(self._template)
        items = self._place(patient_line, patient_items, "Patient", f"patient {number}")
        lines: list[bytearray] = []
        for index, tumor in enumerate(tumors, start=1):
            line = bytearray(patient_line)
            items += self._place(line, tumor, "Tumor", f"patient {number}, tumor {index}")
            line += self.line_ending
            lines.append(line)
        if not lines:
            raise ValueError(f"patient {number} has no tumors; a flat file holds one line per tumor")
        for line in lines:
            self._buffer += line
        if len(self._buffer) >= _FLUSH_BYTES:
            self._flush()
        self.patients += 1
        self.tumors += len(lines)
        self.items += items
        return len(lines)

    def close(self) -> WriteCounts:
        """Flush and close what the writer opened; return the counts."""
        if self._out is not None:
            self._flush()
            self._release()
        return self.counts

    # -- internals -------------------------------------------------------------------------------

    def _place(self, line: bytearray, items: Mapping[str, str | None], level: str, who: str) -> int:
        """Write items into ``line`` at their columns; return how many non-blank values were placed."""
        columns = self._by_level[level]
        # One check over all values of the entity decides whether any needs a closer look (not text,
        # non-ASCII, control characters); most entities need none.
        try:
            joined = "".join(items.values())  # type: ignore[arg-type]
            plain = joined.isascii() and _CONTROL.search(joined) is None
        except TypeError:  # None or a non-text value among the values
            plain = False
        placed = 0
        for naaccr_id, value in items.items():
            column = columns.get(naaccr_id)
            if column is None:
                raise self._misplaced(naaccr_id, level, who)
            if not value:
                continue
            if not plain:
                value = self._checked(value, naaccr_id, who)
                if value is None:
                    continue
            start, end, justify, fill, keep_spaces = column
            stripped = value.strip(" ")
            if not stripped:
                continue
            if not keep_spaces:
                value = stripped
            length = end - start
            if len(value) != length:
                if len(value) > length:
                    raise ValueError(f"{who}: item '{naaccr_id}' value {value!r} is {len(value)} characters "
                                     f"long; its field in {self._where} holds {length}")
                value = justify(value, length, fill)
            line[start:end] = value.encode("ascii")
            placed += 1
        return placed

    def _checked(self, value: object, naaccr_id: str, who: str) -> str | None:
        """The value as ASCII text (transliterated if allowed), None for a float NaN (pandas' missing
        value, written blank); ValueError when it cannot be written."""
        if isinstance(value, float) and value != value:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{who}: item '{naaccr_id}' has a {type(value).__name__} value "
                             f"({value!r}), not text")
        if not value.isascii():
            if self.non_ascii == "error":
                raise ValueError(f"{who}: item '{naaccr_id}' value {value!r} has characters outside "
                                 "ASCII, which a fixed-width flat file cannot hold")
            value = to_ascii(value)
            self.transliterated += 1
        if _CONTROL.search(value):
            raise ValueError(f"{who}: item '{naaccr_id}' value {value!r} has a control character")
        return value

    def _misplaced(self, naaccr_id: str, level: str, who: str) -> ValueError:
        item = self.dictionary.items.get(naaccr_id)
        if item is None:
            return ValueError(f"{who}: item '{naaccr_id}' is not in the dictionary (NAACCR {self.version})")
        if naaccr_id not in self._columns:
            return ValueError(f"{who}: item '{naaccr_id}' has no columns in a {self._where} line "
                              f"({self.width} characters)")
        hint = "; pass it in root_items" if item.level == "NaaccrData" else ""
        return ValueError(f"{who}: item '{naaccr_id}' belongs at level {item.level}, not {level}{hint}")

    def _flush(self) -> None:
        if self._buffer and self._out is not None:
            self._out.write(self._buffer)
            self._buffer = bytearray()

