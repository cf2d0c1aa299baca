"""Fast path for NAACCR XML laid out one element per line, staged without a general XML parser.

Every NAACCR XML writer in common use puts each Item, Patient and Tumor tag on its own line. For such
files a line scanner replaces the per-element Python work of a general XML parser: the native scanner
(``_xmlscan.c``) when it was built, else DuckDB's line reader plus a handful of SQL expressions; both
apply the same grammar to 64 MB blocks cut at patient boundaries. The fast path is strict: it recognises only a small grammar (the tags above, default NAACCR namespace or none, the five
predefined entities, UTF-8) and verifies nesting for every line. Anything else -- a multi-line value,
CDATA, a numeric character reference, an extension element, a prefixed namespace, control characters,
another encoding -- makes it decline before anything is kept, and the general streaming reader
(``xml.py``) reads the file instead. Both produce the same staged records (tested on the same files).

The file's head (everything before the first Patient) is always read by the general reader, so the
root element, its attributes, file-level items, dictionaries and the DOCTYPE/entity refusal are
handled in one place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.readers.source import GZIP_MAGIC, MAX_RECORD_BYTES, open_regular
from pipelines.readers.xml import NaaccrXmlReader
from pipelines.records import (
    ENTITY_SCHEMA,
    ISSUE_SCHEMA,
    ITEM_SCHEMA,
    PATIENT,
    PATIENT_RECORD_SCHEMA,
    TUMOR,
    TUMOR_RECORD_SCHEMA,
    RecordChunk,
    SourceFile,
)
from pipelines.typed_core import PATIENT_ITEMS, TUMOR_ITEMS, WIDE_SCHEMAS
from pipelines.validation import DictionaryColumns, scanned_problems
from registry.errors import SourceFileError
from registry.naaccr import Dictionary

if TYPE_CHECKING:
    from pipelines.staging import BatchStager

try:  # the native scanner is optional (built when a C compiler was present at install)
    import pipelines.readers._xmlscan as _xmlscan
except ImportError:  # pragma: no cover - exercised on machines without a compiler
    _xmlscan = None  # type: ignore[assignment]

MAX_HEAD_BYTES = 1 << 20
BLOCK_BYTES = 64 << 20  # staged at a time: bounds memory whatever the file size
_READ_ON_BYTES = 1 << 20
_HALVED_FROM = 2 << 20   # a block this long is scanned as two halves at once
_DECLARATION_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

# One row per non-blank line of the body, classified, with its nesting; materialised once per file.
# Kinds: 1 item, 2 <Patient>, 3 </Patient>, 4 <Tumor>, 5 </Tumor>, 6 <Patient/>, 7 <Tumor/>,
# 8 </NaaccrData>, 0 empty item or one-line comment, -1 anything else. The regular expression is the
# whole grammar of a non-empty Item; values holding '&' are checked for predefined entities only.
_CLASSIFY = r"""
CREATE OR REPLACE TEMP TABLE bulk_line AS
WITH body AS (
    SELECT line, trim(text, $whitespace) AS t
    FROM (SELECT $line_base + row_number() OVER () AS line, line AS text
          FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = $delim, quote = '', escape = '',
                        header = false, auto_detect = false))
    WHERE text IS NOT NULL
), tagged AS (
    SELECT line, t,
        regexp_extract(t, '^<Item naaccrId="([a-zA-Z][a-zA-Z0-9]*)"(?: naaccrNum="([0-9]{1,9})")?>'
                          '([^<\x00-\x08\x0b\x0c\x0e-\x1f]*)</Item>$',
                       ['naaccr_id', 'naaccr_num', 'value']) AS m
    FROM body
), kinds AS (
    SELECT line, m,
        CASE WHEN m.naaccr_id <> '' THEN
                  CASE WHEN NOT contains(m.value, '&') THEN 1
                       WHEN regexp_full_match(m.value, '([^&]|&(lt|gt|amp|quot|apos);)*') THEN 1
                       ELSE -1 END
             WHEN t = '<Patient>' THEN 2 WHEN t = '</Patient>' THEN 3
             WHEN t = '<Tumor>' THEN 4 WHEN t = '</Tumor>' THEN 5
             WHEN t = '<Patient/>' THEN 6 WHEN t = '<Tumor/>' THEN 7
             WHEN t = '</NaaccrData>' THEN 8
             WHEN t = '' THEN 0
             WHEN regexp_full_match(t, '<!--([^-]|-[^-])*-->') THEN 0
             WHEN regexp_full_match(t, '<Item naaccrId="[a-zA-Z][a-zA-Z0-9]*"(?: naaccrNum="[0-9]{1,9}")?(\s*/>|></Item>)')
                  THEN 0
             ELSE -1 END AS kind
    FROM tagged
)
SELECT line, kind, m,
    sum(CASE kind WHEN 2 THEN 1 WHEN 3 THEN -1 ELSE 0 END) OVER w AS patient_depth,
    sum(CASE kind WHEN 4 THEN 1 WHEN 5 THEN -1 ELSE 0 END) OVER w AS tumor_depth,
    $patient_base + sum(CASE WHEN kind IN (2, 6) THEN 1 ELSE 0 END) OVER w AS patient_seq,
    $tumor_base + sum(CASE WHEN kind IN (4, 7) THEN 1 ELSE 0 END) OVER w AS tumor_seq,
    sum(CASE WHEN kind = 8 THEN 1 ELSE 0 END) OVER w AS closed
FROM kinds
WHERE kind <> 0
WINDOW w AS (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
"""

# Why the body does not fit the fast grammar (all zero and one root close = it fits).
_STRUCTURE_CHECK = """
SELECT count(*) FILTER (WHERE kind = -1) AS unrecognised,
       count(*) FILTER (WHERE patient_depth NOT IN (0, 1) OR tumor_depth NOT IN (0, 1)
                           OR (tumor_depth = 1 AND patient_depth <> 1)
                           OR (kind IN (4, 7) AND patient_depth <> 1)
                           OR (kind = 6 AND patient_depth <> 0)
                           OR (kind = 3 AND tumor_depth <> 0)) AS misnested,
       count(*) FILTER (WHERE kind = 1 AND patient_depth = 0) AS file_level_items,
       count(*) FILTER (WHERE kind = 8) AS root_closes,
       count(*) FILTER (WHERE closed > 0 AND kind <> 8) AS after_root,
       coalesce(arg_max(patient_depth + tumor_depth, line), 0) AS open_at_end,
       count(*) AS lines, coalesce(max(patient_seq), $patient_base), coalesce(max(tumor_seq), $tumor_base)
FROM bulk_line
"""

_STAGE_ITEMS = """
SELECT CASE WHEN tumor_depth = 1 THEN 2 ELSE 1 END, patient_seq,
       CASE WHEN tumor_depth = 1 THEN tumor_seq ELSE 0 END,
       m.naaccr_id, TRY_CAST(nullif(m.naaccr_num, '') AS INTEGER),
       CASE WHEN contains(m.value, '&')
            THEN replace(replace(replace(replace(replace(m.value, '&lt;', '<'), '&gt;', '>'),
                                         '&quot;', '"'), '&apos;', chr(39)), '&amp;', '&')
            ELSE m.value END,
       line
FROM bulk_line WHERE kind = 1 AND trim(m.value, $blank) <> ''
"""

# Items repeated within one Patient or Tumor (blocks hold whole patients, so per block is enough).
_BLOCK_DUPLICATES = """
SELECT 'reject', patient_seq, CASE WHEN tumor_depth = 1 THEN tumor_seq ELSE 0 END, max(line), m.naaccr_id,
       'item ''' || m.naaccr_id || ''' appears ' || count(*) || ' times in one '
       || CASE WHEN tumor_depth = 1 THEN 'Tumor' ELSE 'Patient' END,
       'duplicate-item'
FROM bulk_line WHERE kind = 1 AND trim(m.value, $blank) <> ''
GROUP BY patient_seq, tumor_depth, CASE WHEN tumor_depth = 1 THEN tumor_seq ELSE 0 END, m.naaccr_id
HAVING count(*) > 1
"""

_STAGE_ENTITIES = """
SELECT CASE WHEN kind IN (2, 6) THEN 1 ELSE 2 END, patient_seq,
       CASE WHEN kind IN (4, 7) THEN tumor_seq ELSE 0 END, line, NULL
FROM bulk_line WHERE kind IN (2, 4, 6, 7)
"""


def _head(path: Path) -> tuple[bytes, int] | None:
    """The bytes before the first <Patient line and their line count, or None if not found early."""
    with open_regular(path) as fh:
        data = fh.read(MAX_HEAD_BYTES)
    if data.startswith(GZIP_MAGIC):
        return None
    offset, lines = 0, 0
    while True:
        end = data.find(b"\n", offset)
        if end < 0:
            return None
        stripped = data[offset:end].strip()
        if stripped.startswith(b"<Patient"):
            return data[:offset], lines
        if stripped.startswith(b"</NaaccrData"):
            return None  # no patients: the general reader is just as quick
        offset, lines = end + 1, lines + 1


class _RecordTooLong(Exception):
    """No patient boundary within a block plus MAX_RECORD_BYTES: the general reader reports the file."""


def _blocks(path: Path, start: int, block_bytes: int) -> Iterator[memoryview]:
    """The file from byte ``start`` in blocks that end just before a ``<Patient`` line (or at the end).

    Cutting only at patient boundaries keeps every block's nesting self-contained, so blocks are staged
    one at a time. Each block is read straight into a buffer of its own (so one block can be staged while
    the next is scanned). Raises _RecordTooLong when no boundary comes within
    ``block_bytes + MAX_RECORD_BYTES``.
    """
    carry = b""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(start)
        while True:
            # a block, or what is left of the file (+1 to see its end) when that is less
            left = len(carry) + max(size - fh.tell(), 0) + 1
            buffer = bytearray(max(min(block_bytes, left), len(carry) + _READ_ON_BYTES))
            buffer[:len(carry)] = carry
            filled, carry = len(carry), b""
            while True:
                read = fh.readinto(memoryview(buffer)[filled:]) or 0
                filled += read
                if not read:   # end of file: the rest is the last block
                    if filled:
                        yield memoryview(buffer)[:filled]
                    return
                if filled < len(buffer):
                    continue
                cut = _last_patient_start(buffer, filled)
                if cut > 0:
                    break
                if filled > block_bytes + MAX_RECORD_BYTES:
                    raise _RecordTooLong
                buffer.extend(bytes(_READ_ON_BYTES))   # one patient longer than a block: read on, in place
            carry = bytes(buffer[cut:filled])
            yield memoryview(buffer)[:cut]


def _last_patient_start(buffer: bytes | bytearray, end: int) -> int:
    """Offset of the start of the last line before ``end`` whose first non-blank text is ``<Patient``;
    -1 if none."""
    position = end
    while (position := buffer.rfind(b"<Patient", 0, position)) > 0:
        line_start = buffer.rfind(b"\n", 0, position) + 1
        if line_start > 0 and not buffer[line_start:position].strip(b" \t"):
            return line_start
    return -1


class Digest(Protocol):
    """What is told the file's bytes as they are read, in order (the loader's SHA-256)."""

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """The next bytes of the file."""


def stage_line_structured_xml(stager: BatchStager, path: Path, work_dir: Path, *,
                              user_dictionaries: Sequence[Dictionary] = (),
                              block_bytes: int = BLOCK_BYTES,
                              progress: Callable[[int], None] | None = None,
                              digest: Digest | None = None) -> SourceFile | None:
    """Stage a one-element-per-line NAACCR XML file block by block; None when it does not fit.

    When it fits, ``digest`` has been given every byte of the file, in order (not when it declines).
    Raises SourceFileError (from the general reader) for a head that is not acceptable NAACCR XML.
    Nothing stays staged when it declines.
    """
    head = _head(path)
    if head is None:
        return None
    head_bytes, head_lines = head
    declared = _DECLARATION_ENCODING.match(head_bytes)
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return None
    # The NAACCR namespace as default namespace, or none at all (read with a warning by the general reader).
    default_namespace = b"xmlns=" in head_bytes
    if not head_bytes.lstrip(b"\xef\xbb\xbf").lstrip().startswith((b"<?xml", b"<NaaccrData", b"<!--")) or \
            b"<NaaccrData" not in head_bytes or \
            (default_namespace and b"xmlns=\"http://naaccr.org/naaccrxml\"" not in head_bytes):
        return None
    head_file = work_dir / "head.xml"
    head_file.write_bytes(head_bytes + b"</NaaccrData>\n")
    reader = NaaccrXmlReader(head_file, user_dictionaries=user_dictionaries)
    try:
        for _ in reader.chunks():
            pass
    except SourceFileError as exc:
        raise SourceFileError(path, exc.reason, line=exc.line, naaccr_id=exc.naaccr_id) from exc
    source = reader.source
    source.path = path
    if digest is not None:
        digest.update(head_bytes)
    if _stage_blocks(stager, source, path, work_dir, len(head_bytes), head_lines, block_bytes, progress, digest):
        return source
    stager.reset()
    return None


def _stage_blocks(stager: BatchStager, source: SourceFile, path: Path, work_dir: Path, head_bytes: int,
                  head_lines: int, block_bytes: int, progress: Callable[[int], None] | None,
                  digest: Digest | None) -> bool:
    """Classify and stage the body block by block; False as soon as a block falls outside the grammar.

    Each block goes through the native scanner when it is built, else (or when the scanner declines)
    through DuckDB; both apply the same grammar.
    """
    block_file = work_dir / "block.xml"
    try:
        return _stage_each_block(stager, source, path, block_file, head_bytes, head_lines, block_bytes, progress,
                                 digest)
    except _RecordTooLong:
        return False
    finally:
        block_file.unlink(missing_ok=True)


def _stage_each_block(stager: BatchStager, source: SourceFile, path: Path, block_file: Path, head_bytes: int,
                      head_lines: int, block_bytes: int, progress: Callable[[int], None] | None,
                      digest: Digest | None) -> bool:
    """The block loop of _stage_blocks: each block's two halves are scanned at once by two threads, and the
    block given to ``digest`` by a third, while the block before is staged by a fourth (the scanner, hashlib
    and most of staging release the interpreter lock); False when a block does not fit."""
    dictionary = stager.dictionary(source)
    native_dictionary = dictionary.as_tuples()
    numbers = _LayoutNumbers() if _xmlscan is not None else None
    position = _Position(line=head_lines)
    root_closed = False
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage") as staging, \
            ThreadPoolExecutor(max_workers=3, thread_name_prefix="scan") as scanning:
        pending: Future[int] | None = None
        hashed: Future[None] | None = None
        try:
            for block in _blocks(path, head_bytes, block_bytes):
                if hashed is not None:
                    hashed.result()   # the blocks are given to the digest in order
                hashed = scanning.submit(digest.update, block) if digest is not None else None
                if root_closed and bytes(block).strip():
                    return False
                chunks = None
                if numbers is not None:
                    chunks = _scan_halves(scanning, numbers, block, position, dictionary, native_dictionary,
                                          source)
                if chunks is not None:
                    closes = any(closed for _chunk, closed in chunks)
                else:
                    if pending is not None:   # the SQL path uses the staging connection too
                        pending.result()
                        pending = None
                    block_file.write_bytes(block)
                    outcome = _scan_block_with_duckdb(stager.con, block_file, position.line, position.patient,
                                                      position.tumor)
                    if outcome is None:
                        return False
                    chunk, position.patient, position.tumor, closes = outcome
                    position.line += bytes(block).count(b"\n")
                    chunks = [(chunk, closes)]
                for chunk, _closes in chunks:
                    if pending is not None:
                        pending.result()   # the previous chunk is staged before this one is handed over
                    pending = staging.submit(stager.add, chunk, source)
                root_closed = root_closed or closes
                if progress:
                    progress(position.tumor)
        finally:
            if pending is not None:
                pending.result()
            if hashed is not None:
                hashed.result()
    return root_closed


@dataclass
class _Position:
    """Where the blocks read so far end: the last line, patient and tumor numbers."""

    line: int = 0
    patient: int = 0
    tumor: int = 0


class _LayoutNumbers:
    """The file's layout numbers as the stager receives them (0, 1, ... in the order first handed over, see
    `pipelines.records.RecordChunk`), over the two tables of the scanner's own numbers (one `_xmlscan.Layouts`
    for the first half of every block, one for the second) that let a block's halves be scanned at once."""

    def __init__(self) -> None:
        self.tables = (_xmlscan.Layouts(), _xmlscan.Layouts())
        self._texts: dict[tuple[int, int], list[str]] = {(t, level): [] for t in (0, 1) for level in (PATIENT, TUMOR)}
        self._file_number: dict[tuple[int, int], np.ndarray] = {key: np.zeros(0, np.int32) for key in self._texts}
        self._numbered: dict[int, dict[str, int]] = {PATIENT: {}, TUMOR: {}}

    def learn(self, table: int, level: int, texts: list[str]) -> None:
        """The layouts a scan met first in a table (in its numbering's order); call for every scan that
        succeeded, in the order of the scans of that table."""
        self._texts[(table, level)].extend(texts)
        self._file_number[(table, level)] = np.concatenate([self._file_number[(table, level)],
                                                           np.full(len(texts), -1, np.int32)])

    def renumbered(self, table: int, level: int, layouts: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """A chunk's layout numbers (-1: no items) in the file's numbering, and the texts of the file numbers
        first given here, in their order."""
        known = self._file_number[(table, level)]
        present = layouts >= 0
        first: list[str] = []
        numbered = self._numbered[level]
        unseen = layouts[present][known[layouts[present]] < 0]
        if len(unseen):
            values, at = np.unique(unseen, return_index=True)
            for local in values[np.argsort(at)]:
                text = self._texts[(table, level)][local]
                if text not in numbered:
                    numbered[text] = len(numbered)
                    first.append(text)
                known[local] = numbered[text]
        return np.where(present, known[np.where(present, layouts, 0)], -1).astype(np.int32), first


def _scan_halves(scanning: ThreadPoolExecutor, numbers: _LayoutNumbers, block: memoryview, position: _Position,
                 dictionary: DictionaryColumns, native_dictionary: tuple[tuple[str, int, int, int, int, bool, bool], ...],
                 source: SourceFile) -> list[tuple[RecordChunk, bool]] | None:
    """A block scanned natively as two halves cut at a patient boundary, at once; its chunks (with whether
    each closed the root), and ``position`` moved past it; None (position kept) when a half needs the SQL path.

    The second half is scanned from line, patient and tumor 0 and renumbered once the first half's counts
    are known."""
    whole = block.obj   # the block is the start of its read buffer (`_blocks`)
    assert isinstance(whole, bytearray)
    cut = _last_patient_start(whole, len(block) // 2) if len(block) >= _HALVED_FROM else -1
    halves = [block[:cut], block[cut:]] if cut > 0 else [block]
    scans = [scanning.submit(_xmlscan.scan_block, numbers.tables[k], half, 0, 0, 0, native_dictionary,
                             tuple(PATIENT_ITEMS), tuple(TUMOR_ITEMS)) for k, half in enumerate(halves)]
    results: list[tuple[Any, ...] | None] = [scan.result() for scan in scans]
    for table, scanned in enumerate(results):   # what each table learnt stays learnt (see `_LayoutNumbers`)
        if scanned is not None:
            for level, records in ((PATIENT, scanned[9]), (TUMOR, scanned[10])):
                numbers.learn(table, level, records[-1])
    scanned_halves = [scanned for scanned in results if scanned is not None]
    if len(scanned_halves) < len(results):
        return None
    if len(scanned_halves) == 2 and scanned_halves[0][7] and bytes(halves[1]).strip():
        return None   # content after the root closed: the general reader reports it
    chunks = []
    for table, scanned in enumerate(scanned_halves):
        chunk, patients, tumors, closes, lines = _native_chunk(numbers, table, scanned, position, dictionary, source)
        position.line, position.patient, position.tumor = position.line + lines, patients, tumors
        chunks.append((chunk, closes))
    return chunks


def _native_chunk(numbers: _LayoutNumbers, table: int, scanned: tuple[Any, ...], at: _Position,
                  dictionary: DictionaryColumns, source: SourceFile) -> tuple[RecordChunk, int, int, bool, int]:
    """One native scan's records, numbered from ``at`` (the scan counted from 0), as a chunk, with the last
    patient and tumor numbers, whether the root closed, and the scan's line count.

    The scanner checked every item against the file's dictionary and hands over the records packed, their
    typed-core wide rows and the problems found (never the items one by one)."""
    (ids, e_kind, e_patient, e_tumor, e_line, last_patient, last_tumor, root_closed, lines,
     patient_records, tumor_records, problems) = scanned
    patient_seq, tumor_seq = _shifted(e_patient, at.patient), _shifted(e_tumor, at.tumor)
    entities = pa.table({
        "kind": pa.array(np.frombuffer(e_kind, np.uint8)),
        "patient_seq": pa.array(patient_seq),
        "tumor_seq": pa.array(tumor_seq),
        "line": pa.array(_shifted(e_line, at.line, np.int64)),
        "raw": pa.nulls(len(e_kind), pa.string()),
    })
    layouts = {}
    levels = {}
    for level, records in ((PATIENT, patient_records), (TUMOR, tumor_records)):
        levels[level] = _level_records(numbers, table, level, records, at)
        layouts[level] = levels[level][2]
    conditions, p_patient, p_tumor, p_line, *rest = problems
    shifted_problems = (conditions, _shifted(p_patient, at.patient).tobytes(), _shifted(p_tumor, at.tumor).tobytes(),
                        _shifted(p_line, at.line, np.int64).tobytes(), *rest)
    chunk = RecordChunk(entities, ITEM_SCHEMA.empty_table(), ISSUE_SCHEMA.empty_table(),
                        records={PATIENT: levels[PATIENT][0], TUMOR: levels[TUMOR][0]},
                        wide={PATIENT: levels[PATIENT][1], TUMOR: levels[TUMOR][1]},
                        problems=scanned_problems(shifted_problems, ids, dictionary, source), layouts=layouts)
    return chunk, at.patient + int(last_patient), at.tumor + int(last_tumor), bool(root_closed), int(lines)


def _shifted(raw: bytes, by: int, dtype: type = np.int32) -> np.ndarray:
    """Numbers the scanner counted from 0, counted from ``by`` (0 stays 0: no tumor, for a patient's rows)."""
    counted: np.ndarray = np.frombuffer(raw, dtype)
    return np.where(counted != 0, counted + by, 0).astype(dtype) if by else counted


def _validity(present: bytes) -> pa.Buffer | None:
    """An Arrow validity bitmap from one byte per row (None when every row is present)."""
    flags = np.frombuffer(present, np.uint8)
    return None if flags.all() else pa.py_buffer(np.packbits(flags, bitorder="little"))


def _level_records(numbers: _LayoutNumbers, table: int, level: int, scanned: tuple[Any, ...],
                   at: _Position) -> tuple[pa.Table, pa.Table, list[str]]:
    """The native scanner's records of one level as packed records (layouts in the file's numbering) and
    typed-core wide rows, numbered from ``at``, and the layouts first given a number here."""
    seq, patient, line, has_items, layout, values_offsets, values, columns, _new_layouts = scanned
    count = len(seq) // 4
    validity = _validity(has_items)
    keys = [pa.array(_shifted(seq, at.patient if level == PATIENT else at.tumor))]
    if level == TUMOR:
        keys.append(pa.array(_shifted(patient, at.patient)))
    file_layouts, first = numbers.renumbered(table, level, np.frombuffer(layout, np.int32))
    layouts = pa.Array.from_buffers(pa.int32(), count, [validity, pa.py_buffer(file_layouts)])
    packed_values = pa.StringArray.from_buffers(count, pa.py_buffer(values_offsets), pa.py_buffer(values), validity)
    records = pa.Table.from_arrays([*keys, pa.array(_shifted(line, at.line, np.int64)), layouts, packed_values],
                                   schema=PATIENT_RECORD_SCHEMA if level == PATIENT else TUMOR_RECORD_SCHEMA)
    wide_schema = WIDE_SCHEMAS["patient_wide" if level == PATIENT else "tumor_wide"]
    wide_columns = [pa.StringArray.from_buffers(count, pa.py_buffer(o), pa.py_buffer(d), _validity(p))
                    for o, d, p in columns]
    return records, pa.Table.from_arrays([*keys, *wide_columns], schema=wide_schema), first


def _as_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A query result's columns, in order, as the record stream's schema."""
    return pa.table([column.cast(field.type) for column, field in zip(table.columns, schema, strict=True)],
                    schema=schema)


def _scan_block_with_duckdb(con: duckdb.DuckDBPyConnection, block_file: Path, line_base: int,
                            patient_base: int, tumor_base: int) -> tuple[RecordChunk, int, int, bool] | None:
    """Read one block with DuckDB's line scanner and SQL; None when it falls outside the grammar."""
    params = {"path": str(block_file), "line_base": line_base, "patient_base": patient_base,
              "tumor_base": tumor_base, "delim": "\x01", "whitespace": " \t\r"}
    try:
        con.execute(_CLASSIFY, params)
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException):
        return None  # e.g. bytes that are not UTF-8: the general reader reports them precisely
    row = con.execute(_STRUCTURE_CHECK, {"patient_base": patient_base, "tumor_base": tumor_base}).fetchall()[0]
    unrecognised, misnested, file_level_items, root_closes, after_root, open_at_end, _lines, last_patient, \
        last_tumor = row
    if unrecognised or misnested or file_level_items or after_root or open_at_end or root_closes > 1:
        return None
    chunk = RecordChunk(_as_schema(con.sql(_STAGE_ENTITIES).to_arrow_table(), ENTITY_SCHEMA),
                        _as_schema(con.sql(_STAGE_ITEMS, params={"blank": " \t"}).to_arrow_table(), ITEM_SCHEMA),
                        _as_schema(con.sql(_BLOCK_DUPLICATES, params={"blank": " \t"}).to_arrow_table(), ISSUE_SCHEMA))
    con.execute("DROP TABLE bulk_line")
    return chunk, int(last_patient), int(last_tumor), root_closes == 1
