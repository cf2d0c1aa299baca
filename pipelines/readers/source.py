"""Opening input files: regular files only, transparent gzip, and recognising the format from the content.

Only regular files are read: a device (``/dev/zero``), a FIFO or a socket would never end or never
answer, and a symbolic link is refused rather than followed, so a link planted in an upload folder
cannot make the loader read (and record) a file elsewhere on the machine.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import zipfile
from pathlib import Path
from typing import BinaryIO

from registry.errors import SourceFileError

GZIP_MAGIC = b"\x1f\x8b"
XLSX_MAGIC = b"PK\x03\x04"
UTF8_BOM = b"\xef\xbb\xbf"
# The longest line a flat or CSV file may have (a NAACCR flat record is at most 24,194 characters): a
# longer one fails the file, so a file without line breaks is never held in memory whole.
MAX_LINE_BYTES = 1 << 20
# The most bytes one NAACCR XML Patient (with its Tumors), or the head before the first Patient, may take
# in the file: a real patient takes kilobytes; a larger one fails the file, so the parser's tree of one
# patient stays bounded.
MAX_RECORD_BYTES = 16 << 20


def open_regular(path: Path) -> io.BufferedReader:
    """Open a regular file for binary reading; refuse symbolic links, devices, FIFOs and sockets."""
    try:
        # O_NOFOLLOW refuses a symbolic link; O_NONBLOCK keeps a FIFO from blocking the open itself.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise SourceFileError(path, "is a symbolic link; links are not followed (give the file itself)") \
                from exc
        raise SourceFileError(path, f"cannot open file: {exc.strerror or exc}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else \
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else \
            "not a regular file"
        raise SourceFileError(path, f"is {kind}, not a regular file; only regular files are read")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def open_binary(path: Path) -> BinaryIO:
    """Open a file for binary reading, decompressing gzip on the fly (never the whole file in memory)."""
    fh = open_regular(path)
    head = fh.read(2)
    fh.seek(0)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def detect_format(path: Path) -> str:
    """"naaccr-xml", "naaccr-flat", "csv" or "excel", from the file's content (never from its name alone).

    Refused with a message rather than handed to a reader that would misname the problem: a ZIP archive that
    is not a workbook, and a file named ``.xml`` whose content is not XML."""
    with open_binary(path) as fh:
        try:
            head = fh.read(4096)
        except (OSError, EOFError) as exc:
            raise SourceFileError(path, f"cannot read file: {exc}") from exc
    if head.startswith(XLSX_MAGIC):
        _require_workbook(path)
        return "excel"
    text = head[len(UTF8_BOM):] if head.startswith(UTF8_BOM) else head
    # UTF-16 XML starts with a byte-order mark or "<\0"
    if text.lstrip().startswith(b"<") or text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "naaccr-xml"
    if path.name.lower().removesuffix(".gz").endswith(".xml"):
        raise SourceFileError(path, "is named .xml but is not XML (its content does not begin with '<'); "
                                    "check that the right file was sent")
    first_line = text.split(b"\n", 1)[0].rstrip(b"\r")
    if first_line[:1] in (b"A", b"M", b"C", b"I") and first_line[16:19] in (b"140", b"150", b"160", b"180") \
            and len(first_line) >= 3339:
        return "naaccr-flat"
    if first_line[:1] in (b"A", b"M", b"C", b"I") and first_line[16:19].strip().isdigit() and len(first_line) > 1000:
        return "naaccr-flat"
    return "csv"


def _require_workbook(path: Path) -> None:
    """Refuse a ZIP archive that is not an Excel workbook (no ``[Content_Types].xml`` and ``xl/`` part): the
    registry reads the files inside an archive only once they are unpacked."""
    try:
        with open_regular(path) as fh, zipfile.ZipFile(fh) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SourceFileError(path, f"is not a readable .xlsx workbook or ZIP archive ({exc})") from exc
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        raise SourceFileError(path, f"is a ZIP archive of {len(names):,} file(s), not a NAACCR file or an Excel "
                                    "workbook: unpack it and load the files inside")
