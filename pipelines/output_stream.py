"""What the NAACCR writers share: a target path or stream, optional reproducible gzip, context manager.

A writer names a path (created or overwritten; compressed when it ends in ``.gz`` unless told otherwise)
or an open binary stream (left open for the caller). gzip output carries no timestamp or file name, so
identical input gives identical bytes. On an exception inside ``with`` the (truncated) file is left
behind without the closing steps that would make it look complete.
"""

from __future__ import annotations

import gzip as gzip_module
import io
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self


class StreamingWriter:
    """Base of the streaming NAACCR writers: opens and releases the output; subclasses write records."""

    def __init__(self, target: Path | BinaryIO, *, gzip: bool | None) -> None:
        self._target = target
        if gzip is None:
            gzip = isinstance(target, (str, Path)) and str(target).endswith(".gz")
        self._gzip = gzip
        self._raw: BinaryIO | None = None
        self._out: BinaryIO | None = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:  # leave the (truncated) file behind without pretending it is complete
            self._release()

    def open(self) -> None:
        """Open the output (subclasses then write their header, if any)."""
        self._open_stream()

    def close(self) -> Any:
        """Finish the output and release it (subclasses flush first and return their counts)."""
        self._release()

    def _open_stream(self) -> BinaryIO:
        if self._out is not None:
            raise RuntimeError("writer is already open")
        if isinstance(self._target, (str, Path)):
            self._raw = open(self._target, "wb")  # noqa: SIM115 - closed in _release()
            out: BinaryIO = self._raw
        else:
            out = self._target
        if self._gzip:
            # mtime=0 and no file name make the output reproducible
            out = gzip_module.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=6,  # type: ignore[assignment]
                                       mtime=0)
        self._out = out
        return out

    def _release(self) -> None:
        out, self._out = self._out, None
        if out is None:
            return
        if self._gzip:
            out.close()  # finishes the gzip member; never closes a caller's stream
        elif isinstance(out, io.IOBase) and out is not self._raw:
            out.flush()
        if self._raw is not None:
            self._raw.close()
            self._raw = None
