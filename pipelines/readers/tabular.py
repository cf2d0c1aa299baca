"""Reader for CSV and Excel (.xlsx) files whose header row names NAACCR items by naaccrId.

Small registries and hospitals keep their cases in spreadsheets (see ``pipelines/template.py``, which
writes a ready-made template). One row is one tumor; consecutive rows with the same ``patientIdNumber``
are the tumors of one patient (a row without ``patientIdNumber`` is a patient of its own). Patient columns
may be filled on the patient's first row only: a blank cell on a later row of the same patient is not a
disagreement.

Every cell is read as text exactly as it is in the file and an empty cell means "no value"; item
validation is the loader's job, as for every other format. Excel caveats: a number cell is written without
a trailing ".0" when it is an integer and a date cell as YYYYMMDD, but leading zeros (patientIdNumber
``00001234``, race ``01``, county ``001``) survive only in text cells. The template therefore formats
every column as text ("@"); values pasted into a general-format column may have lost their zeros before
they reach us.

The file is streamed row by row (CSV through the same per-line UTF-8/Windows-1252 decoding as flat files,
Excel through openpyxl's read-only mode), so large sheets do not need to fit in memory.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl.utils import get_column_letter

from pipelines.readers.flat import (
    PATIENT_KEY,
    RECORD_TYPES,
    ROOT_LEVEL,
    LineDecoder,
    RecordAssembler,
    binary_lines,
    version_label,
)
from pipelines.readers.source import detect_format, open_binary
from pipelines.readers.xml import scan_prolog
from pipelines.records import RecordChunk, SourceFile
from registry.errors import DictionaryError, SourceFileError
from registry.naaccr import LATEST_VERSION, SUPPORTED_VERSIONS, Dictionary, base_dictionary

DELIMITERS = (",", ";", "\t", "|")
# Bounds on a workbook, checked before and while it is read, so a small hostile file cannot expand
# without limit: the rows of a worksheet (Excel's own maximum), the uncompressed size of all parts as the
# zip declares it (reads stop there), and a gzip-compressed workbook, which is unpacked in memory.
MAX_SHEET_ROWS = 1_048_576
MAX_WORKBOOK_BYTES = 1 << 30
MAX_GZIPPED_WORKBOOK_BYTES = 256 << 20
_PROLOG_BYTES = 1 << 16
_SHOWN_HEADER = 40   # longest column header quoted in a message
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_ROW_TAG_OVERLAP = 64   # bytes kept between pieces so that a tag cut in two is counted once
VERSION_COLUMN = "naaccrRecordVersion"
RECORD_TYPE_COLUMN = "recordType"

Row = tuple[int, list[str | None]]  # spreadsheet row number (header = 1), cells as text (None = empty)


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of , ; tab | in the header line (naaccrIds contain none of them); "," if none."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def excel_text(value: Any) -> str | None:
    """A cell value as the text a user sees: integers without ".0", dates as YYYYMMDD."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, datetime):
        if value.time() == time(0):
            return f"{value.year:04d}{value.month:02d}{value.day:02d}"
        return value.isoformat()  # a dateTime item (pathDateSpecCollect1...), not a plain date
    if isinstance(value, date):
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    if isinstance(value, time | timedelta):
        return str(value)
    return str(value)


def _blank(cell: str | None) -> bool:
    return cell is None or not cell.strip()


class TabularReader:
    """Streams a CSV or .xlsx file with a naaccrId header row as RecordChunks."""

    source: SourceFile

    def __init__(self, path: Path, *, naaccr_version: str | None = None, chunk_rows: int = 20_000) -> None:
        self.path = Path(path)
        self.naaccr_version = naaccr_version
        self.chunk_rows = chunk_rows
        self._decoder = LineDecoder()

    def chunks(self) -> Iterator[RecordChunk]:
        """Yield the file's patients and tumors, at most about ``chunk_rows`` rows per chunk."""
        fmt = "excel" if detect_format(self.path) == "excel" else "csv"
        rows = self._excel_rows() if fmt == "excel" else self._csv_rows()
        yield from self._read(rows, fmt)

    # -- reading rows ---------------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[Row]:
        with open_binary(self.path) as fh:
            lines = (self._decoder.decode(data, n) + "\n"
                     for n, data in enumerate(binary_lines(self.path, fh), start=1))
            first = next(lines, None)
            if first is None:
                return
            reader = csv.reader(chain([first], lines), delimiter=sniff_delimiter(first))
            number = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise SourceFileError(self.path, f"not a readable CSV file: {exc}",
                                          line=reader.line_num) from exc
                number += 1
                yield number, list(row)

    def _excel_rows(self) -> Iterator[Row]:
        from openpyxl import load_workbook

        with open_binary(self.path) as fh:
            # openpyxl needs a seekable file; a gzip stream is unpacked into memory first (bounded)
            if isinstance(fh, gzip.GzipFile):
                data = self._read_gzip(fh)
                source: BinaryIO = io.BytesIO(data)
            else:
                source = fh
            self._check_workbook(source)
            try:
                workbook = load_workbook(source, read_only=True, data_only=True)
            except Exception as exc:  # openpyxl raises many kinds of errors for a damaged workbook
                raise SourceFileError(self.path, f"not a readable .xlsx workbook: {_reason(exc)}") from exc
            try:
                if not workbook.worksheets:
                    return
                sheet = workbook.worksheets[0]
                sheet.reset_dimensions()   # rows as stored: no padding to a declared (possibly huge) size
                number = 0
                try:
                    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                        if number > MAX_SHEET_ROWS:
                            raise SourceFileError(self.path, f"the first sheet has more than {MAX_SHEET_ROWS:,} "
                                                             "rows, the most an Excel worksheet can hold",
                                                  line=number)
                        yield number, [excel_text(v) for v in values]
                except SourceFileError:
                    raise
                except Exception as exc:
                    raise SourceFileError(self.path, f"cannot read the first sheet: {_reason(exc)}",
                                          line=number + 1) from exc
            finally:
                workbook.close()

    def _read_gzip(self, fh: BinaryIO) -> bytes:
        try:
            data = fh.read(MAX_GZIPPED_WORKBOOK_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceFileError(self.path, f"cannot read file (corrupt or truncated gzip?): {exc}") from exc
        if len(data) > MAX_GZIPPED_WORKBOOK_BYTES:
            raise SourceFileError(self.path, f"a gzip-compressed workbook larger than "
                                             f"{MAX_GZIPPED_WORKBOOK_BYTES >> 20} MB unpacked; unpack it first")
        return data

    def _check_workbook(self, source: BinaryIO) -> None:
        """Refuse a workbook whose parts expand beyond MAX_WORKBOOK_BYTES or declare a DOCTYPE or entities."""
        try:
            with zipfile.ZipFile(source) as archive:
                parts = archive.infolist()
                total = sum(part.file_size for part in parts)
                if total > MAX_WORKBOOK_BYTES:
                    raise SourceFileError(self.path, f"the workbook expands to {total:,} bytes, more than the "
                                                     f"{MAX_WORKBOOK_BYTES:,} accepted (zip bomb?)")
                for part in parts:
                    if part.filename.endswith((".xml", ".rels", ".vml")) or "." not in part.filename:
                        with archive.open(part) as member:
                            head = member.read(_PROLOG_BYTES)
                        self._check_prolog(part.filename, head)
                for part in parts:
                    if part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml"):
                        self._check_row_count(archive, part)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, NotImplementedError,
                RuntimeError) as exc:
            raise SourceFileError(self.path, f"not a readable .xlsx workbook: {_reason(exc)}") from exc
        finally:
            source.seek(0)

    def _check_row_count(self, archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
        """Refuse a worksheet with more row elements than Excel allows, before any row is read.

        One streaming pass over the part (a regular expression over 1 MiB pieces) is much quicker than
        reading rows; the row bound is checked again while reading, for rows numbered past the limit.
        """
        rows = 0
        carry = b""
        with archive.open(part) as member:
            while piece := member.read(1 << 20):
                data = carry + piece
                cut = max(len(data) - _ROW_TAG_OVERLAP, 0)
                rows += sum(1 for match in _ROW_TAG.finditer(data) if match.start() < cut)
                carry = data[cut:]
                if rows > MAX_SHEET_ROWS:
                    raise SourceFileError(self.path, f"worksheet {part.filename} has more than {MAX_SHEET_ROWS:,} "
                                                     "rows, the most an Excel worksheet can hold")
        rows += len(_ROW_TAG.findall(carry))
        if rows > MAX_SHEET_ROWS:
            raise SourceFileError(self.path, f"worksheet {part.filename} has more than {MAX_SHEET_ROWS:,} rows, "
                                             "the most an Excel worksheet can hold")

    def _check_prolog(self, part: str, head: bytes) -> None:
        text = head.decode("utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "latin-1", errors="ignore")
        declaration = scan_prolog(text.removeprefix("\ufeff").removeprefix("\xef\xbb\xbf"))
        if declaration is None and len(head) >= _PROLOG_BYTES:
            raise SourceFileError(self.path, f"workbook part {part}: XML prolog longer than {_PROLOG_BYTES:,} bytes")
        if declaration is not None and declaration >= 0:
            raise SourceFileError(self.path, f"workbook part {part} declares a DOCTYPE or entities, which are "
                                             "not allowed (refused for security: entity expansion)")

    # -- records --------------------------------------------------------------------------------------

    def _read(self, rows: Iterator[Row], fmt: str) -> Iterator[RecordChunk]:
        header_number, header = next(((n, cells) for n, cells in rows if not all(map(_blank, cells))),
                                     (0, []))
        if not header:
            raise SourceFileError(self.path, "the file is empty: no header row of naaccrIds")
        names = [(cell or "").strip() for cell in header]
        self._check_duplicates(names, header_number)
        first = next(((n, cells) for n, cells in rows if not all(map(_blank, cells))), None)
        version = self._version(names, first)
        try:
            dictionary = base_dictionary(version)
        except DictionaryError as exc:
            raise SourceFileError(self.path, str(exc)) from exc
        self._check_headers(names, dictionary, header_number)
        columns = {i: name for i, name in enumerate(names) if name}
        record_type = self._record_type(names, first, dictionary)
        root_items: dict[str, str] = {}
        if first is not None:
            for i, naaccr_id in columns.items():
                cell = first[1][i] if i < len(first[1]) else None
                if dictionary.items[naaccr_id].level == ROOT_LEVEL and cell is not None and cell.strip():
                    root_items[naaccr_id] = cell
        self.source = SourceFile(path=self.path, format=fmt, naaccr_version=version, record_type=record_type,
                                 dictionary=dictionary, root_items=root_items)
        if self.naaccr_version and self.naaccr_version != version:
            self.source.warnings.append(
                f"the file's naaccrRecordVersion {version} overrides the requested version "
                f"{self.naaccr_version}")
        if first is None:
            return
        assembler = RecordAssembler(dictionary, root_items, root_line=first[0], chunk_records=self.chunk_rows,
                                    blank_repeats=True)
        buffer = io.StringIO()
        # the terminator must contain CR and LF so that cells holding line breaks get quoted
        writer = csv.writer(buffer, lineterminator="\r\n")
        warned = False
        for number, cells in chain([first], rows):
            if all(map(_blank, cells)):
                continue
            values: dict[str, str] = {}
            stray: list[str] = []
            for i, cell in enumerate(cells):
                if cell is None or not cell.strip():
                    continue
                column = columns.get(i)
                if column is None:
                    stray.append(get_column_letter(i + 1))
                else:
                    values[column] = cell
            warnings = [(None, f"values in column(s) {', '.join(stray)} have no naaccrId header and were "
                               f"ignored")] if stray else []
            buffer.seek(0)
            buffer.truncate()
            last = max(i for i, cell in enumerate(cells) if not _blank(cell))
            writer.writerow(["" if c is None else c for c in cells[:last + 1]])
            chunk = assembler.add(number, buffer.getvalue()[:-2], values, values.get(PATIENT_KEY), (), warnings)
            if not warned and self._decoder.first_fallback is not None:
                self.source.warnings.append(self._decoder.warning() or "")
                warned = True
            if chunk is not None:
                yield chunk
        last_chunk = assembler.finish()
        if last_chunk is not None:
            yield last_chunk

    def _check_duplicates(self, names: list[str], line: int) -> None:
        seen: dict[str, list[str]] = {}
        for i, name in enumerate(names):
            if name:
                seen.setdefault(name, []).append(get_column_letter(i + 1))
        duplicates = [f"{name!r} (columns {', '.join(cols)})" for name, cols in seen.items() if len(cols) > 1]
        if duplicates:
            raise SourceFileError(self.path, f"duplicate column header(s): {'; '.join(duplicates)}", line=line)

    def _version(self, names: list[str], first: Row | None) -> str:
        """naaccrRecordVersion of the first data row, else the caller's version, else the newest version
        whose dictionary defines every header (so a v25 template with `sex` reads as v25), else the latest."""
        value = _first_row_value(names, first, VERSION_COLUMN)
        if value is not None and first is not None:
            if value not in SUPPORTED_VERSIONS:
                raise SourceFileError(
                    self.path, f"naaccrRecordVersion {value!r} is not a supported NAACCR version "
                    f"(supported: {', '.join(SUPPORTED_VERSIONS)})", line=first[0], naaccr_id=VERSION_COLUMN)
            return value
        version = self.naaccr_version or _newest_version_with(names) or LATEST_VERSION
        if version not in SUPPORTED_VERSIONS:
            raise SourceFileError(self.path, f"NAACCR version {version!r} is not supported "
                                  f"(supported: {', '.join(SUPPORTED_VERSIONS)})")
        return version

    def _check_headers(self, names: list[str], dictionary: Dictionary, line: int) -> None:
        """Every header must be a naaccrId of the version; all unknown ones are reported together."""
        unknown = [name for name in names if name and name not in dictionary.items]
        if not unknown:
            return
        if len(unknown) == len([name for name in names if name]):
            # Nothing of the first row is quoted back: the file may be anything (a link, a key, a log).
            raise SourceFileError(self.path, "not a NAACCR XML, NAACCR flat, CSV or Excel file: no column of the "
                                             "first row is a naaccrId", line=line)
        ids = list(dictionary.items)
        by_lower = {i.lower(): i for i in ids}
        described = []
        for name in unknown:
            hints = []
            guesses = [by_lower[name.lower()]] if name.lower() in by_lower else \
                difflib.get_close_matches(name, ids, n=3, cutoff=0.7)
            if guesses:
                hints.append("did you mean " + " or ".join(repr(g) for g in guesses) + "?")
            elsewhere = _versions_defining(name)
            if elsewhere:
                hints.append(f"an item of NAACCR {', '.join('v' + version_label(v) for v in elsewhere)}")
            shown = name if len(name) <= _SHOWN_HEADER else name[:_SHOWN_HEADER] + "..."
            described.append(f"{shown!r}" + (f" ({'; '.join(hints)})" if hints else ""))
        raise SourceFileError(
            self.path, f"{len(unknown)} column header(s) are not naaccrIds of NAACCR "
            f"v{version_label(dictionary.version)}: {', '.join(described)}", line=line)

    def _record_type(self, names: list[str], first: Row | None, dictionary: Dictionary) -> str:
        """The recordType column of the first data row, else "A" with confidential/text columns, else "I"."""
        value = _first_row_value(names, first, RECORD_TYPE_COLUMN)
        if value is not None and first is not None:
            if value not in RECORD_TYPES:
                raise SourceFileError(self.path, f"recordType {value!r} is not one of "
                                      f"{', '.join(RECORD_TYPES)}", line=first[0], naaccr_id=RECORD_TYPE_COLUMN)
            return value
        beyond_incidence = any("I" not in dictionary.items[n].record_types for n in names if n)
        return "A" if beyond_incidence else "I"


def _reason(exc: BaseException) -> str:
    """An exception as a short reason: its message, or its type when it has none."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _first_row_value(names: list[str], first: Row | None, column: str) -> str | None:
    """The stripped value of a column on the first data row, or None when absent or blank."""
    if column not in names or first is None:
        return None
    i = names.index(column)
    cell = first[1][i] if i < len(first[1]) else None
    return None if _blank(cell) else (cell or "").strip()


def _newest_version_with(names: list[str]) -> str | None:
    """The newest NAACCR version whose base dictionary has every named item, if any."""
    wanted = [name for name in names if name]
    for version in reversed(SUPPORTED_VERSIONS):
        items = base_dictionary(version).items
        if all(name in items for name in wanted):
            return version
    return None


def _versions_defining(naaccr_id: str) -> list[str]:
    """The NAACCR versions whose base dictionary has this naaccrId (for error hints only)."""
    return [v for v in SUPPORTED_VERSIONS if naaccr_id in base_dictionary(v).items]
