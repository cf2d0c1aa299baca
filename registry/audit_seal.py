"""The audit trail's secrets outside the SQLite file: the key that MACs every event, and the high-water mark.

Whoever can write `<name>.ops.sqlite` can rewrite the whole hash chain and drop the newest events, so two
files beside it, never inside it, make that visible without an anchor kept by hand:
- `<name>.ops.audit-key` (0600): 32 random bytes. Events are chained with HMAC-SHA-256 under this key, so a
  rewritten chain cannot be rehashed by someone who can write the database but cannot read the key.
- `<name>.ops.audit-head` (0600): the last sealed event (seq and MAC) and the first keyed sequence number,
  MAC'd with the key. It only moves forward, after each commit that appended events, and only when the
  event it names still has the MAC it recorded; a trail that ends before it was truncated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.errors import AuditSealError

log = logging.getLogger(__name__)

KEY_SUFFIX = ".audit-key"
HEAD_SUFFIX = ".audit-head"
KEY_BYTES = 32
HEAD_FORMAT = 1




@dataclass(frozen=True)
class Head:
    """The high-water mark: events from `keyed_from` on are keyed; event `seq` had MAC `hash` when sealed."""

    keyed_from: int
    seq: int
    hash: str


def key_path(store: Path) -> Path:
    """Where the audit key of the operational store `store` lives (beside it, never inside it)."""
    return store.with_suffix(KEY_SUFFIX)


def head_path(store: Path) -> Path:
    """Where the high-water mark of the operational store `store` lives."""
    return store.with_suffix(HEAD_SUFFIX)


def mac(key: bytes, payload: list[Any]) -> str:
    """HMAC-SHA-256 (hex) of a compact JSON array: one serialisation per value, no ambiguity."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def read_key(store: Path) -> bytes | None:
    """The audit key of `store`, or None when the key file does not exist."""
    path = key_path(store)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditSealError(f"{path}: cannot read the audit key: {exc}") from exc
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise AuditSealError(f"{path}: the audit key is not {KEY_BYTES * 2} hex digits")
    return key


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` to a new 0600 file and move it to `path` atomically (`replace` False: never overwrite)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)      # fails if the file exists: a key is never overwritten
    finally:
        temporary.unlink(missing_ok=True)


def new_key() -> bytes:
    """Fresh random key material from the OS's secure generator."""
    return secrets.token_bytes(KEY_BYTES)


def store_key(store: Path, key: bytes) -> None:
    """Write the key file (0600); refuses to overwrite an existing key."""
    _write_private(key_path(store), key.hex() + "\n", replace=False)


def _head_mac(key: bytes, keyed_from: int, seq: int, digest: str) -> str:
    return mac(key, ["audit-head", HEAD_FORMAT, keyed_from, seq, digest])


def read_head(store: Path, key: bytes) -> Head | None:
    """The high-water mark of `store`, None when its file does not exist; AuditSealError when forged."""
    path = head_path(store)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AuditSealError(f"{path}: cannot read the high-water mark: {exc}") from exc
    try:
        head = Head(int(data["keyed_from"]), int(data["seq"]), str(data["hash"]))
        valid = hmac.compare_digest(str(data["mac"]), _head_mac(key, head.keyed_from, head.seq, head.hash))
    except (KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        raise AuditSealError(f"{path}: the high-water mark does not carry a valid MAC (forged or edited)")
    return head


def write_head(store: Path, key: bytes, head: Head) -> None:
    """Replace the high-water mark atomically (readers see the old or the new one, never a mix)."""
    data = {"keyed_from": head.keyed_from, "seq": head.seq, "hash": head.hash,
            "mac": _head_mac(key, head.keyed_from, head.seq, head.hash)}
    _write_private(head_path(store), json.dumps(data) + "\n", replace=True)


def advance_head(con: sqlite3.Connection, store: Path) -> None:
    """Move the high-water mark to the trail's last event; call holding the write lock, after a commit.

    The mark only moves forward, and only when the event it names still has the MAC it recorded: a
    truncated or rewritten trail leaves it where it was, as evidence for `registry audit verify`.
    """
    key = read_key(store)
    if key is None:
        log.error("%s: the audit key is missing; the high-water mark is not advanced", key_path(store))
        return
    head = read_head(store, key)
    if head is None:
        log.error("%s: the high-water mark is missing; it is not recreated", head_path(store))
        return
    last = con.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None or last[0] <= head.seq:
        if last is None or last[0] < head.seq:
            log.error("%s: the audit trail ends before its high-water mark %d", store, head.seq)
        return
    if head.seq > 0:
        sealed = con.execute("SELECT hash FROM audit_event WHERE seq = ?", [head.seq]).fetchone()
        if sealed is None or sealed[0] != head.hash:
            log.error("%s: audit event %d no longer has the MAC its high-water mark recorded", store, head.seq)
            return
    write_head(store, key, Head(head.keyed_from, int(last[0]), str(last[1])))
