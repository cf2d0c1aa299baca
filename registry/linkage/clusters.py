"""Registry patients from scored edges: which source patient records are one person, which need review.

``partition`` is pure and deterministic: the same ids, edges and decisions give the same result in any
input order. Reviewers' decisions hold for ever: a must-link pair is joined first; a cannot-link pair never
ends in one cluster, even through a chain, because edges are applied strongest first by a union-find that
refuses any union that would put both ends of a cannot-link pair in one group (ties in weight are broken by
the ids, so the order of the input does not matter). Edges at or above ``upper`` link; undecided edges in
[``lower``, ``upper``) whose ends are still apart go to review, as do strong edges refused because of a
cannot-link decision. A record with nothing identifying (``no_identity``) never links automatically.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

REVIEW_COLUMNS = ("left_id", "right_id", "weight", "reason")


@dataclass(frozen=True)
class Link:
    """How a record joined its cluster: the accepted edge to ``other_id``, one step nearer the
    representative (method 'deterministic', 'probabilistic' or 'reviewer'; weight +inf for the latter
    two kinds of certainty)."""

    other_id: int
    method: str
    weight: float


@dataclass(frozen=True)
class Partition:
    """``cluster_of``: id -> its cluster's representative (the smallest id); ``linked_by``: for every
    record that is not its cluster's representative, the edge that linked it; ``review``: pairs for a
    reviewer (left_id, right_id, weight, reason 'band', 'conflict' or 'no_identity')."""

    cluster_of: dict[int, int]
    linked_by: dict[int, Link] = field(default_factory=dict)
    review: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(REVIEW_COLUMNS)))

    def clusters(self) -> dict[int, list[int]]:
        """representative -> its ids, sorted."""
        groups: dict[int, list[int]] = {}
        for record, head in sorted(self.cluster_of.items()):
            groups.setdefault(head, []).append(record)
        return groups


class _Groups:
    """Union-find over positions 0..n-1 that refuses unions joining the two sides of a cannot-link pair."""

    def __init__(self, n: int, apart: Iterable[tuple[int, int]]) -> None:
        self.parent = list(range(n))
        self.size = [1] * n
        self.apart: dict[int, set[int]] = {}
        for a, b in apart:
            self.apart.setdefault(a, set()).add(b)
            self.apart.setdefault(b, set()).add(a)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> bool | None:
        """True when joined, None when already together, False when a cannot-link pair forbids it."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        if any(self.find(x) == rb for x in self.apart.get(ra, ())) or \
                any(self.find(x) == ra for x in self.apart.get(rb, ())):
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        if rb in self.apart:
            self.apart.setdefault(ra, set()).update(self.apart.pop(rb))
        return True


def _pairs(pairs: Iterable[tuple[int, int]], index: dict[int, int]) -> list[tuple[int, int]]:
    """Decided pairs as sorted (small, large) ids, known ids only, without self-pairs, sorted."""
    return sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b and a in index and b in index})


def _edges(edges: pd.DataFrame, records: np.ndarray) -> pd.DataFrame:
    """Edges between known ids as (left < right), one row per pair (its strongest), strongest first,
    ties by ids then method: an order that does not depend on the input's."""
    left = edges["left_id"].to_numpy(np.int64)
    right = edges["right_id"].to_numpy(np.int64)
    frame = pd.DataFrame({"left_id": np.minimum(left, right), "right_id": np.maximum(left, right),
                          "weight": edges["match_weight"].to_numpy(float),
                          "method": edges["method"].astype(str).to_numpy()})
    known = np.isin(frame["left_id"].to_numpy(), records) & np.isin(frame["right_id"].to_numpy(), records)
    frame = frame[known & (frame["left_id"] != frame["right_id"]) & frame["weight"].notna()]
    frame = frame.sort_values(["weight", "left_id", "right_id", "method"], ascending=[False, True, True, True])
    return frame.drop_duplicates(["left_id", "right_id"], keep="first").reset_index(drop=True)


def partition(ids: Sequence[int], edges: pd.DataFrame, *, upper: float, lower: float,
              same: Sequence[tuple[int, int]] = (), different: Sequence[tuple[int, int]] = (),
              no_identity: set[int] | frozenset[int] = frozenset()) -> Partition:
    """Clusters of ``ids`` from ``edges`` (left_id, right_id, match_weight, method) and reviewers' decisions.

    ``same`` / ``different``: must-link / cannot-link pairs. Edges of weight >= ``upper`` link (strongest
    first), undecided edges in [``lower``, ``upper``) whose ends end apart are returned for review; edges
    touching a record of ``no_identity`` never link and are reviewed when their weight is >= ``lower``.
    """
    if lower > upper:
        raise ValueError(f"lower threshold {lower} is above upper threshold {upper}")
    records = sorted(set(int(i) for i in ids))
    index = {record: position for position, record in enumerate(records)}
    must, cannot = _pairs(same, index), _pairs(different, index)
    decided = set(must) | set(cannot)
    groups = _Groups(len(records), ((index[a], index[b]) for a, b in cannot))
    accepted: list[tuple[int, int, str, float]] = []
    review: list[tuple[int, int, float, str]] = []

    for a, b in must:
        if groups.union(index[a], index[b]):
            accepted.append((a, b, "reviewer", math.inf))

    frame = _edges(edges, np.asarray(records, dtype=np.int64))
    anonymous = frame["left_id"].isin(no_identity) | frame["right_id"].isin(no_identity)
    lefts, rights = frame["left_id"].to_numpy(), frame["right_id"].to_numpy()
    weights, methods = frame["weight"].to_numpy(), frame["method"].to_numpy()
    strong = (weights >= upper) & ~anonymous.to_numpy()
    for a, b, w, method in zip(lefts[strong], rights[strong], weights[strong], methods[strong], strict=True):
        pair = (int(a), int(b))
        if pair in decided:
            continue
        joined = groups.union(index[pair[0]], index[pair[1]])
        if joined:
            accepted.append((pair[0], pair[1], str(method), float(w)))
        elif joined is False:
            review.append((pair[0], pair[1], float(w), "conflict"))

    band = (weights >= lower) & ~strong
    for a, b, w, is_anonymous in zip(lefts[band], rights[band], weights[band], anonymous.to_numpy()[band],
                                     strict=True):
        pair = (int(a), int(b))
        if pair not in decided and groups.find(index[pair[0]]) != groups.find(index[pair[1]]):
            review.append((pair[0], pair[1], float(w), "no_identity" if is_anonymous else "band"))

    roots = np.fromiter((groups.find(i) for i in range(len(records))), np.int64, len(records))
    smallest = pd.Series(np.asarray(records, dtype=np.int64)).groupby(roots).transform("min").to_numpy()
    cluster_of = dict(zip(records, smallest.tolist(), strict=True))
    review_frame = pd.DataFrame(review, columns=list(REVIEW_COLUMNS))
    review_frame = review_frame.sort_values(["weight", "left_id", "right_id"], ascending=[False, True, True],
                                            ignore_index=True)
    return Partition(cluster_of=cluster_of, linked_by=_links(accepted, cluster_of), review=review_frame)


def _links(accepted: list[tuple[int, int, str, float]], cluster_of: dict[int, int]) -> dict[int, Link]:
    """The accepted edges (a spanning forest) oriented towards each cluster's representative."""
    neighbours: dict[int, list[tuple[int, str, float]]] = {}
    for a, b, method, weight in accepted:
        neighbours.setdefault(a, []).append((b, method, weight))
        neighbours.setdefault(b, []).append((a, method, weight))
    linked: dict[int, Link] = {}
    for head in sorted({cluster_of[a] for a in neighbours}):
        stack = [head]
        seen = {head}
        while stack:
            node = stack.pop()
            for other, method, weight in sorted(neighbours.get(node, ())):
                if other not in seen:
                    seen.add(other)
                    linked[other] = Link(other_id=node, method=method, weight=weight)
                    stack.append(other)
    return linked
