"""Readers for NAACCR XML, NAACCR flat files, CSV and Excel; each yields the record stream of records.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipelines.readers.source import detect_format
from pipelines.records import RecordReader
from registry.naaccr import Dictionary


def open_reader(path: Path, *, user_dictionaries: Sequence[Dictionary] = (),
                naaccr_version: str | None = None) -> RecordReader:
    """The reader for a file, chosen by its content (gzip is unwrapped transparently).

    ``user_dictionaries`` are registry user dictionaries: those a NAACCR XML file declares are applied to it,
    and a flat file (which cannot declare any) is read with those of its version;
    ``naaccr_version`` is the version to assume for CSV/Excel files that carry no naaccrRecordVersion.
    """
    fmt = detect_format(path)
    if fmt == "naaccr-xml":
        from pipelines.readers.xml import NaaccrXmlReader
        return NaaccrXmlReader(path, user_dictionaries=user_dictionaries)
    if fmt == "naaccr-flat":
        from pipelines.readers.flat import NaaccrFlatReader
        return NaaccrFlatReader(path, user_dictionaries=user_dictionaries)
    from pipelines.readers.tabular import TabularReader
    return TabularReader(path, naaccr_version=naaccr_version)
