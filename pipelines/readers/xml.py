"""Streaming reader for NAACCR XML data files (``NaaccrData`` / ``Patient`` / ``Tumor`` / ``Item``).

NAACCR XML files can be many gigabytes, so the file is parsed incrementally with ``lxml.etree.iterparse``
and every finished Patient is dropped from the tree; memory stays bounded by the largest patient plus one
chunk of rows. Events are requested only for NaaccrData, Patient and Tumor; the Items of an entity are
read from its finished element, which keeps Python work per Item to a few attribute lookups. The reader only checks the *structure* of the file (root, namespace, nesting, required
attributes) and reports each Item exactly as received; dictionary membership, levels, lengths and
duplicates are checked by the loader so that every input format gets the same validation.

Hostile input is refused before lxml sees it: any DOCTYPE or entity declaration in the prolog is an
error (billion-laughs and external-entity files fail at once), and the parser never loads DTDs, resolves
entities or touches the network. Control characters that are illegal in XML 1.0 occur in real registry
exports; they are filtered out of the byte stream and reported once as a file warning instead of
failing the whole file (NAACCR XML spec section 2.6).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from pipelines.readers.source import MAX_RECORD_BYTES, UTF8_BOM, open_binary
from pipelines.records import PATIENT, TUMOR, ChunkBuilder, RecordChunk, SourceFile
from registry.errors import DictionaryError, SourceFileError
from registry.naaccr import NAACCR_NAMESPACE, Dictionary, version_from_base_uri
from registry.user_dictionary import dictionary_for_file

SPECIFICATION_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8")
RECORD_TYPES = ("A", "M", "C", "I")
INT32_MAX = 2**31 - 1

# Bytes illegal in XML 1.0 (TAB, LF and CR are allowed). In ASCII-compatible encodings these byte values
# never occur inside a multi-byte character, so they can be deleted from the raw bytes safely.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_CONTROL_RE = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_READ_SIZE = 1 << 16
_MAX_PROLOG = 1 << 20
_LXML_POSITION = re.compile(r",? line \d+, column \d+$")

# Levels of a container element (PATIENT and TUMOR as in records.py).
_ROOT = 0
_LEVEL_NAMES = {_ROOT: "NaaccrData", PATIENT: "Patient", TUMOR: "Tumor"}


class _CleanStream:
    """File-like wrapper that deletes XML-illegal control bytes and can look ahead at the prolog.

    Also converts decompression errors into SourceFileError and remembers whether the input ended,
    which tells a truncated file apart from other syntax errors.
    """

    def __init__(self, raw: BinaryIO, path: Path) -> None:
        self._raw = raw
        self._path = path
        self._pending = b""
        self.filter_controls = True
        self._started = False
        self.removed = 0
        self.first_removed_line: int | None = None
        self.newlines = 0
        self.ends_with_newline = False
        self.eof = False
        self.consumed = 0          # bytes read from the file (decompressed), before filtering
        self.record_start = 0      # where the current Patient (or the head) began, as `consumed`
        self.record_line = 1

    def end_record(self) -> None:
        """Mark the end of a Patient: the next one may again take up to MAX_RECORD_BYTES."""
        self.record_start = self.consumed
        self.record_line = self.last_line

    def _read_raw(self, size: int) -> bytes:
        try:
            data = self._raw.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceFileError(self._path, f"cannot read file (corrupt or truncated gzip?): {exc}") from exc
        if not data:
            self.eof = True
            return data
        self.consumed += len(data)
        if self.consumed - self.record_start > MAX_RECORD_BYTES + _READ_SIZE:
            raise SourceFileError(
                self._path, f"more than {MAX_RECORD_BYTES:,} bytes without the end of a Patient (the most one "
                            "patient may take; refused to keep memory bounded)", line=self.record_line)
        if not self._started:
            self._started = True
            # Control bytes are part of UTF-16 code units; filtering them would corrupt the text.
            if data[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"):
                self.filter_controls = False
        if self.filter_controls:
            cleaned = data.translate(None, _CONTROL_BYTES)
            if len(cleaned) != len(data):
                if self.first_removed_line is None:
                    match = _CONTROL_RE.search(data)
                    offset = match.start() if match else 0
                    self.first_removed_line = self.newlines + data.count(b"\n", 0, offset) + 1
                self.removed += len(data) - len(cleaned)
            self.newlines += data.count(b"\n")
            data = cleaned
        else:
            self.newlines += data.count(b"\n")
        self.ends_with_newline = data.endswith(b"\n")
        return data

    def peek(self, size: int) -> bytes:
        """At least ``size`` bytes from the current position (fewer at end of file), not consumed."""
        while len(self._pending) < size and not self.eof:
            self._pending += self._read_raw(max(_READ_SIZE, size - len(self._pending)))
        return self._pending

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` cleaned bytes (lxml calls this)."""
        if self._pending:
            if size < 0:
                data, self._pending = self._pending, b""
                return data + self.read()
            if size >= len(self._pending):
                data, self._pending = self._pending, b""
            else:
                data, self._pending = self._pending[:size], self._pending[size:]
            return data
        if size < 0:
            parts = []
            while part := self._read_raw(_READ_SIZE):
                parts.append(part)
            return b"".join(parts)
        # A filtered chunk may come back empty without being the end of the input.
        while not self.eof:
            data = self._read_raw(size)
            if data:
                return data
        return b""

    @property
    def last_line(self) -> int:
        """Number of the last line read so far."""
        return self.newlines + (0 if self.ends_with_newline else 1)


def _check_prolog(stream: _CleanStream, path: Path) -> None:
    """Refuse DOCTYPE and entity declarations before the root start tag, without parsing anything."""
    size = 4096
    head = stream.peek(size)
    codec = None
    if head[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\x00<", b"<\x00\x00\x00") \
            or head[:4] == b"\x4c\x6f\xa7\x94":
        raise SourceFileError(path, "unsupported character encoding (UCS-4 or EBCDIC); use UTF-8")
    if head[:2] in (b"\xff\xfe", b"<\x00"):
        codec = "utf-16-le"
    elif head[:2] in (b"\xfe\xff", b"\x00<"):
        codec = "utf-16-be"
    bom = "\ufeff" if codec else UTF8_BOM.decode("latin-1")
    while True:
        text = (head.decode(codec, errors="ignore") if codec else head.decode("latin-1")).removeprefix(bom)
        declaration = scan_prolog(text)
        if declaration is not None:
            if declaration >= 0:
                raise SourceFileError(
                    path, "DOCTYPE/entity declarations are not allowed in NAACCR XML files "
                          "(refused for security: entity expansion, external entities)",
                    line=text.count("\n", 0, declaration) + 1)
            return
        if stream.eof:
            return  # lxml reports the incomplete document
        if size >= _MAX_PROLOG:
            raise SourceFileError(path, f"XML prolog longer than {_MAX_PROLOG} bytes before the root element")
        size *= 4
        head = stream.peek(size)


def scan_prolog(text: str) -> int | None:
    """Offset of a DOCTYPE/ENTITY declaration in the prolog, -1 if the root starts without one,
    None if more text is needed to tell."""
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            return None
        if text.startswith("<?", pos):
            close = text.find("?>", pos + 2)
            if close < 0:
                return None
            pos = close + 2
        elif text.startswith("<!--", pos):
            close = text.find("-->", pos + 4)
            if close < 0:
                return None
            pos = close + 3
        elif text.startswith("<!", pos):
            if end - pos < 9:
                return None
            return pos if text.startswith(("<!DOCTYPE", "<!ENTITY"), pos) else -1
        else:
            return -1  # the root element (or garbage lxml will reject)


# ISO 8601 date and time as NAACCR XML's timeGenerated (xs:dateTime): fractional seconds of any length, an
# optional UTC offset or Z.
TIME_GENERATED = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))?")


def valid_time_generated(text: str) -> bool:
    """Whether `text` is a date and time NAACCR XML's timeGenerated may hold (a real calendar moment)."""
    match = TIME_GENERATED.fullmatch(text.strip())
    if match is None:
        return False
    year, month, day, hour, minute, second, offset_hours, offset_minutes = match.groups()
    try:
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return False
    return offset_hours is None or (int(offset_hours) <= 14 and int(offset_minutes) < 60)


def _split_tag(tag: str) -> tuple[str, str]:
    """("namespace", "localName") of a Clark-notation tag."""
    if tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class NaaccrXmlReader:
    """Reads one NAACCR XML file (optionally gzip-compressed) as a stream of RecordChunks."""

    source: SourceFile

    def __init__(self, path: Path, *, user_dictionaries: Sequence[Dictionary] = (),
                 chunk_items: int = 200_000) -> None:
        self.path = Path(path)
        self.user_dictionaries = tuple(user_dictionaries)
        self.chunk_items = chunk_items
        self._open: str | None = None   # innermost open NAACCR entity, to name it when the file is cut
        self._extensions = 0
        self._issues = 0
        self._patient_items: dict[str, int] = {}
        self._ns = ""
        self._builder = ChunkBuilder()

    def chunks(self) -> Iterator[RecordChunk]:
        """Yield the file's patients and tumors; raise SourceFileError when the file cannot be read."""
        with open_binary(self.path) as raw:
            stream = _CleanStream(raw, self.path)
            _check_prolog(stream, self.path)
            yield from self._parse(stream)

    def _error(self, reason: str, line: int | None = None, naaccr_id: str | None = None) -> SourceFileError:
        return SourceFileError(self.path, reason, line=line, naaccr_id=naaccr_id)

    def _parse(self, stream: _CleanStream) -> Iterator[RecordChunk]:
        # Events only for the entity elements: Items are read from their finished parent, which avoids
        # two Python-level events per Item. "{*}" also matches no-namespace and foreign-namespace
        # elements of these names; _walk sorts them out.
        events = etree.iterparse(
            stream, events=("start", "end"), tag=("{*}NaaccrData", "{*}Patient", "{*}Tumor"),
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            remove_comments=True, remove_pis=True)
        self._open = None
        self._extensions = 0
        try:
            yield from self._walk(events, stream)
        except etree.XMLSyntaxError as exc:
            raise self._syntax_error(exc, stream, events.error_log) from exc

    def _syntax_error(self, exc: etree.XMLSyntaxError, stream: _CleanStream,
                      log: etree._ListErrorLog) -> SourceFileError:
        message = _LXML_POSITION.sub("", exc.msg or str(exc))
        line = exc.lineno or None
        if line is None and self._open:
            # With resolve_entities=False lxml may raise a generic "no element found" instead of the
            # parser's real error (e.g. an undefined entity); this parser's own log still has it
            # (the exception's log may also hold errors of earlier parses).
            fatal = log.filter_from_fatals()
            if fatal:
                message, line = fatal[0].message, fatal[0].line or None
        if exc.code == etree.ErrorTypes.ERR_INVALID_ENCODING:
            return self._error(f"invalid bytes for the file's declared encoding: {message}", line)
        if stream.eof and line is not None and line >= stream.last_line and self._open:
            return self._error(f"file ends before </{self._open}> closes (truncated?): {message}", line)
        if stream.eof and not self._open and line in (0, None):
            return self._error("file contains no XML element (empty file?)")
        return self._error(f"not well-formed XML: {message}", line)

    def _walk(self, events: etree.iterparse, stream: _CleanStream) -> Iterator[RecordChunk]:
        first = next(events, None)
        root = first[1].getroottree().getroot() if first else events.root
        if root is None:
            raise self._error("file contains no XML element (empty file?)")
        source = self._read_root(root)
        self.source = source
        self._open = "NaaccrData"
        ns = "{" + NAACCR_NAMESPACE + "}" if root.tag[:1] == "{" else ""
        t_patient, t_tumor = ns + "Patient", ns + "Tumor"
        builder = ChunkBuilder()
        self._builder = builder
        self._issues = 0
        self._ns = ns
        chunk_items = self.chunk_items
        patient: Any = None       # the open Patient element (Any: mypy narrows "elem is patient" badly)
        tumor: Any = None
        patient_done = 0      # children of the current patient already read
        patient_seq = tumor_seq = 0
        ignore = 0            # depth inside an element skipped as a whole
        yielded = False
        event: str
        elem: etree._Element

        for event, elem in events:
            if ignore:
                ignore += 1 if event == "start" else -1
                continue
            if event == "start":
                tag = elem.tag
                if tag == t_tumor:
                    if patient is None or tumor is not None or elem.getparent() is not patient:
                        if self._inside_extension(elem, root):
                            ignore = 1
                            continue
                        raise self._misplaced(elem)
                    # The patient's own items come before its tumors: emit them first, in file order.
                    # (lxml parses ahead, so the patient may already hold later children too.)
                    position = patient.index(elem)
                    self._read_children(patient[patient_done:position], PATIENT, patient_seq, 0, t_tumor)
                    patient_done = position + 1
                    tumor_seq += 1
                    builder.entity(TUMOR, patient_seq, tumor_seq, elem.sourceline)
                    self._refuse_attributes(elem, "Tumor", patient_seq, tumor_seq)
                    tumor = elem
                    self._open = "Tumor"
                elif tag == t_patient:
                    if patient is not None or elem.getparent() is not root:
                        if self._inside_extension(elem, root):
                            ignore = 1
                            continue
                        raise self._misplaced(elem)
                    self._read_children(reversed(list(elem.itersiblings(preceding=True))), _ROOT, 0, 0,
                                        t_patient)
                    patient_seq += 1
                    builder.entity(PATIENT, patient_seq, 0, elem.sourceline)
                    self._refuse_attributes(elem, "Patient", patient_seq, 0)
                    patient = elem
                    patient_done = 0
                    self._patient_items = {}
                    self._open = "Patient"
                elif elem is not root:
                    # A foreign element or a nested NaaccrData: its container classifies it.
                    ignore = 1
            elif elem is tumor:
                self._read_children(elem, TUMOR, patient_seq, tumor_seq, None)
                elem.clear()
                tumor = None
                self._open = "Patient"
            elif elem is patient:
                self._read_children(elem[patient_done:], PATIENT, patient_seq, 0, t_tumor)
                elem.clear()
                # Drop what precedes the finished patient (already read); never the elements after
                # it, which lxml may already have parsed but not yet reported.
                while elem.getprevious() is not None:
                    del root[0]
                patient = None
                self._open = "NaaccrData"
                stream.end_record()
                if len(builder) >= chunk_items:
                    source.extensions_skipped = self._extensions
                    yield builder.flush()
                    yielded = True
                    self._issues = 0
            elif elem is root:
                self._read_children(root, _ROOT, 0, 0, t_patient)
                self._open = None

        source.extensions_skipped = self._extensions
        if stream.removed:
            source.warnings.append(
                f"{stream.removed} control character(s) illegal in XML were removed "
                f"(first on line {stream.first_removed_line})")
        if len(builder) or self._issues or not yielded:
            yield builder.flush()

    def _refuse_attributes(self, elem: etree._Element, name: str, patient_seq: int, tumor_seq: int) -> None:
        """Reject a Patient or Tumor that carries an attribute of its own: NAACCR XML allows none there, only
        attributes in another namespace (extensions, ignored), and the reference reader cannot read it."""
        ns = self._ns
        for attribute in elem.attrib:
            key = str(attribute)
            if key.startswith("{") and not (ns and key.startswith(ns)):
                continue
            shown = _split_tag(key)[1]
            self._builder.issue("reject", patient_seq, tumor_seq, elem.sourceline, None,
                                f"<{name}> has the attribute {shown!r}; NAACCR XML allows no attribute on {name} "
                                f"(only extensions in another namespace)", rule="unknown-attribute")
            self._issues += 1

    def _read_children(self, children: Iterable[etree._Element], level: int, patient_seq: int,
                       tumor_seq: int, entity_tag: str | None) -> None:
        """Emit the Items among finished ``children``; count extensions; refuse anything else.

        ``entity_tag`` names child entities already handled through their own events.
        """
        ns = self._ns
        t_item = ns + "Item"
        add_item = self._builder.item
        root_items = self.source.root_items
        # Lines of the items already seen in this entity (a patient's items arrive in several calls).
        seen = self._patient_items if level == PATIENT else {}
        for child in children:
            tag = child.tag
            if tag == t_item:
                if len(child):
                    inner = _split_tag(child[0].tag)[1]
                    raise self._error(f"element <{inner}> is not allowed inside <Item>", child[0].sourceline)
                naaccr_id = child.get("naaccrId")
                if not naaccr_id:
                    raise self._error("<Item> without naaccrId attribute", child.sourceline)
                text = child.text
                if not text or text.isspace():
                    continue
                line = child.sourceline
                num_text = child.get("naaccrNum")
                num = None if num_text is None else self._item_number(
                    num_text, level, patient_seq, tumor_seq, line, naaccr_id)
                if level != _ROOT:
                    if naaccr_id in seen:
                        self._builder.issue(
                            "reject", patient_seq, tumor_seq, line, naaccr_id,
                            f"item '{naaccr_id}' appears again in one {'Tumor' if tumor_seq else 'Patient'} "
                            f"(first at line {seen[naaccr_id]})", rule="duplicate-item")
                    else:
                        seen[naaccr_id] = line
                    add_item(level, patient_seq, tumor_seq, naaccr_id, text, line, num)
                elif naaccr_id not in root_items:
                    root_items[naaccr_id] = text
                elif root_items[naaccr_id] != text:
                    self.source.warnings.append(
                        f"line {line}: NaaccrData item {naaccr_id} appears again with a different value; "
                        f"the first value {root_items[naaccr_id]!r} is kept")
            elif tag == entity_tag:
                continue
            elif tag[:1] == "{" and not (ns and tag.startswith(ns)):
                self._extensions += 1
            else:
                raise self._unknown(child, level)

    def _item_number(self, text: str, level: int, patient_seq: int, tumor_seq: int, line: int,
                     naaccr_id: str) -> int | None:
        """The naaccrNum attribute as an int; an invalid one rejects the entity (the file if at root)."""
        try:
            num = int(text)
        except ValueError:
            num = -1
        if 0 <= num <= INT32_MAX:
            return num
        reason = f"naaccrNum {text!r} is not a valid item number"
        if level == _ROOT:
            raise self._error(reason, line, naaccr_id)
        self._builder.issue("reject", patient_seq, tumor_seq, line, naaccr_id, reason)
        self._issues += 1
        return None

    def _inside_extension(self, elem: etree._Element, root: etree._Element) -> bool:
        """Whether an element sits somewhere inside a foreign-namespace extension element."""
        ns = self._ns
        for ancestor in elem.iterancestors():
            if ancestor is root:
                return False
            tag = ancestor.tag
            if tag[:1] == "{" and not (ns and tag.startswith(ns)):
                return True
        return False

    def _misplaced(self, elem: etree._Element) -> SourceFileError:
        name = _split_tag(elem.tag)[1]
        parent = elem.getparent()
        inside = _split_tag(parent.tag)[1] if parent is not None else "the document"
        where = {"Tumor": "Patient", "Patient": "NaaccrData"}[name]
        return self._error(f"<{name}> is not allowed inside <{inside}> (it belongs in {where})", elem.sourceline)

    def _unknown(self, elem: etree._Element, level: int) -> SourceFileError:
        tag_ns, name = _split_tag(elem.tag)
        parent = _LEVEL_NAMES[level]
        if self._ns and not tag_ns:
            return self._error(f"element <{name}> inside <{parent}> has no namespace (NAACCR elements "
                               f"must be in {NAACCR_NAMESPACE}; extensions need their own namespace)",
                               elem.sourceline)
        return self._error(f"unknown element <{name}> inside <{parent}> (misspelled tag?)", elem.sourceline)

    def _read_root(self, root: etree._Element) -> SourceFile:
        """Check the root element and its attributes; build the SourceFile with the file's dictionary."""
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise self._error("DOCTYPE/entity declarations are not allowed in NAACCR XML files", 1)
        line = root.sourceline
        ns, name = _split_tag(root.tag)
        if name != "NaaccrData":
            raise self._error(f"root element is <{name}>, expected <NaaccrData> (not a NAACCR XML data file)",
                              line)
        attributes = {str(k): str(v) for k, v in root.attrib.items()}
        spec = attributes.get("specificationVersion", "1.0").strip()
        warnings: list[str] = []
        if ns != NAACCR_NAMESPACE:
            if ns:
                kind = "has the prefixed" if root.prefix else "has the default"
                raise self._error(f"root element {kind} namespace {ns!r}; NAACCR XML requires "
                                  f"{NAACCR_NAMESPACE!r}", line)
            # Read as the reference reader's relaxed namespace mode reads it: unprefixed NaaccrData, Patient,
            # Tumor and Item are the NAACCR elements and every item is read as usual (its default, strict
            # mode refuses the file).
            warnings.append(f"root element has no namespace; NAACCR XML (specification {spec}) requires "
                            f"xmlns={NAACCR_NAMESPACE!r}; the file is read without it (relaxed namespace rules)")
        if spec not in SPECIFICATION_VERSIONS:
            raise self._error(f"unsupported specificationVersion {spec!r} (supported: "
                              f"{', '.join(SPECIFICATION_VERSIONS)})", line)
        base_uri = attributes.get("baseDictionaryUri")
        if not base_uri:
            raise self._error("NaaccrData has no baseDictionaryUri attribute (it declares the NAACCR version)",
                              line)
        try:
            version = version_from_base_uri(base_uri)
        except DictionaryError as exc:
            raise self._error(str(exc), line) from exc
        record_type = attributes.get("recordType", "").strip()
        if not record_type:
            raise self._error("NaaccrData has no recordType attribute", line)
        if record_type not in RECORD_TYPES:
            raise self._error(f"invalid recordType {record_type!r} (expected A, M, C or I)", line)
        generated = attributes.get("timeGenerated")
        if generated is not None and not valid_time_generated(generated):
            warnings.append(f"timeGenerated {generated!r} is not an ISO 8601 date and time (e.g. "
                            f"2024-03-01T09:30:00-05:00); the records are read, the attribute is kept as sent")
        dictionary = self._dictionary(version, attributes.get("userDictionaryUri", ""), spec, line)
        return SourceFile(path=self.path, format="naaccr-xml", naaccr_version=version,
                          record_type=record_type, dictionary=dictionary, specification_version=spec,
                          root_attributes=attributes, warnings=warnings)

    def _dictionary(self, version: str, declared: str, spec: str, line: int | None) -> Dictionary:
        """The base dictionary with the user dictionaries the file declares; the file is refused, as by the
        reference reader, when one was not supplied, is of another NAACCR version or is invalid with this one."""
        try:
            return dictionary_for_file(version, declared, self.user_dictionaries, specification_version=spec)
        except DictionaryError as exc:
            raise self._error(str(exc), line) from exc
