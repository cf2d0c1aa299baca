"""The linkage review queue: pairs of source records the linkage could not decide, and reviewers' decisions.

A pair is queued when its patient match weight falls between the lower and upper thresholds, or when the
multiple-primary rules answer QUESTIONABLE for two tumor reports of one registry patient. A registry
specialist decides it (same / different person, same tumor / separate primary). A decision is kept for
ever under the records' natural keys (reporting facility + patient id number [+ tumor record number]), so
it is never asked again and holds across relinks and re-ingests; every decision is audited in the same
transaction. Pending pairs count as not linked.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from registry.access import require
from registry.audit import append_event
from registry.errors import InvalidRequest
from registry.operational import OperationalStore, timestamp
from registry.principal import Principal

Kind = Literal["patient", "tumor"]
KINDS: tuple[str, ...] = ("patient", "tumor")
DECISIONS = {"patient": ("same", "different"), "tumor": ("same", "different")}
DECISION_WORDS = {("patient", "same"): "same person", ("patient", "different"): "different persons",
                  ("tumor", "same"): "same tumor", ("tumor", "different"): "separate primaries"}


@dataclass(frozen=True)
class ReviewPair:
    """A pair the linkage puts to a reviewer; keys are natural keys (see the module doc)."""

    kind: str
    left_key: str
    right_key: str
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def ordered(self) -> ReviewPair:
        """The same pair with the smaller key on the left (how pairs are stored and matched)."""
        if self.left_key <= self.right_key:
            return self
        return ReviewPair(self.kind, self.right_key, self.left_key, self.score, self.evidence)


@dataclass(frozen=True)
class ReviewItem:
    """One row of the review queue, pending or decided."""

    review_id: int
    kind: str
    left_key: str
    right_key: str
    score: float | None
    evidence: dict[str, Any]
    status: str
    decision: str | None
    reason: str | None
    decided_by: str | None
    decided_at: str | None
    queued_at: str


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision as the linkage honours it."""

    kind: str
    left_key: str
    right_key: str
    decision: str


def _item(row: sqlite3.Row) -> ReviewItem:
    return ReviewItem(row["review_id"], row["kind"], row["left_key"], row["right_key"], row["score"],
                      json.loads(row["evidence"]), row["status"], row["decision"], row["reason"],
                      row["decided_by"], row["decided_at"], row["queued_at"])


def queue_pairs(ops: OperationalStore, pairs: Iterable[ReviewPair], *, replace_pending: bool = False) -> int:
    """Queue undecided pairs (a decided pair is never queued again); return how many are pending now.

    With `replace_pending` (a full relink) pending pairs that the linkage no longer finds uncertain leave
    the queue; an incremental link only adds.
    """
    rows = [pair.ordered() for pair in pairs]
    now = timestamp(ops.now())
    with ops.write() as con:
        if replace_pending:
            con.execute("DELETE FROM link_review WHERE status = 'pending'")
        con.executemany(
            "INSERT INTO link_review (kind, left_key, right_key, score, evidence, status, queued_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (kind, left_key, right_key) DO UPDATE SET "
            "score = excluded.score, evidence = excluded.evidence WHERE link_review.status = 'pending'",
            [(p.kind, p.left_key, p.right_key, p.score, json.dumps(p.evidence, sort_keys=True, default=str), now)
             for p in rows])
        return int(con.execute("SELECT count(*) FROM link_review WHERE status = 'pending'").fetchone()[0])


def decisions(ops: OperationalStore, kind: str | None = None) -> list[Decision]:
    """Every reviewer decision (of one kind), as the linkage honours them."""
    with ops.connect() as con:
        rows = con.execute("SELECT kind, left_key, right_key, decision FROM link_review "
                           "WHERE status = 'decided' AND (? IS NULL OR kind = ?) ORDER BY review_id",
                           [kind, kind]).fetchall()
    return [Decision(row["kind"], row["left_key"], row["right_key"], row["decision"]) for row in rows]


def pending_counts(ops: OperationalStore) -> dict[str, int]:
    """Pending pairs by kind (patient, tumor), zeros included."""
    with ops.connect() as con:
        rows = con.execute("SELECT kind, count(*) AS n FROM link_review WHERE status = 'pending' GROUP BY kind")
        found = {row["kind"]: int(row["n"]) for row in rows}
    return {kind: found.get(kind, 0) for kind in KINDS}


def pending_pairs(ops: OperationalStore) -> list[ReviewItem]:
    """Every pending pair, in queue order: the open questions the discrepancy worklist follows."""
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM link_review WHERE status = 'pending' ORDER BY review_id").fetchall()
    return [_item(row) for row in rows]


def review_queue(ops: OperationalStore, principal: Principal, *, kind: str | None = None,
                 status: str = "pending", limit: int = 50) -> list[ReviewItem]:
    """The queue for a reviewer: pending pairs, the most likely matches first (registrars only)."""
    require(principal, "link-review")
    if kind is not None and kind not in KINDS:
        raise InvalidRequest(f"unknown review kind {kind!r}; use one of {', '.join(KINDS)}")
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM link_review WHERE status = ? AND (? IS NULL OR kind = ?) "
                           "ORDER BY score IS NULL, score DESC, review_id LIMIT ?",
                           [status, kind, kind, limit]).fetchall()
    return [_item(row) for row in rows]


def review_item(ops: OperationalStore, principal: Principal, review_id: int) -> ReviewItem:
    """One pair of the queue (registrars only)."""
    require(principal, "link-review")
    with ops.connect() as con:
        row = con.execute("SELECT * FROM link_review WHERE review_id = ?", [review_id]).fetchone()
    if row is None:
        raise InvalidRequest(f"there is no review {review_id}")
    return _item(row)


def decide(ops: OperationalStore, principal: Principal, review_id: int, decision: str, reason: str = "") -> ReviewItem:
    """Decide a queued pair (`same` or `different`); audited with the pair and the reason."""
    require(principal, "link-review")
    with ops.write() as con:
        row = con.execute("SELECT * FROM link_review WHERE review_id = ?", [review_id]).fetchone()
        if row is None:
            raise InvalidRequest(f"there is no review {review_id}")
        if decision not in DECISIONS[row["kind"]]:
            raise InvalidRequest(f"a {row['kind']} review is decided 'same' or 'different', not {decision!r}")
        moment = ops.now()
        con.execute("UPDATE link_review SET status = 'decided', decision = ?, reason = ?, decided_by = ?, "
                    "decided_at = ? WHERE review_id = ?",
                    [decision, reason.strip() or None, principal.user, timestamp(moment), review_id])
        append_event(con, moment, principal.user, principal.role, "link-review-decided",
                     {"review_id": review_id, "kind": row["kind"], "left": row["left_key"],
                      "right": row["right_key"], "decision": DECISION_WORDS[(row["kind"], decision)],
                      "reason": reason.strip()})
        decided = con.execute("SELECT * FROM link_review WHERE review_id = ?", [review_id]).fetchone()
    return _item(decided)


def reviews_naming(ops: OperationalStore, principal: Principal, keys: Iterable[str]) -> list[ReviewItem]:
    """Every review, pending or decided, of a pair with a record among the natural keys `keys`, newest first
    (registrars only: a patient's record shows the reviewers' decisions about it)."""
    require(principal, "record-view")
    wanted = sorted(set(keys))
    if not wanted:
        return []
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM link_review WHERE left_key IN (SELECT value FROM json_each(?1)) "
                           "OR right_key IN (SELECT value FROM json_each(?1)) ORDER BY review_id DESC",
                           [json.dumps(wanted)]).fetchall()
    return [_item(row) for row in rows]


def reviews_by_id(ops: OperationalStore, review_ids: list[int]) -> dict[int, ReviewItem]:
    """Review pairs by id (those that exist), whoever decided them: what a link-review view showed (the
    breach report)."""
    with ops.connect() as con:
        rows = con.execute("SELECT * FROM link_review WHERE review_id IN (SELECT value FROM json_each(?))",
                           [json.dumps(review_ids)]).fetchall()
    return {int(row["review_id"]): _item(row) for row in rows}
def decisions_by_month(ops: OperationalStore) -> list[tuple[str, str, int]]:
    """(reviewer, month YYYY-MM in UTC, pairs decided) for every reviewer and month with a decision (the
    registrar workload of `registry.program_statistics`, which releases it)."""
    with ops.connect() as con:
        rows = con.execute("SELECT decided_by, substr(decided_at, 1, 7) AS month, count(*) AS n FROM link_review "
                           "WHERE status = 'decided' AND decided_at IS NOT NULL "
                           "GROUP BY decided_by, month ORDER BY month, decided_by").fetchall()
    return [(str(row["decided_by"] or "unknown"), str(row["month"]), int(row["n"])) for row in rows]
