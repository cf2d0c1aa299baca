"""Reader for NAACCR fixed-width ("flat") files, NAACCR v14 to v18.

A flat file holds one tumor per line. The record type (column 1) and the NAACCR version (columns 17-19)
of the first line fix the layout of the whole file; every item sits at the columns the version's
dictionary gives it. Consecutive lines with the same ``patientIdNumber`` are the tumors of one patient.

The file is streamed line by line (gzip is unwrapped on the fly) so files of millions of tumors need no
more memory than one chunk. A problem with one line (wrong length, wrong record type, blank line) is
reported as an issue on that line instead of failing the file, so one damaged record does not stop a
whole submission; only an unreadable file or an unknown format raises ``SourceFileError``.

``LineDecoder`` and ``RecordAssembler`` are shared with the CSV/Excel reader, which groups rows into
patients the same way.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from pipelines.readers.source import MAX_LINE_BYTES, UTF8_BOM, open_binary
from pipelines.records import PATIENT, TUMOR, ChunkBuilder, RecordChunk, SourceFile
from registry.errors import DictionaryError, SourceFileError
from registry.naaccr import FLAT_LINE_LENGTHS, Dictionary
from registry.user_dictionary import dictionary_for_flat_file

ROOT_LEVEL = "NaaccrData"
PATIENT_LEVEL = "Patient"
PATIENT_KEY = "patientIdNumber"
RECORD_TYPES = ("A", "M", "C", "I")


def version_label(version: str) -> str:
    """ "180" -> "18": the version as NAACCR documents name it ("NAACCR v18")."""
    return version[:2]


class LineDecoder:
    """Decodes lines as UTF-8; a line that is not UTF-8 is read as Windows-1252 (Latin-1 as last resort).

    Registries still produce Windows-1252 files; decoding per line keeps fixed-width columns aligned
    by character in either encoding and never fails the file.
    """

    def __init__(self) -> None:
        self.first_fallback: int | None = None  # first line that was not valid UTF-8

    def decode(self, data: bytes, line: int) -> str:
        """The text of one line (without its terminator)."""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if self.first_fallback is None:
                self.first_fallback = line
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                # five bytes are undefined in cp1252; Latin-1 maps every byte
                return data.decode("latin-1")

    def warning(self) -> str | None:
        """The file-level warning to report, once, when some line was not UTF-8."""
        if self.first_fallback is None:
            return None
        return (f"the file is not valid UTF-8 (first at line {self.first_fallback}); lines that are not "
                f"UTF-8 were decoded as Windows-1252")


def binary_lines(path: Path, fh: BinaryIO) -> Iterator[bytes]:
    """The file's lines as bytes without their LF / CRLF terminator; read errors become SourceFileError.

    A line longer than MAX_LINE_BYTES fails the file, so memory stays bounded whatever the input.
    """
    line = 0
    while True:
        try:
            data = fh.readline(MAX_LINE_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip, I/O error
            raise SourceFileError(path, f"cannot read file: {exc}", line=line + 1) from exc
        if not data:
            return
        line += 1
        if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
            raise SourceFileError(path, f"line longer than {MAX_LINE_BYTES:,} bytes (not a NAACCR flat or "
                                        "CSV file?)", line=line)
        if line == 1 and data.startswith(UTF8_BOM):
            data = data[len(UTF8_BOM):]
        if data.endswith(b"\n"):
            data = data[:-1]
            if data.endswith(b"\r"):
                data = data[:-1]
        yield data


class RecordAssembler:
    """Turns records (one tumor each, in file order) into patients, tumors, items and issues.

    Consecutive records with the same patient key form one patient; a record without a key is a patient
    of its own. Patient-level values are kept from the patient's first accepted record and later records
    that disagree get a warning. With ``blank_repeats`` (spreadsheets, where people fill patient columns
    once per patient) a blank value on a later record is not a disagreement and a value missing from the
    first record is taken from the first later record that has it. Patient-level items are emitted when
    the patient is complete; chunks are cut only between patients.
    """

    def __init__(self, dictionary: Dictionary, root_items: dict[str, str], *, root_line: int,
                 chunk_records: int, blank_repeats: bool) -> None:
        self._levels = {item.naaccr_id: item.level for item in dictionary.items.values()}
        self._root_ids = [i for i, level in self._levels.items() if level == ROOT_LEVEL]
        self._root_items = root_items
        self._root_line = root_line
        self._chunk_records = max(1, chunk_records)
        self._blank_repeats = blank_repeats
        self._builder = ChunkBuilder()
        self._records_in_chunk = 0
        self._dirty = False
        self.patients = 0
        self.tumors = 0
        self._open = False
        self._key: str | None = None
        self._patient_values: dict[str, tuple[str, int]] = {}  # naaccrId -> (value, line)
        self._patient_line = 0      # line the patient-level values were first taken from
        self._patient_filled = False

    def add(self, line: int, raw: str | None, values: dict[str, str] | None, key: str | None,
            rejects: Sequence[str] = (), warnings: Sequence[tuple[str | None, str]] = (), *,
            attach: bool = False) -> RecordChunk | None:
        """Add one record; return a finished chunk when the chunk limit was reached before this patient.

        ``values`` holds the record's non-blank items (None when the record could not be parsed);
        ``rejects`` are reasons the record is rejected; ``attach`` puts a record whose patient cannot be
        told into the current patient.
        """
        chunk = None
        same_patient = self._open and (attach or (key is not None and key == self._key))
        if not same_patient:
            chunk = self._start_patient(line, key)
        self.tumors += 1
        patient_seq, tumor_seq, b = self.patients, self.tumors, self._builder
        b.entity(TUMOR, patient_seq, tumor_seq, line, raw)
        self._records_in_chunk += 1
        self._dirty = True
        for reason in rejects:
            b.issue("reject", patient_seq, tumor_seq, line, None, reason)
        for naaccr_id, reason in warnings:
            b.issue("warning", patient_seq, tumor_seq, line, naaccr_id, reason)
        if values is None or rejects:
            return chunk
        self._check_root(values, line, patient_seq, tumor_seq)
        levels = self._levels
        patient_values: dict[str, str] = {}
        for naaccr_id, value in values.items():
            level = levels[naaccr_id]
            if level == PATIENT_LEVEL:
                patient_values[naaccr_id] = value
            elif level != ROOT_LEVEL:
                b.item(TUMOR, patient_seq, tumor_seq, naaccr_id, value, line)
        self._merge_patient(patient_values, line, patient_seq, tumor_seq)
        return chunk

    def file_issue(self, severity: str, line: int | None, reason: str) -> None:
        """An issue about the file rather than a record (e.g. a blank line)."""
        self._builder.issue(severity, 0, 0, line, None, reason)
        self._dirty = True

    def finish(self) -> RecordChunk | None:
        """Close the last patient and return the last chunk, if anything is left."""
        self._close_patient()
        if not self._dirty:
            return None
        self._dirty = False
        return self._builder.flush()

    def _start_patient(self, line: int, key: str | None) -> RecordChunk | None:
        self._close_patient()
        chunk = None
        if self._records_in_chunk >= self._chunk_records:
            chunk = self._builder.flush()
            self._records_in_chunk = 0
            self._dirty = False
        self.patients += 1
        self._builder.entity(PATIENT, self.patients, 0, line, None)
        self._dirty = True
        self._open, self._key = True, key
        self._patient_values, self._patient_line, self._patient_filled = {}, line, False
        return chunk

    def _close_patient(self) -> None:
        if not self._open:
            return
        for naaccr_id, (value, line) in self._patient_values.items():
            self._builder.item(PATIENT, self.patients, 0, naaccr_id, value, line)
        self._open = False
        self._patient_values = {}

    def _check_root(self, values: dict[str, str], line: int, patient_seq: int, tumor_seq: int) -> None:
        for naaccr_id in self._root_ids:
            new, first = values.get(naaccr_id), self._root_items.get(naaccr_id)
            if new == first or (self._blank_repeats and new is None):
                continue
            self._builder.issue(
                "warning", patient_seq, tumor_seq, line, naaccr_id,
                f"file-level item {naaccr_id} is {_shown(new)} here but {_shown(first)} on the first "
                f"record (line {self._root_line}); first value kept", rule="file-level-item")

    def _merge_patient(self, values: dict[str, str], line: int, patient_seq: int, tumor_seq: int) -> None:
        if not self._patient_filled:
            self._patient_values = {k: (v, line) for k, v in values.items()}
            self._patient_line, self._patient_filled = line, True
            return
        kept = self._patient_values
        ids = list(kept) + [k for k in values if k not in kept]
        for naaccr_id in ids:
            new = values.get(naaccr_id)
            old = kept.get(naaccr_id)
            if new == (old[0] if old else None):
                continue
            if self._blank_repeats:
                if new is None:
                    continue
                if old is None:
                    kept[naaccr_id] = (new, line)
                    continue
            self._builder.issue(
                "warning", patient_seq, tumor_seq, line, naaccr_id,
                f"patient-level item {naaccr_id} differs from the patient's first record "
                f"(line {self._patient_line}); first value kept")


def _shown(value: str | None) -> str:
    return "blank" if value is None else repr(value)


class NaaccrFlatReader:
    """Streams a NAACCR v14-v18 flat file (optionally gzip-compressed) as RecordChunks."""

    source: SourceFile

    def __init__(self, path: Path, *, user_dictionaries: Sequence[Dictionary] = (), chunk_lines: int = 2_000) -> None:
        self.path = Path(path)
        self.user_dictionaries = tuple(user_dictionaries)
        self.chunk_lines = chunk_lines

    def chunks(self) -> Iterator[RecordChunk]:
        """Yield the file's patients and tumors, at most about ``chunk_lines`` lines per chunk."""
        with open_binary(self.path) as fh:
            yield from self._read(fh)

    def _read(self, fh: BinaryIO) -> Iterator[RecordChunk]:
        decoder = LineDecoder()
        warned = False
        blank_lines: list[int] = []
        assembler: RecordAssembler | None = None
        for number, data in enumerate(binary_lines(self.path, fh), start=1):
            text = decoder.decode(data, number)
            if not text.strip():
                # trailing blank lines are harmless; only those followed by a record are reported
                blank_lines.append(number)
                continue
            if assembler is None:
                assembler = self._start(text, number)
            for blank in blank_lines:
                assembler.file_issue("reject", blank, "blank line")
            blank_lines.clear()
            if not warned and decoder.first_fallback is not None:
                self.source.warnings.append(decoder.warning() or "")
                warned = True
            chunk = self._record(assembler, text, number)
            if chunk is not None:
                yield chunk
        if assembler is None:
            raise SourceFileError(self.path, "the file holds no records")
        last = assembler.finish()
        if last is not None:
            yield last

    def _start(self, text: str, line: int) -> RecordAssembler:
        """Take the format from the first record and describe the file."""
        record_type, version = text[:1], text[16:19]
        if record_type not in RECORD_TYPES:
            raise SourceFileError(self.path, f"record type {record_type!r} in column 1 is not one of "
                                  f"{', '.join(RECORD_TYPES)}", line=line, naaccr_id="recordType")
        if version not in FLAT_LINE_LENGTHS:
            raise SourceFileError(
                self.path, f"NAACCR version {version!r} in columns 17-19 is not a flat-file version "
                f"(supported: {', '.join(FLAT_LINE_LENGTHS)})", line=line, naaccr_id="naaccrRecordVersion")
        try:
            dictionary = dictionary_for_flat_file(version, self.user_dictionaries)
        except DictionaryError as exc:
            raise SourceFileError(self.path, str(exc), line=line) from exc
        self._record_type, self._first_line = record_type, line
        self._width = FLAT_LINE_LENGTHS[version][record_type]
        self._where = f"NAACCR v{version_label(version)} record type {record_type}"
        self._slices = [
            (item.naaccr_id, (item.start_column or 1) - 1, (item.start_column or 1) - 1 + item.length,
             item.trim == "none", " " * item.length)
            for item in dictionary.flat_items(record_type)
        ]
        key_item = dictionary.items[PATIENT_KEY]
        self._key_slice = ((key_item.start_column or 1) - 1, (key_item.start_column or 1) - 1 + key_item.length)
        root_items = {k: v for k, v in self._extract(text).items()
                      if dictionary.items[k].level == ROOT_LEVEL}
        self.source = SourceFile(path=self.path, format="naaccr-flat", naaccr_version=version,
                                 record_type=record_type, dictionary=dictionary, root_items=root_items)
        return RecordAssembler(dictionary, root_items, root_line=line, chunk_records=self.chunk_lines,
                               blank_repeats=False)

    def _extract(self, text: str) -> dict[str, str]:
        """The non-blank items of a line; spaces are trimmed except for trim="none" items."""
        values: dict[str, str] = {}
        for naaccr_id, start, end, keep_spaces, blank in self._slices:
            # most items of a record are blank; comparing in place is far cheaper than slicing
            if text.startswith(blank, start):
                continue
            value = text[start:end]
            if keep_spaces:
                if value.strip(" "):
                    values[naaccr_id] = value
            else:
                value = value.strip(" ")
                if value:
                    values[naaccr_id] = value
        return values

    def _record(self, assembler: RecordAssembler, text: str, line: int) -> RecordChunk | None:
        rejects = []
        if text[:1] != self._record_type:
            rejects.append(f"record type {text[:1]!r}, expected {self._record_type!r} "
                           f"(the record type of line {self._first_line})")
        if len(text) != self._width:
            rejects.append(f"line length {len(text)}, expected {self._width} for {self._where}")
        if rejects:
            start, end = self._key_slice
            # a line too short to hold the patient id stays with the current patient
            attach = len(text) < end
            key = None if attach else (text[start:end].strip(" ") or None)
            return assembler.add(line, text, None, key, rejects, attach=attach)
        values = self._extract(text)
        return assembler.add(line, text, values, values.get(PATIENT_KEY))
