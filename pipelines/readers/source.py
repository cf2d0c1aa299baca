"""Opening input files: transparent gzip, and recognising the format from the first bytes."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import BinaryIO

from pipelines.records import SourceFileError

GZIP_MAGIC = b"\x1f\x8b"
XLSX_MAGIC = b"PK\x03\x04"
UTF8_BOM = b"\xef\xbb\xbf"


def open_binary(path: Path) -> BinaryIO:
    """Open a file for binary reading, decompressing gzip on the fly (never the whole file in memory)."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise SourceFileError(path, f"cannot open file: {exc.strerror or exc}") from exc
    head = fh.read(2)
    fh.seek(0)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def detect_format(path: Path) -> str:
    """"naaccr-xml", "naaccr-flat", "csv" or "excel", from the file's content and name."""
    with open_binary(path) as fh:
        try:
            head = fh.read(4096)
        except (OSError, EOFError) as exc:
            raise SourceFileError(path, f"cannot read file: {exc}") from exc
    if head.startswith(XLSX_MAGIC):
        return "excel"
    text = head[len(UTF8_BOM):] if head.startswith(UTF8_BOM) else head
    # UTF-16 XML starts with a byte-order mark or "<\0"
    if text.lstrip().startswith(b"<") or text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "naaccr-xml"
    first_line = text.split(b"\n", 1)[0].rstrip(b"\r")
    if first_line[:1] in (b"A", b"M", b"C", b"I") and first_line[16:19] in (b"140", b"150", b"160", b"180") \
            and len(first_line) >= 3339:
        return "naaccr-flat"
    if first_line[:1] in (b"A", b"M", b"C", b"I") and first_line[16:19].strip().isdigit() and len(first_line) > 1000:
        return "naaccr-flat"
    return "csv"
